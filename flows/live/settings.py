"""``[live]`` in config.toml: whether and how a candidate is tested on live traffic."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.errors import ConfigError

OFF = "off"
"""No live test: a challenger that passes the offline policy is promoted, as always."""
SHADOW = "shadow"
"""The candidate scores every row beside the champion; the champion decides every row."""
SPLIT = "split"
"""A share of the ids is decided by the candidate, the rest by the champion."""
LIVE_MODES = (OFF, SHADOW, SPLIT)
DEFAULT_LIVE_POLICY = "sequential_margin"


@dataclass(frozen=True)
class LiveSettings:
    """How a candidate is tested live, and by which policy it is judged."""

    mode: str = OFF
    """``off``, ``shadow`` or ``split``."""
    share: float = 0.1
    """The candidate's share of the ids in ``split`` mode, strictly between 0 and 1."""
    maturity: int = 4
    """Periods after its scoring at which a row's outcome counts as final."""
    policy: str = DEFAULT_LIVE_POLICY
    """The policy (a ``ccpolicy.policies`` entry point) that judges the live evidence."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """That policy's parameters."""

    def __post_init__(self) -> None:
        if self.mode not in LIVE_MODES:
            raise ConfigError(
                f"[live] mode must be one of {', '.join(LIVE_MODES)}; got {self.mode!r}."
            )
        share = self.share
        if (
            isinstance(share, bool)
            or not isinstance(share, numbers.Real)
            or not math.isfinite(share)
            or not 0 < share < 1
        ):
            raise ConfigError(
                f"[live] share must be a number strictly between 0 and 1; got {share!r}."
            )
        maturity = self.maturity
        if isinstance(maturity, bool) or not isinstance(maturity, int) or maturity < 0:
            raise ConfigError(
                f"[live] maturity must be a whole number of periods >= 0; got {maturity!r}."
            )
        if not isinstance(self.policy, str) or not self.policy:
            raise ConfigError(f"[live] policy must be a policy name; got {self.policy!r}.")
        if not isinstance(self.params, Mapping):
            raise ConfigError(f"[live] params must be a table; got {self.params!r}.")
        object.__setattr__(self, "share", float(share))
        object.__setattr__(self, "params", dict(self.params))

    @property
    def on(self) -> bool:
        """Whether a challenger becomes a live candidate rather than being promoted."""
        return self.mode != OFF

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for a task graph's CONFIG)."""
        return {
            "mode": self.mode,
            "share": self.share,
            "maturity": self.maturity,
            "policy": self.policy,
            "params": dict(self.params),
        }


LIVE_KEYS = tuple(LiveSettings().to_dict())
"""The keys ``[live]`` accepts."""
