"""The stage procedure's handler: one stage of the weekly cycle, run inside Snowflake.

``CHAMPION_CHALLENGER_STAGE(STAGE, REQUEST)`` runs one of the cycle's heavy stages in
the procedure's own process, on the procedure's session, so the windows are read
where they are stored and never cross the network. ``REQUEST`` is small JSON (the
settings, the run's parameters, its id and actor, the hand-off); so is the answer:

- ``retrain``: trains the challenger as :meth:`~flows.cycle.stages.Cycle.retrain`
  does (on ``[snowflake] training_warehouse`` when set) and answers its reference;
- ``evaluate``: scores both models on the plan's hold-out as
  :meth:`~flows.cycle.stages.Cycle.evaluate` does, writes the hold-out's label and
  both scores to the evidence table (:mod:`flows.backends.snowflake.evidence`) under
  the run's id, and answers the metrics, the fingerprint and both version records;
- ``score``: runs the live version over a table or query into a table
  (:mod:`flows.backends.snowflake.table_scoring`) and answers what it wrote;
- ``version``: answers the identity of the code it runs (:mod:`flows.package_identity`).

The stages are the cycle's own, with the settings' compute set to ``worker``: inside
the procedure the work is in-process. The Prefect flow reaches this handler through
:class:`flows.backends.snowflake.warehouse.WarehouseStages`; tests call it directly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from flows.errors import ConfigError

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from flows.config import Settings
    from flows.cycle.stages import Cycle

logger = logging.getLogger(__name__)

PROCEDURE: Final = "CHAMPION_CHALLENGER_STAGE"
"""The stored procedure that runs one heavy stage of the cycle inside Snowflake."""
HANDLER: Final = f"{__name__}.run_stage"
"""The procedure's handler, imported from the code archive."""
RETRAIN: Final = "retrain"
EVALUATE: Final = "evaluate"
SCORE: Final = "score"
VERSION: Final = "version"
PROCEDURE_STAGES: Final = (RETRAIN, EVALUATE, SCORE, VERSION)


def request_json(
    settings: Settings,
    *,
    parameters: Mapping[str, Any],
    run_id: str,
    actor: str | None,
    **more: Any,
) -> str:
    """The procedure's ``REQUEST``: settings and parameters, as JSON (no credential in it)."""
    return json.dumps(
        {
            "settings": settings.to_dict(),
            "parameters": dict(parameters),
            "run_id": run_id,
            "actor": actor,
            **more,
        },
        sort_keys=True,
    )


def run_stage(session: Session, stage: str, request: str) -> str:
    """Handler of ``CHAMPION_CHALLENGER_STAGE(STAGE, REQUEST)``: run ``stage``, answer JSON.

    Raises:
        ConfigError: for an unknown stage or a request this release cannot read.
    """
    handlers: dict[str, Callable[[Session, dict[str, Any]], dict[str, Any]]] = {
        RETRAIN: _retrain,
        EVALUATE: _evaluate,
        SCORE: _score,
        VERSION: _version,
    }
    if stage not in handlers:
        raise ConfigError(
            f"Unknown stage {stage!r}; {PROCEDURE} runs {', '.join(PROCEDURE_STAGES)}."
        )
    try:
        data = json.loads(request or "{}")
    except ValueError as exc:
        raise ConfigError(f"{PROCEDURE}: the request is not JSON ({exc}).") from exc
    return json.dumps(handlers[stage](session, data), sort_keys=True)


def in_process_settings(data: Mapping[str, Any]) -> Settings:
    """The request's settings, with the compute in this process (the procedure's own)."""
    from flows.config import WORKER_COMPUTE, Settings

    if "settings" not in data:
        raise ConfigError(f"{PROCEDURE}: the request carries no settings.")
    settings = Settings.from_dict(data["settings"])
    return replace(settings, snowflake=replace(settings.snowflake, compute=WORKER_COMPUTE))


@contextmanager
def _cycle(session: Session, data: Mapping[str, Any]) -> Iterator[Cycle]:
    """The run's cycle on the procedure's session (which the backend borrows, not closes)."""
    from flows.backends import open_backend
    from flows.cycle.stages import Cycle, CycleParameters

    settings = in_process_settings(data)
    parameters = CycleParameters(**data.get("parameters", {}))
    with open_backend(settings, session=session) as backend:
        yield Cycle(
            backend, settings, parameters, run_id=data.get("run_id"), actor=data.get("actor")
        )


def _handoff(data: Mapping[str, Any], stage: str) -> Any:
    from flows.cycle.stages import Handoff

    return Handoff.from_json(data.get("handoff"), expected_by=f"Stage {stage} of {PROCEDURE}")


def _retrain(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    handoff = _handoff(data, RETRAIN)
    with _cycle(session, data) as cycle:
        plan = handoff.plan or cycle.plan()
        with _warehouse(session, cycle.settings.snowflake.training_warehouse):
            challenger = cycle.retrain(plan)
    return challenger.to_dict()


def _evaluate(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    from flows.backends.snowflake.evidence import EvidenceTable

    handoff = _handoff(data, EVALUATE)
    if handoff.plan is None or handoff.challenger is None:
        raise ConfigError(f"Stage {EVALUATE} of {PROCEDURE} needs the plan and the challenger.")
    with _cycle(session, data) as cycle:
        evaluation = cycle.evaluate(handoff.plan, handoff.challenger)
        EvidenceTable(session, cycle.settings.snowflake).write(cycle.run_id, evaluation)
    return {
        "champion": evaluation.champion.to_dict(),
        "challenger": evaluation.challenger.to_dict(),
        "champion_metrics": evaluation.champion_metrics,
        "challenger_metrics": evaluation.challenger_metrics,
        "holdout_fingerprint": evaluation.holdout_fingerprint,
        "n_rows": evaluation.n_rows,
    }


def _score(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    from flows.backends.snowflake.table_scoring import score_to_table

    with _cycle(session, data) as cycle:
        result = score_to_table(
            cycle.backend, source=str(data.get("source", "")), target=str(data.get("target", ""))
        )
    return result.to_dict()


def _version(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    from flows.package_identity import running_identity

    return running_identity().to_dict()


@contextmanager
def _warehouse(session: Session, warehouse: str | None) -> Iterator[None]:
    """Run the block on ``warehouse`` (a validated identifier), then return to the session's."""
    if warehouse is None:
        yield
        return
    (row,) = session.sql("SELECT CURRENT_WAREHOUSE() AS W").collect()
    before = row[0]
    session.use_warehouse(warehouse)
    logger.info("Training on warehouse %s", warehouse)
    try:
        yield
    finally:
        if before:
            session.use_warehouse(str(before))
