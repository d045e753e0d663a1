"""The cycle's heavy stages, run in the warehouse from the worker: calls of the stage procedure.

With ``[snowflake] compute = "warehouse"`` (the default) the Snowflake backend lends
the cycle a :class:`WarehouseStages`: :meth:`~flows.cycle.stages.Cycle.retrain` and
:meth:`~flows.cycle.stages.Cycle.evaluate` call ``CHAMPION_CHALLENGER_STAGE`` with
small JSON and get small JSON back (:mod:`flows.backends.snowflake.stage_procedure`).
To judge, the worker reads back the hold-out's label and both scores from the
evidence table: hold-out rows × 3 cells, never a feature, never a training row.

Before the first stage it checks that the procedure runs the code this worker runs
(:mod:`flows.package_identity`), so a cycle never trains with one release and
judges with another. Each CALL runs under ``[snowflake] stage_timeout_seconds``
(:func:`stage_timeout`), every other statement under the session's own timeout.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flows.backends.snowflake._tables import is_missing_object
from flows.backends.snowflake.evidence import EvidenceTable
from flows.backends.snowflake.stage_procedure import (
    EVALUATE,
    PROCEDURE,
    RETRAIN,
    SCORE,
    VERSION,
    request_json,
)
from flows.errors import ConfigError
from flows.package_identity import PackageIdentity, local_identity
from flows.records import ModelVersion

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from flows.config import Settings, SnowflakeSettings
    from flows.cycle.evaluation import Evaluation
    from flows.cycle.stages import ChallengerRef, Cycle
    from flows.data.plan import CyclePlan

logger = logging.getLogger(__name__)

SETUP_HINT = (
    "run `ccflows snowflake setup` (or `ccflows snowflake deploy`) with this release, "
    'or set [snowflake] compute = "worker"'
)


class WarehouseStages:
    """Runs the cycle's retrain and evaluate stages through the stage procedure.

    Args:
        session: The worker's Snowpark session (the backend's).
        settings: The Snowflake settings naming the procedure's schema.
    """

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        where = settings.snowflake
        self.procedure = f"{where.database}.{where.schema}.{PROCEDURE}"
        self._code_checked = False

    def check_code(self) -> PackageIdentity:
        """The deployed code's identity, once it is known to be this worker's.

        Raises:
            ConfigError: if the procedure is missing or runs another release or other code.
        """
        deployed = PackageIdentity.from_dict(self._call(VERSION, "{}"))
        local = local_identity()
        if deployed != local:
            raise ConfigError(
                f"{self.procedure} runs champion-challenger {deployed.version} "
                f"(code {deployed.content_hash[:12]}), this worker {local.version} "
                f"(code {local.content_hash[:12]}); {SETUP_HINT}."
            )
        self._code_checked = True
        return deployed

    def retrain(self, cycle: Cycle, plan: CyclePlan) -> ChallengerRef:
        """Train the challenger inside Snowflake; only its reference comes back."""
        from flows.cycle.stages import ChallengerRef, Handoff

        self._check_once()
        answer = self._call(RETRAIN, self._request(cycle, Handoff(plan=plan)))
        return ChallengerRef.from_dict(answer)

    def evaluate(self, cycle: Cycle, plan: CyclePlan, challenger: ChallengerRef) -> Evaluation:
        """Score both models inside Snowflake; read back the label and the two scores only."""
        from flows.cycle.evaluation import Evaluation
        from flows.cycle.stages import Handoff

        self._check_once()
        handoff = Handoff(plan=plan, challenger=challenger)
        answer = self._call(EVALUATE, self._request(cycle, handoff))
        y_true, champion_scores, challenger_scores = EvidenceTable(
            self.session, self.settings.snowflake
        ).read(cycle.run_id)
        if len(y_true) != answer["n_rows"]:
            raise ConfigError(
                f"Run {cycle.run_id} has {len(y_true)} evidence rows, the evaluation "
                f"{answer['n_rows']}: another process evaluated under the same run id."
            )
        return Evaluation(
            champion=version_from_dict(answer["champion"]),
            challenger=version_from_dict(answer["challenger"]),
            holdout=plan.holdout,
            holdout_fingerprint=answer["holdout_fingerprint"],
            data_period=plan.data_period,
            y_true=y_true,
            champion_scores=champion_scores,
            challenger_scores=challenger_scores,
            champion_metrics=answer["champion_metrics"],
            challenger_metrics=answer["challenger_metrics"],
        )

    def score_to_table(
        self, *, source: str, target: str, run_id: str, actor: str | None = None
    ) -> dict[str, Any]:
        """Score ``source`` (a table or query) with the live version into table ``target``."""
        self._check_once()
        request = request_json(
            self.settings, parameters={}, run_id=run_id, actor=actor, source=source, target=target
        )
        return self._call(SCORE, request)

    def _check_once(self) -> None:
        if not self._code_checked:
            self.check_code()

    def _request(self, cycle: Cycle, handoff: Any) -> str:
        return request_json(
            cycle.settings,
            parameters=cycle.parameters.to_dict(),
            run_id=cycle.run_id,
            actor=cycle.actor,
            handoff=handoff.to_json(),
        )

    def _call(self, stage: str, request: str) -> dict[str, Any]:
        """``CALL <procedure>(stage, request)`` under the stage timeout: one row, one small JSON cell.

        The CALL is submitted asynchronously and its end polled: a synchronous statement
        is cancelled by the connector after ``network_timeout_seconds``, however long
        Snowflake would let it run. Snowflake ends it after ``stage_timeout_seconds``.

        Raises:
            ConfigError: if the procedure does not exist (naming the setup command).
        """
        from snowflake.connector.errors import Error as ConnectorError
        from snowflake.snowpark.exceptions import SnowparkSQLException

        call = f"CALL {self.procedure}(?, ?)"
        try:
            with stage_timeout(self.session, self.settings.snowflake):
                rows = self.session.sql(call, params=[stage, request]).collect_nowait().result()
        except (SnowparkSQLException, ConnectorError) as exc:
            missing = is_missing_object(exc) or "unknown" in str(exc).lower()
            if not (missing and PROCEDURE in str(exc).upper()):
                raise  # the procedure ran and failed: its own error
            raise ConfigError(f"{self.procedure} does not exist; {SETUP_HINT}.") from exc
        return json.loads(rows[0][0])


@contextmanager
def stage_timeout(session: Session, settings: SnowflakeSettings) -> Iterator[None]:
    """Run the block under ``stage_timeout_seconds``, then set the session's own timeout back.

    ``STATEMENT_TIMEOUT_IN_SECONDS`` is a session parameter: it is raised for the stage
    CALL only, and set back to ``statement_timeout_seconds`` (what the session was
    opened with) whatever happens, so every other statement keeps the short timeout.
    A warehouse's own, lower timeout still applies (Snowflake enforces the lower).
    """
    set_timeout = "ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = {:d}"
    session.sql(set_timeout.format(settings.stage_timeout_seconds)).collect()
    try:
        yield
    finally:
        session.sql(set_timeout.format(settings.statement_timeout_seconds)).collect()


def version_from_dict(data: dict[str, Any]) -> ModelVersion:
    """Inverse of :meth:`ModelVersion.to_dict` (the procedure's answer)."""
    values = dict(data)
    for key in ("train_weeks", "test_weeks"):
        if values.get(key) is not None:
            values[key] = tuple(values[key])
    return ModelVersion(**values)
