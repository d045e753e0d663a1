"""The Prefect automations shipped under ``deployments/automations/``, installed by name.

Each YAML file there holds ``automations:``, a list in the form ``prefect automation
create --from-file`` reads. Installing is idempotent: an automation whose name is
already on the server is updated in place, not created a second time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flows.errors import ConfigError

if TYPE_CHECKING:
    from prefect.events.schemas.automations import AutomationCore

AUTOMATIONS_DIR = Path(__file__).resolve().parent / "automations"
"""Where the shipped automations live."""
ZOMBIE_AUTOMATION = "champion-challenger crash zombie runs"
"""Name of the automation that marks runs without heartbeats Crashed."""


def load_automations(folder: Path = AUTOMATIONS_DIR) -> list[AutomationCore]:
    """Every automation declared in ``folder/*.yaml``, validated as Prefect reads it.

    Raises:
        ConfigError: if a file is not valid YAML or declares an invalid automation,
            naming the file.
    """
    import pydantic
    import yaml
    from prefect.events.schemas.automations import AutomationCore

    found: list[AutomationCore] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            document = yaml.safe_load(path.read_text()) or {}
            found += [AutomationCore.model_validate(a) for a in document.get("automations", [])]
        except (OSError, yaml.YAMLError, pydantic.ValidationError) as exc:
            raise ConfigError(f"Automation file {path} is invalid: {exc}") from exc
    return found


def install_automations(automations: list[AutomationCore] | None = None) -> dict[str, str]:
    """Create each automation, or update the one of the same name; name → what was done.

    Args:
        automations: What to install; defaults to :func:`load_automations`.
    """
    from prefect.client.orchestration import get_client

    done: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        for automation in automations if automations is not None else load_automations():
            existing = client.read_automations_by_name(automation.name)
            if existing:
                client.update_automation(existing[0].id, automation)
                done[automation.name] = "updated"
            else:
                client.create_automation(automation)
                done[automation.name] = "created"
    return done
