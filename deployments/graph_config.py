"""The parameters a task graph run carries: the root task's CONFIG.

A graph run carries what a weekly Prefect run is given: the run's parameters (the
policy, its parameters, dry run; :class:`~flows.cycle.stages.CycleParameters`) and
the resolved :class:`~flows.config.Settings` they run with. Both are the flow's own
types, serialised, so there is no second model of the same settings: the procedure
reads them back inside Snowflake (``SYSTEM$GET_TASK_GRAPH_CONFIG``) and runs the
same cycle.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from flows.backends import SNOWFLAKE
from flows.config import Settings
from flows.cycle.stages import CycleParameters
from flows.data.periods import WindowSpec
from flows.errors import ConfigError

if TYPE_CHECKING:
    import ccpolicy

RUN_PARAMETERS: Final = ("policy", "policy_params", "dry_run")
"""Parameters of the ``champion-challenger`` flow that become the graph run's parameters."""
SETTING_PARAMETERS: Final = ("model_name", "windows")
"""Flow parameters that override the settings, in the graph as in the flow."""
PLACEMENT_PARAMETERS: Final = ("backend", "home", "config")
"""Flow parameters that say where a Prefect run executes; a Snowflake graph always runs
on the Snowflake backend with the settings it was emitted with, so they are not carried."""
NOT_CARRIED: Final = ("home", "connection_name", "credentials_block")
"""Settings that mean nothing inside Snowflake: the embedded home, the client's connection
(a connections.toml entry, or a Prefect credentials block)."""

ConfigValue = str | int | float | bool


@dataclass(frozen=True)
class GraphConfig:
    """The parameters and settings of one graph run, as the root task's CONFIG holds them."""

    parameters: CycleParameters
    """The policy, its parameters and whether this is a dry run."""
    settings: Settings
    """The settings the stages run with (on the Snowflake backend)."""

    @classmethod
    def from_deployment(cls, parameters: Mapping[str, Any], settings: Settings) -> GraphConfig:
        """The CONFIG of a graph equivalent to a Prefect deployment with ``parameters``.

        Parameters the deployment leaves out take the values the flow would resolve
        from ``settings``; the graph always runs on the Snowflake backend.

        Raises:
            ConfigError: if the deployment names no policy, or passes a parameter
                the graph cannot carry.
        """
        known = {*RUN_PARAMETERS, *SETTING_PARAMETERS, *PLACEMENT_PARAMETERS}
        unknown = sorted(set(parameters) - known)
        if unknown:
            raise ConfigError(
                f"The deployment passes parameter(s) {unknown} that the Snowflake task graph "
                f"does not carry; it carries {', '.join((*RUN_PARAMETERS, *SETTING_PARAMETERS))}. "
                "Remove them from prefect.yaml or teach deployments.graph_config about them."
            )
        if "policy" not in parameters:
            raise ConfigError(
                "The deployment names no policy; set parameters.policy in prefect.yaml so "
                "both orchestrators run the same one."
            )
        windows = parameters.get("windows")
        return cls(
            parameters=CycleParameters(
                policy=parameters["policy"],
                policy_params=parameters.get("policy_params") or {},
                dry_run=parameters.get("dry_run", False),
            ),
            settings=settings.with_overrides(
                backend=SNOWFLAKE,
                model_name=parameters.get("model_name"),
                windows=_windows(windows) if windows is not None else None,
            ),
        )

    def flow_parameters(self) -> dict[str, Any]:
        """The equivalent flow parameters, in the form prefect.yaml writes them."""
        windows = self.settings.to_dict()["windows"]
        return {
            **self.parameters.to_dict(),
            "model_name": self.settings.model_name,
            "windows": windows,
        }

    def to_config(self) -> dict[str, ConfigValue]:
        """The root task's CONFIG: one key per value, mappings as JSON text.

        snowflake.core accepts only str, int, float and bool CONFIG values, so the
        policy parameters and the settings travel as JSON.

        Raises:
            ConfigError: if a value contains ``$$``, which would end the CONFIG literal.
        """
        settings = self.settings.to_dict()
        settings.pop("home")
        settings["snowflake"].pop("connection_name")
        settings["snowflake"].pop("credentials_block")
        values = {**self.parameters.to_dict(), "settings": settings}
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
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> GraphConfig:
        """Inverse of :meth:`to_config`, as a procedure reads it back inside a graph run.

        Args:
            overrides: Settings to replace (a local rehearsal's backend and home).

        Raises:
            ConfigError: if a key is missing (the graph was emitted by another release).
        """
        try:
            parameters = CycleParameters(
                policy=config["policy"],
                policy_params=json.loads(config["policy_params"]),
                dry_run=config["dry_run"],
            )
            settings = json.loads(config["settings"])
        except KeyError as exc:
            raise ConfigError(
                f"The task graph's CONFIG has no {exc.args[0]!r}; it was emitted by another "
                f"release (keys seen: {sorted(config)}). Re-deploy with `ccflows snowflake deploy`."
            ) from exc
        # The embedded home is unused on Snowflake, and ``~`` may not resolve in a procedure.
        placed = {"home": tempfile.gettempdir(), **overrides}
        return cls(parameters=parameters, settings=Settings.from_dict(settings, **placed))

    def check_policy(self) -> ccpolicy.Policy:
        """The configured policy, checked as every cycle checks it before training.

        Raises:
            ccpolicy.PolicyError: an unknown name, bad parameters or an unknown guarded metric.
        """
        from flows.cycle.steps import check_policy

        return check_policy(self.parameters.policy, self.parameters.policy_params)


def _windows(value: Any) -> WindowSpec:
    if not isinstance(value, Mapping):
        raise ConfigError(f"windows must be a mapping of window sizes; got {value!r}.")
    return WindowSpec.from_mapping(value, where="windows")
