"""The parameters a task graph run carries: the root task's CONFIG.

Built from the Prefect deployment's parameters when the graph is emitted, read
back by the procedure inside Snowflake (``SYSTEM$GET_TASK_GRAPH_CONFIG``), and
turned into the same :class:`~flows.config.Settings` and policy the Prefect flow
uses, so both orchestrators run one definition.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flows.config import Settings, SnowflakeSettings
from flows.data.contract import DEFAULT_CONTRACT, DataContract
from flows.data.periods import WindowSpec
from flows.data.specs import CHALLENGER_SPEC, ModelSpec
from flows.errors import ConfigError
from flows.identifiers import validate_identifier
from flows.names import DEFAULT_MODEL_NAME

if TYPE_CHECKING:
    import ccpolicy

CARRIED_PARAMETERS: Final = ("policy", "policy_params", "model_name", "windows", "dry_run")
"""Parameters of the ``champion-challenger`` flow that a graph run carries in its CONFIG."""
PLACEMENT_PARAMETERS: Final = ("backend", "home")
"""Flow parameters that say where a Prefect run executes; a Snowflake graph always runs
on the Snowflake backend, so they are not carried."""

ConfigValue = str | int | float | bool


@dataclass(frozen=True)
class GraphConfig:
    """The parameters of one graph run, as the root task's CONFIG holds them."""

    policy: str
    """Name of the promotion policy (an entry point of ``ccpolicy.policies``)."""
    policy_params: Mapping[str, Any] = field(default_factory=dict)
    """Keyword parameters of the policy."""
    model_name: str = DEFAULT_MODEL_NAME
    """Registered model."""
    windows: WindowSpec = field(default_factory=WindowSpec)
    """Window sizes in periods of the contract's unit."""
    dry_run: bool = False
    """Evaluate and decide without acting (the decision is still recorded)."""
    challenger_spec: ModelSpec = CHALLENGER_SPEC
    """The model each weekly challenger is trained with (from the settings, as in the flow)."""
    contract: DataContract = DEFAULT_CONTRACT
    """The table's shape (``[data]``), so the procedures train and score the same table."""
    snowflake: SnowflakeSettings = field(default_factory=SnowflakeSettings)
    """Where the tables and the model live."""

    def __post_init__(self) -> None:
        if not isinstance(self.policy, str) or not self.policy:
            raise ConfigError(f"The policy must be a non-empty name; got {self.policy!r}.")
        if not isinstance(self.policy_params, Mapping):
            raise ConfigError(
                f"policy_params must be a mapping of parameter names to values; "
                f"got {self.policy_params!r}."
            )
        if not isinstance(self.dry_run, bool):
            raise ConfigError(f"dry_run must be true or false; got {self.dry_run!r}.")
        object.__setattr__(
            self, "model_name", validate_identifier(self.model_name, what="model name")
        )

    @classmethod
    def from_deployment(cls, parameters: Mapping[str, Any], settings: Settings) -> GraphConfig:
        """The CONFIG of a graph equivalent to a Prefect deployment with ``parameters``.

        Parameters the deployment leaves out take the values the flow would resolve
        from ``settings`` (model name, windows); the challenger spec, the data contract
        and the Snowflake locations always come from ``settings``.

        Raises:
            ConfigError: if the deployment names no policy, or passes a parameter
                the graph cannot carry.
        """
        unknown = sorted(set(parameters) - {*CARRIED_PARAMETERS, *PLACEMENT_PARAMETERS})
        if unknown:
            raise ConfigError(
                f"The deployment passes parameter(s) {unknown} that the Snowflake task graph "
                f"does not carry; it carries {', '.join(CARRIED_PARAMETERS)}. Remove them from "
                "prefect.yaml or teach deployments.graph_config.GraphConfig about them."
            )
        if "policy" not in parameters:
            raise ConfigError(
                "The deployment names no policy; set parameters.policy in prefect.yaml so "
                "both orchestrators run the same one."
            )
        windows = parameters.get("windows")
        return cls(
            policy=parameters["policy"],
            policy_params=parameters.get("policy_params") or {},
            model_name=parameters.get("model_name") or settings.model_name,
            windows=_windows(windows) if windows is not None else settings.windows,
            dry_run=parameters.get("dry_run", False),
            challenger_spec=settings.challenger_spec,
            contract=settings.contract,
            snowflake=settings.snowflake,
        )

    def parameters(self) -> dict[str, Any]:
        """The carried flow parameters, in the form prefect.yaml writes them."""
        return {
            "policy": self.policy,
            "policy_params": dict(self.policy_params),
            "model_name": self.model_name,
            "windows": asdict(self.windows),
            "dry_run": self.dry_run,
        }

    def to_config(self) -> dict[str, ConfigValue]:
        """The root task's CONFIG: one key per value, mappings as JSON text.

        snowflake.core accepts only str, int, float and bool CONFIG values, so nested
        values (policy parameters, windows, the spec, the contract, the locations)
        travel as JSON.

        Raises:
            ConfigError: if a value contains ``$$``, which would end the CONFIG literal.
        """
        location = {k: v for k, v in asdict(self.snowflake).items() if k != "connection_name"}
        values = {
            **self.parameters(),
            "challenger_spec": self.challenger_spec.to_dict(),
            "contract": self.contract.to_dict(),
            "snowflake": location,
        }
        config = {
            key: json.dumps(value, sort_keys=True) if isinstance(value, dict) else value
            for key, value in sorted(values.items())
        }
        for key, value in config.items():
            if "$$" in str(value):
                raise ConfigError(
                    f"CONFIG value {key!r} contains '$$', which would end the CONFIG literal "
                    f"in SQL; got {value!r}."
                )
        return config

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GraphConfig:
        """Inverse of :meth:`to_config`, as a procedure reads it back inside a graph run.

        Raises:
            ConfigError: if a key is missing (the graph was emitted by another release).
        """
        try:
            return cls(
                policy=config["policy"],
                policy_params=json.loads(config["policy_params"]),
                model_name=config["model_name"],
                windows=_windows(json.loads(config["windows"])),
                dry_run=config["dry_run"],
                challenger_spec=ModelSpec.from_mapping(
                    json.loads(config["challenger_spec"]), input_name="CONFIG challenger_spec"
                ),
                contract=DataContract.from_dict(json.loads(config["contract"])),
                snowflake=SnowflakeSettings(**json.loads(config["snowflake"])),
            )
        except KeyError as exc:
            raise ConfigError(
                f"The task graph's CONFIG has no {exc.args[0]!r}; it was emitted by another "
                f"release (keys seen: {sorted(config)}). Re-deploy with `ccflows snowflake deploy`."
            ) from exc

    def settings(self, **overrides: Any) -> Settings:
        """Settings for the Snowflake backend (``overrides`` let a local rehearsal change it)."""
        values: dict[str, Any] = {
            # The embedded home is unused on Snowflake, and ``~`` may not resolve in a procedure.
            "home": Path(tempfile.gettempdir()),
            "backend": "snowflake",
            "model_name": self.model_name,
            "windows": self.windows,
            "challenger_spec": self.challenger_spec,
            "contract": self.contract,
            "snowflake": self.snowflake,
        }
        return Settings(**{**values, **overrides})

    def load_policy(self) -> ccpolicy.Policy:
        """The configured policy, checked as every cycle checks it before training.

        Raises:
            ccpolicy.PolicyError: an unknown name, bad parameters or an unknown guarded metric.
        """
        from flows.cycle.steps import check_policy

        return check_policy(self.policy, self.policy_params)


def _windows(value: Any) -> WindowSpec:
    if not isinstance(value, dict):
        raise ConfigError(f"windows must be a mapping of window sizes; got {value!r}.")
    return WindowSpec.from_mapping(value, where="windows")
