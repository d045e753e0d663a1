"""Settings: where the data and the registry live, which model, which windows and specs.

Precedence, highest first: explicit arguments (CLI flags, flow parameters), the
environment (``CC_HOME``, ``CC_BACKEND``, ``CC_MODEL_NAME``), the TOML file
``<home>/config.toml`` (or ``CC_CONFIG``), then the quickstart's defaults.

A config file with its own ``[data]`` table must name its model: the quickstart's
name on another table would mislabel every run, artifact and report, and a name
derived from the home's path would change when the home moves, orphaning the
registry's versions and, on Snowflake, the registered model.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.backends import DEFAULT_BACKEND, check_backend
from flows.data.contract import CONTRACT_KEYS, DEFAULT_CONTRACT, DataContract
from flows.data.periods import (
    UNDATED_PERIODS,
    WINDOW_KEYS,
    WindowSpec,
    complete_through_text,
)
from flows.data.specs import CHALLENGER_SPEC, CHAMPION_SPEC, ModelSpec
from flows.errors import ConfigError
from flows.identifiers import validate_identifier
from flows.live.settings import LIVE_KEYS, LiveSettings
from flows.names import DEFAULT_MODEL_NAME

if TYPE_CHECKING:
    from collections.abc import Collection

DEFAULT_HOME = Path("~/.champion-challenger")
WAREHOUSE_COMPUTE = "warehouse"
"""``[snowflake] compute``: train, evaluate and score inside Snowflake (the default)."""
WORKER_COMPUTE = "worker"
"""``[snowflake] compute``: read the windows into the orchestrator's process and work there."""
COMPUTE_MODES = (WAREHOUSE_COMPUTE, WORKER_COMPUTE)


_BLOCK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
"""Prefect's rule for block names: lowercase letters, digits and dashes."""


@dataclass(frozen=True)
class SnowflakeSettings:
    """Where the Snowflake backend finds its session, tables and registry.

    Credentials are never stored here: the connection comes from a named entry of
    ``connections.toml`` (the Snowflake convention), from a Prefect credentials block
    named here, or from the parameters given to
    ``flows.backends.snowflake.session.open_session``.
    """

    connection_name: str | None = None
    """Entry of connections.toml to use; None means Snowflake's default connection."""
    credentials_block: str | None = None
    """A prefect-snowflake ``SnowflakeCredentials`` block on the Prefect server, instead of
    connections.toml (``flows.backends.snowflake.credentials_block``)."""
    database: str = "DEV_AUTOMATION_DEMO"
    """Database holding the tables and the model (the quickstart's)."""
    schema: str = "CHAMPION_CHALLENGER"
    """Schema holding the tables and the model (the quickstart's)."""
    warehouse: str | None = None
    """Warehouse for queries and inference; None keeps the connection's."""
    applications_table: str = "CREDIT_APPLICATIONS"
    """The table of labelled rows (the quickstart's credit applications by default)."""
    evaluation_table: str = "EVALUATION_DATA"
    """The quickstart's hold-out table, written for parity."""
    ledger_table: str = "PROMOTION_LEDGER"
    """Table of recorded decisions."""
    lock_table: str = "PROMOTION_LOCK"
    """Table holding the advisory promotion lock."""
    compute: str = WAREHOUSE_COMPUTE
    """Where the cycle's heavy stages run: ``warehouse`` (the stage procedure, inside
    Snowflake: the data never leaves it) or ``worker`` (the orchestrator's process, which
    reads the windows; for accounts that cannot create procedures)."""
    training_warehouse: str | None = None
    """Warehouse the stage procedure trains on (a Snowpark-optimised one for large
    windows); None trains on the procedure's own warehouse."""
    statement_timeout_seconds: int = 540
    """``STATEMENT_TIMEOUT_IN_SECONDS`` of the session: Snowflake ends a longer statement.

    Below the shortest task timeout (600 s, the flows' I/O tasks), because a Python
    timeout cannot interrupt a blocking socket call. Raise it with the task timeouts."""
    network_timeout_seconds: int = 570
    """The connector's ``network_timeout``: the longest wait for any reply, retries included.

    Between the statement timeout (so Snowflake's own error comes first) and the task's."""

    def __post_init__(self) -> None:
        if self.compute not in COMPUTE_MODES:
            raise ConfigError(
                f"[snowflake] compute must be one of {', '.join(COMPUTE_MODES)}; "
                f"got {self.compute!r}."
            )
        for name in (
            "database",
            "schema",
            "applications_table",
            "evaluation_table",
            "ledger_table",
            "lock_table",
        ):
            object.__setattr__(self, name, validate_identifier(getattr(self, name), what=name))
        for name in ("warehouse", "training_warehouse"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, validate_identifier(getattr(self, name), what=name))
        self._validate_timeouts()

    def _validate_timeouts(self) -> None:
        statement, network = self.statement_timeout_seconds, self.network_timeout_seconds
        for name, value in (("statement", statement), ("network", network)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"[snowflake] {name}_timeout_seconds must be a whole number of seconds "
                    f">= 1; got {value!r}."
                )
        if network <= statement:
            raise ConfigError(
                f"[snowflake] network_timeout_seconds ({network}) must exceed "
                f"statement_timeout_seconds ({statement}), so that Snowflake ends a long "
                "statement before the connector gives up on it."
            )
        if self.credentials_block is not None:
            if self.connection_name is not None:
                raise ConfigError(
                    "[snowflake] names both connection_name and credentials_block; keep one: "
                    "the connections.toml entry or the Prefect block."
                )
            if not _BLOCK_NAME.match(str(self.credentials_block)):
                raise ConfigError(
                    f"credentials_block {self.credentials_block!r} is not a Prefect block name: "
                    "lowercase letters, digits and dashes, e.g. 'snowflake-prod'."
                )


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know besides its policy."""

    home: Path = field(default_factory=lambda: DEFAULT_HOME.expanduser())
    """Home directory of the embedded backend (data, registry, artifacts)."""
    backend: str = DEFAULT_BACKEND
    """A name of ``flows.backends.OPENERS``: the embedded backend (the default) or Snowflake."""
    model_name: str = DEFAULT_MODEL_NAME
    """Registered model name."""
    windows: WindowSpec = field(default_factory=WindowSpec)
    """Window sizes in periods of ``contract.period``."""
    contract: DataContract = DEFAULT_CONTRACT
    """The shape of the table (``[data]``); the quickstart's by default."""
    champion_spec: ModelSpec = CHAMPION_SPEC
    """Spec of the bootstrap champion."""
    challenger_spec: ModelSpec = CHALLENGER_SPEC
    """Spec of each weekly challenger."""
    snowflake: SnowflakeSettings = field(default_factory=SnowflakeSettings)
    """Snowflake locations, used when ``backend == 'snowflake'``."""
    live: LiveSettings = field(default_factory=LiveSettings)
    """The live test of a candidate (``[live]``); off by default."""
    complete_through: str | None = None
    """``[data] complete_through``: the stored data is complete through this date (its
    end) or instant; cycles leave out the periods ending after it. None: the newest
    period is judged complete unless its rows stop early (``flows.cycle.completeness``)."""

    def __post_init__(self) -> None:
        check_backend(self.backend)
        if self.live.on and self.contract.id_column is None:
            raise ConfigError(
                f"[live] mode = {self.live.mode!r} needs [data] id_column: live traffic is "
                "assigned to an arm, and outcomes are joined to scores, by id."
            )
        if self.complete_through is not None:
            complete_through_text(self.complete_through)
            if self.contract.period_column is not None:
                raise ConfigError(UNDATED_PERIODS)
        object.__setattr__(
            self, "model_name", validate_identifier(self.model_name, what="model name")
        )
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the non-None ``changes`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, for a run in another process (a task graph's CONFIG).

        Credentials are never part of it: the Snowflake connection is only named.
        """
        declared = (
            {} if self.complete_through is None else {"complete_through": self.complete_through}
        )
        return {
            "home": str(self.home),
            "backend": self.backend,
            "model_name": self.model_name,
            "windows": asdict(self.windows),
            "contract": self.contract.to_dict(),
            "champion_spec": self.champion_spec.to_dict(),
            "challenger_spec": self.challenger_spec.to_dict(),
            "snowflake": asdict(self.snowflake),
            "live": self.live.to_dict(),
            # Only when set: a graph emitted without it stays byte for byte as it was.
            **declared,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **overrides: Any) -> Settings:
        """Inverse of :meth:`to_dict`; ``overrides`` replace values in that form (a home).

        Raises:
            ConfigError: if a value is missing or invalid (settings of another release).
        """
        data = {**data, **overrides}
        try:
            values: dict[str, Any] = {
                "home": data["home"],
                "backend": data["backend"],
                "model_name": data["model_name"],
                "windows": WindowSpec.from_mapping(data["windows"]),
                "contract": DataContract.from_dict(data["contract"]),
                "champion_spec": ModelSpec.from_mapping(data["champion_spec"]),
                "challenger_spec": ModelSpec.from_mapping(data["challenger_spec"]),
                "snowflake": SnowflakeSettings(**data["snowflake"]),
                "live": LiveSettings(**data["live"]),
                "complete_through": data.get("complete_through"),
            }
        except (KeyError, TypeError) as exc:
            raise ConfigError(
                f"Serialised settings lack or mistype {exc}; they were written by another "
                f"release (keys seen: {sorted(data)})."
            ) from exc
        return cls(**values)


def load_settings(
    *,
    home: str | Path | None = None,
    backend: str | None = None,
    model_name: str | None = None,
    config: str | Path | None = None,
    windows: WindowSpec | None = None,
) -> Settings:
    """Resolve settings from arguments, environment, config file and defaults.

    The one resolver: the CLI, the flows (from their parameters), and the flows' end
    hooks (from a run's parameters) all call it with the same names, so a run that
    was given ``config`` resolves the same settings wherever it is resolved again.
    """
    home_path = Path(home or os.environ.get("CC_HOME") or DEFAULT_HOME).expanduser()
    config_path = Path(config or os.environ.get("CC_CONFIG") or home_path / "config.toml")
    values = _read_config(config_path) if config_path.is_file() else {}
    if config and not config_path.is_file():
        raise ConfigError(f"Config file {str(config_path)!r} does not exist.")
    model_name = model_name or os.environ.get("CC_MODEL_NAME")
    if "contract" in values and "model_name" not in values and not model_name:
        raise ConfigError(
            f"Config file {str(config_path)!r} has its own [data] table but no model_name: "
            'add a line model_name = "YOUR_MODEL" above [data], the name your model is '
            f"registered under ({DEFAULT_MODEL_NAME} is the quickstart's); see docs/data.md."
        )
    settings = Settings(home=home_path, **values)
    return settings.with_overrides(
        backend=backend or os.environ.get("CC_BACKEND"), model_name=model_name, windows=windows
    )


def _read_config(path: Path) -> dict[str, Any]:
    """Parse ``config.toml`` into Settings keyword arguments, refusing unknown keys."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read config file {str(path)!r}: {exc}.") from exc
    tables: dict[str, Collection[str]] = {
        "windows": WINDOW_KEYS,
        "data": [*CONTRACT_KEYS, "complete_through"],
        "champion": [f.name for f in fields(ModelSpec)],
        "challenger": [f.name for f in fields(ModelSpec)],
        "snowflake": [f.name for f in fields(SnowflakeSettings)],
        "live": LIVE_KEYS,
    }
    _refuse_unknown_keys(path, raw, {"backend", "model_name", *tables}, where="")
    for name, allowed in tables.items():
        if name in raw:
            if not isinstance(raw[name], dict):
                raise ConfigError(f"Config file {str(path)!r}: [{name}] must be a table.")
            _refuse_unknown_keys(path, raw[name], set(allowed), where=f" in [{name}]")
    values: dict[str, Any] = {k: raw[k] for k in ("backend", "model_name") if k in raw}
    try:
        if "windows" in raw:
            values["windows"] = WindowSpec.from_mapping(raw["windows"])
        if "data" in raw:
            data = dict(raw["data"])
            if "complete_through" in data:
                values["complete_through"] = complete_through_text(data.pop("complete_through"))
            if data:  # complete_through alone keeps the quickstart's contract
                values["contract"] = DataContract.from_mapping(data)
        if "snowflake" in raw:
            values["snowflake"] = SnowflakeSettings(**raw["snowflake"])
        if "live" in raw:
            values["live"] = LiveSettings(**raw["live"])
    except TypeError as exc:
        raise ConfigError(f"Config file {str(path)!r}: {exc}.") from exc
    for role in ("champion", "challenger"):
        if role in raw:
            values[f"{role}_spec"] = ModelSpec.from_mapping(raw[role], input_name=f"[{role}]")
    return values


def _refuse_unknown_keys(
    path: Path, table: dict[str, Any], allowed: set[str], *, where: str
) -> None:
    """One message for a mistyped key at the top level or inside a table: the key and what is allowed."""
    unknown = set(table) - allowed
    if unknown:
        raise ConfigError(
            f"Config file {str(path)!r} has unknown key(s) {sorted(unknown)}{where}; "
            f"allowed: {', '.join(sorted(allowed))}."
        )
