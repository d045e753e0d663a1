"""The Prefect automations shipped under ``deployments/automations/``, installed by name.

Each YAML file there holds ``automations:``, a list in the form ``prefect automation
create --from-file`` reads. Installing is idempotent: an automation whose name is
already on the server is updated in place, not created a second time.

The zombie automation is always installed. The alerts under ``alerts/`` notify a team
through a notification block of theirs, named ``TYPE/NAME`` (``--notify-block``):
a weekly cycle that did not end within its period and a grace, a work pool that is
not ready, a cycle that failed or promoted.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from flows.errors import ConfigError

if TYPE_CHECKING:
    from prefect.events.schemas.automations import AutomationCore

    from deployments.prefect_yaml import CronSchedule

AUTOMATIONS_DIR = Path(__file__).resolve().parent / "automations"
"""Where the shipped automations live."""
ALERTS_DIR = AUTOMATIONS_DIR / "alerts"
"""The alerts, installed only with a notification block."""
ZOMBIE_AUTOMATION = "champion-challenger crash zombie runs"
"""Name of the automation that marks runs without heartbeats Crashed."""
MISSING_CYCLE_ALERT = "champion-challenger alert weekly cycle missing"
POOL_ALERT = "champion-challenger alert work pool not ready"
MISSING_CYCLE_GRACE = timedelta(hours=4)
"""How long past its period a weekly cycle may end: the cycle's 3-hour timeout and an hour."""


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


def notification_block_id(spec: str) -> UUID:
    """The id of the notification block ``TYPE/NAME`` (e.g. ``slack-webhook/ops``).

    Raises:
        ConfigError: if ``spec`` is not ``TYPE/NAME``, or no such block is on the server.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    block_type, _, name = spec.partition("/")
    if not block_type or not name or "/" in name:
        raise ConfigError(
            f"--notify-block takes a block's TYPE/NAME, e.g. slack-webhook/ops; got {spec!r}."
        )
    with get_client(sync_client=True) as client:
        try:
            return client.read_block_document_by_name(name, block_type_slug=block_type).id
        except ObjectNotFound:
            raise ConfigError(
                f"No {block_type} block named {name!r} on the Prefect server; create it "
                f"(`prefect block create {block_type}`, or in the UI under Blocks) first."
            ) from None


def schedule_period(schedule: CronSchedule) -> timedelta:
    """The time between two runs of ``schedule`` (a week for ``1 1 * * 1``)."""
    from prefect.server.schemas.schedules import CronSchedule as ServerCron
    from prefect.utilities.asyncutils import run_coro_as_sync

    cron = ServerCron(cron=schedule.expr, timezone=schedule.timezone)
    first, second = run_coro_as_sync(cron.get_dates(n=2))
    return second - first


def alerts(block_id: UUID, *, work_pool: str | None, weekly: CronSchedule) -> list[AutomationCore]:
    """The alerts of ``alerts/``, notifying through block ``block_id``.

    Args:
        work_pool: The pool whose readiness to watch; None (``ccflows serve``) leaves
            that alert out.
        weekly: The weekly deployment's schedule: a cycle is missing once its period
            and :data:`MISSING_CYCLE_GRACE` pass without a run that ended.
    """
    found = []
    for alert in load_automations(ALERTS_DIR):
        if alert.name == POOL_ALERT and work_pool is None:
            continue
        trigger = alert.trigger
        if alert.name == MISSING_CYCLE_ALERT:
            within = schedule_period(weekly) + MISSING_CYCLE_GRACE
            trigger = trigger.model_copy(update={"within": within})
        if alert.name == POOL_ALERT:
            match = {**trigger.match.root, "prefect.resource.name": work_pool}
            trigger = trigger.model_copy(update={"match": type(trigger.match)(match)})
        actions = [a.model_copy(update={"block_document_id": block_id}) for a in alert.actions]
        found.append(alert.model_copy(update={"trigger": trigger, "actions": actions}))
    return found
