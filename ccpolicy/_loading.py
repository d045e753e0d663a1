"""Finding and loading policies by name through the ``ccpolicy.policies`` entry points.

Built-in and plugin policies take the same path. ``load_policy`` imports only the
entry point it is asked for, so a broken third-party package cannot break a run
that does not use it; ``available_policies`` imports all of them and reports each
failure as a row instead of raising.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ccpolicy._base import Policy, policy_class_problems
from ccpolicy._decision import Decision, json_safe
from ccpolicy._evidence import Evidence
from ccpolicy._origin import (
    describe_entry_point,
    exception_text,
    policy_entry_points,
    provenance,
)
from ccpolicy._params import Parameter
from ccpolicy.errors import (
    PolicyError,
    PolicyLoadError,
    PolicyValidationError,
    UnknownPolicyError,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyInfo:
    """One installed policy entry point, whether or not it loads."""

    name: str
    """The entry-point name, which selects the policy."""
    distribution: str | None
    """Name of the distribution that registers it (None if unknown)."""
    version: str | None
    """Version of that distribution."""
    module: str
    """The entry point's target, ``"package.module:Class"``."""
    status: Literal["ok", "error"]
    """``"ok"`` if it loads and satisfies the Policy contract, else ``"error"``."""
    error: str | None
    """Why it failed to load (None when status is ``"ok"``)."""
    description: str | None
    """The policy's one-sentence description (None when it failed to load)."""
    parameters: Mapping[str, Parameter]
    """Every parameter the policy accepts, guardrails included (empty when it failed)."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict; each parameter as its constraint text, default and description."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "status": self.status,
            "error": self.error,
            "description": self.description,
            "parameters": {
                name: {
                    "constraint": str(p.constraint),
                    "default": json_safe(p.default),
                    "description": p.description,
                }
                for name, p in self.parameters.items()
            },
        }


def load_policy(name: str, **params: Any) -> Policy:
    """Load the policy registered as ``name`` and build it with ``params``.

    Only that entry point is imported. Call this before any training so an unknown
    name or a bad parameter fails fast.

    Args:
        name: The entry-point name, e.g. ``"significance_margin"``.
        **params: The policy's keyword parameters.

    Returns:
        The configured policy; call it on an Evidence to get a Decision.

    Raises:
        UnknownPolicyError: No installed distribution registers ``name``; the message
            lists what is installed.
        PolicyLoadError: The entry point failed to import or the name is registered twice.
        PolicyValidationError: The loaded object does not satisfy the Policy contract
            (not a Policy subclass, wrong ``decide``, unsupported ``api_version``).
        PolicyParameterError: A parameter is unknown or out of range.

    Example:
        >>> load_policy("significance_margin", margin=0.01)
        SignificanceMargin(margin=0.01, alpha=0.05, cooldown_weeks=0, max_metric_drop={})
    """
    matches = [ep for ep in policy_entry_points() if ep.name == name]
    if not matches:
        raise UnknownPolicyError(_unknown_name_message(name))
    if len(matches) > 1:
        raise PolicyLoadError(_duplicate_message(name, matches))
    return _load_class(matches[0])(**params)


def decide(name: str, evidence: Evidence, **params: Any) -> Decision:
    """Load policy ``name`` with ``params`` and decide on ``evidence`` in one call.

    Raises:
        The errors of :func:`load_policy` and of ``Policy.__call__``.
    """
    return load_policy(name, **params)(evidence)


def available_policies() -> list[PolicyInfo]:
    """Describe every installed policy entry point, loading each; failures become rows.

    Returns:
        One PolicyInfo per entry point, sorted by name; a policy that fails to import,
        is registered twice or breaks the contract has status ``"error"`` and the reason.
    """
    entry_points = policy_entry_points()
    counts = Counter(ep.name for ep in entry_points)
    infos = []
    for ep in entry_points:
        dist = ep.dist
        row = {
            "name": ep.name,
            "distribution": dist.name if dist else None,
            "version": dist.version if dist else None,
            "module": ep.value,
        }
        try:
            if counts[ep.name] > 1:
                raise PolicyLoadError(_duplicate_message(ep.name, entry_points))
            cls = _load_class(ep)
        except PolicyError as exc:
            logger.warning("%s", exc)
            infos.append(
                PolicyInfo(**row, status="error", error=str(exc), description=None, parameters={})
            )
        else:
            infos.append(
                PolicyInfo(
                    **row,
                    status="ok",
                    error=None,
                    description=cls.description,
                    parameters=cls.all_parameters(),
                )
            )
    return infos


def _load_class(ep: importlib.metadata.EntryPoint) -> type[Policy]:
    """Import one entry point and check the loaded object against the Policy contract."""
    try:
        loaded = ep.load()
    except (Exception, SystemExit) as exc:  # a plugin calling sys.exit() is broken, not fatal
        raise PolicyLoadError(
            f"error loading {describe_entry_point(ep)}: {exception_text(exc)}"
        ) from exc
    problems = policy_class_problems(loaded, registered_name=ep.name)
    if problems:
        raise PolicyValidationError(
            loaded,
            f"{describe_entry_point(ep)} is not a valid policy: {'; '.join(problems)}.",
        )
    return loaded


def _unknown_name_message(name: str) -> str:
    """The UnknownPolicyError text: what is installed, and the closest name if any."""
    entry_points = policy_entry_points()
    installed = ", ".join(f"{ep.name} ({provenance(ep)})" for ep in entry_points)
    message = f"no policy named {name!r}; installed: {installed or 'none'}"
    close = difflib.get_close_matches(name, [ep.name for ep in entry_points], n=1)
    return f"{message}; did you mean {close[0]!r}?" if close else message


def _duplicate_message(name: str, entry_points: list[importlib.metadata.EntryPoint]) -> str:
    """The PolicyLoadError text for a name registered by more than one distribution."""
    sources = ", ".join(f"{provenance(ep)} ({ep.value})" for ep in entry_points if ep.name == name)
    return (
        f"policy name {name!r} is registered more than once: {sources}; "
        "uninstall all but one of these distributions"
    )
