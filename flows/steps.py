"""The steps of the champion–challenger cycle, each against a :class:`~flows.backends.Backend`.

These are the units the Prefect tasks in ``flows.pipeline`` wrap one-to-one, and
the units the Snowflake stored procedures call: plain functions, no orchestrator.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flows.data import hashes_fingerprint, row_hashes
from flows.errors import (
    AlreadyChampionError,
    ConfigError,
    EmptyWindowError,
    VersionExistsError,
)
from flows.evaluation import Evaluation, evaluate_pair
from flows.names import CHALLENGER
from flows.promotion import PromotionReport, decide_and_record, default_actor
from flows.registry.base import LedgerEntry, ModelVersion, Outcome, Registry
from flows.training import TrainedModel, train_model, version_name
from flows.windows import WeekRange, Windows, challenger_windows, champion_windows

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

    import ccpolicy
    from flows.backends import Backend
    from flows.config import Settings
    from flows.data import GeneratorSpec
    from flows.scoring import FileScoringResult
    from flows.training import ModelSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrainResult:
    """A challenger ready to be judged."""

    version: ModelVersion
    """The challenger's registry record."""
    reused: bool
    """True when an identical version (same spec, same rows) already existed."""
    windows: Windows
    """The windows it was trained and tested on, and the hold-out it will face."""
    data_week: int
    """Newest week in the data."""


@dataclass(frozen=True)
class ScoringResult:
    """Probabilities from the live version, each row labelled with that version."""

    version: str
    scores: pd.DataFrame

    @property
    def n_rows(self) -> int:
        """Number of rows scored."""
        return len(self.scores)


def generate_data(
    backend: Backend,
    spec: GeneratorSpec,
    *,
    n_weeks: int = 20,
    append_weeks: int = 0,
    replace: bool = False,
    holdout_weeks: int = 4,
) -> pd.DataFrame:
    """Write the quickstart's data set (``n_weeks`` weeks), or ``append_weeks`` more of it.

    Appending continues the same random stream after the newest stored week, so a
    weekly run sees genuinely new rows while the history stays as it was. Backends
    that keep the quickstart's EVALUATION_DATA table refresh it with the newest
    ``holdout_weeks`` weeks.

    Raises:
        ConfigError: if data is already stored and neither appending nor replacing.
    """
    from flows.data import generate_applications, generate_weeks

    span = backend.source.week_span()
    if append_weeks:
        if span is None:
            raise ConfigError("Nothing to append to: the applications table is empty.")
        data = generate_weeks(span[1] + 1, span[1] + append_weeks, spec)
    else:
        if span is not None and not replace:
            raise ConfigError(
                f"The applications table already holds weeks {span[0]}–{span[1]}; "
                "use --append-weeks N to add weeks or --replace to start over."
            )
        data = generate_applications(n_weeks, spec)
    backend.source.write(data, replace=replace and not append_weeks)
    backend.source.write_evaluation_data(holdout_weeks=holdout_weeks)
    return data


@dataclass(frozen=True)
class IngestResult:
    """What loading files into the table did."""

    rows: int
    """Rows written."""
    span: tuple[int, int]
    """Oldest and newest period stored afterwards."""
    replaced: bool
    """True when the stored rows were replaced rather than added to."""


def ingest(
    backend: Backend,
    settings: Settings,
    paths: Sequence[Path],
    *,
    append: bool = False,
    replace: bool = False,
) -> IngestResult:
    """Load CSV/Parquet files into the table, all or nothing.

    Every row of every file is checked against the data contract before anything is
    written, so a bad file leaves the stored data (and the registry, never touched
    here) exactly as it was. Stored periods are immutable: rows falling into a period
    that is already stored ("late data"), or before the first stored period, refuse
    the whole load; they can only come in with ``replace`` and the full history.

    Args:
        paths: CSV or Parquet files, or folders of Parquet files, with the same columns.
        append: Add rows of new periods to the stored ones.
        replace: Drop the stored rows and store these instead.

    Raises:
        ConfigError: if data is stored and neither ``append`` nor ``replace`` is given.
        DataValidationError: naming the file, the column and the values at fault.
    """
    from flows.files import read_tables

    contract = settings.contract
    if append and replace:
        raise ConfigError("Choose one of --append and --replace.")
    span = backend.source.week_span()
    if span is not None and not (append or replace):
        raise ConfigError(
            f"The table already holds {contract.period}s {span[0]}–{span[1]}; pass --append to "
            "add rows of later periods or --replace to store these files instead."
        )
    text = [*(contract.categorical or ()), *filter(None, (contract.time_column,))]
    data = read_tables([Path(p) for p in paths], text_columns=text)
    input_name = "data to ingest" if len(paths) > 1 else str(paths[0])
    contract.validate(data, input_name=input_name, require_both_classes=True)
    written = backend.source.write(data, replace=replace)
    backend.source.write_evaluation_data(holdout_weeks=settings.windows.holdout_weeks)
    logger.info("Ingested %d rows from %d file(s)", written, len(paths))
    return IngestResult(rows=written, span=data_span(backend), replaced=replace)


def data_span(backend: Backend) -> tuple[int, int]:
    """Oldest and newest week stored; raises when there is no data at all."""
    span = backend.source.week_span()
    if span is None:
        raise EmptyWindowError(
            "The applications table is empty; run `ccflows generate` (or load data) first."
        )
    return span


def _train_and_log(
    backend: Backend, spec: ModelSpec, windows: Windows, *, role: str
) -> tuple[ModelVersion, bool]:
    """Train ``spec`` on the windows and log it, or reuse the identical version."""
    registry = backend.registry
    train = backend.source.read_weeks(windows.train, input_name=f"{role} training window")
    hashes = row_hashes(train)
    contract = backend.source.contract.resolved(train)
    name = version_name(role, spec, windows.train, hashes_fingerprint(hashes), contract=contract)
    if any(v.name == name for v in registry.list_versions()):
        return _reuse(registry, name), True
    test = backend.source.read_weeks(windows.test, input_name=f"{role} test window")
    trained = train_model(
        spec,
        train,
        test,
        train_weeks=windows.train,
        test_weeks=windows.test,
        contract=backend.source.contract,
        train_row_hashes=hashes,
    )
    sample_input = trained.contract.model_input(train.head(10), input_name=f"{role} sample")
    del train, test  # free the windows before the model is pickled next to itself
    try:
        version = registry.log_version(
            trained.model,
            _record(trained, name, role, registry.model_name),
            sample_input=sample_input,
            train_row_hashes=trained.train_row_hashes,
        )
    except VersionExistsError:  # a concurrent run logged the identical version first
        return _reuse(registry, name), True
    return version, False


def _reuse(registry: Registry, name: str) -> ModelVersion:
    logger.info("Reusing version %s: same spec and same training rows", name)
    return registry.get_version(name)


def _record(trained: TrainedModel, name: str, role: str, model_name: str) -> ModelVersion:
    return ModelVersion(
        model_name=model_name,
        name=name,
        created_at="",
        comment=f"{role} trained on {trained.train_weeks}, tested on {trained.test_weeks}",
        metrics={
            "test_auc": trained.test_auc,
            "training_samples": trained.row_count,
            "model_type": trained.spec.model_type,
        },
        train_weeks=(trained.train_weeks.start, trained.train_weeks.end),
        test_weeks=(trained.test_weeks.start, trained.test_weeks.end),
        row_count=trained.row_count,
        train_fingerprint=trained.train_fingerprint,
        spec=trained.spec.to_dict(),
        contract=trained.contract.to_dict(),
    )


def train_champion(
    backend: Backend, settings: Settings, *, replace: bool = False, actor: str | None = None
) -> ModelVersion:
    """Train the bootstrap champion and make it CHAMPION, LIVE_VERSION and default.

    Args:
        replace: Allow replacing an existing live champion (recorded in the ledger).

    Raises:
        ConfigError: if a champion is already live and ``replace`` is false.
    """
    first, newest = data_span(backend)
    windows = champion_windows(first, newest, settings.windows)
    live = backend.registry.live_version()
    if live is not None and not replace:
        raise ConfigError(
            f"Model {settings.model_name} already has a live champion ({live}); "
            "weekly runs challenge it with `ccflows run`. Pass --replace to retrain it anyway."
        )
    version, _ = _train_and_log(backend, settings.champion_spec, windows, role="champion")
    if version.name == live:
        logger.info("Champion %s is unchanged", live)
        return version
    entry = LedgerEntry(
        outcome=Outcome.BOOTSTRAPPED,
        reason=f"Champion {version.name} trained on {windows.train} installed as live version.",
        actor=actor or default_actor(),
        champion_version=live,
        challenger_version=version.name,
        data_week=newest,
    )
    backend.registry.promote_if_champion_is(live, version.name, entry)
    return version


def retrain_challenger(backend: Backend, settings: Settings) -> RetrainResult:
    """Train a challenger on the newest windows and point CHALLENGER at it."""
    first, newest = data_span(backend)
    windows = challenger_windows(first, newest, settings.windows)
    champion = (
        backend.registry.champion()
    )  # fail before training when there is nothing to challenge
    backend.source.contract.require_same_target(champion.data_contract, champion_name=champion.name)
    version, reused = _train_and_log(backend, settings.challenger_spec, windows, role=CHALLENGER)
    try:
        backend.registry.set_challenger(version.name)
    except AlreadyChampionError:  # unchanged data, or another run just promoted this version
        logger.info("Challenger %s is the live champion itself", version.name)
    return RetrainResult(version=version, reused=reused, windows=windows, data_week=newest)


def evaluate(backend: Backend, settings: Settings, *, challenger: str | None = None) -> Evaluation:
    """Score the live champion and the challenger on the newest hold-out weeks."""
    first, newest = data_span(backend)
    windows = challenger_windows(first, newest, settings.windows)
    registry = backend.registry
    champion = registry.champion()
    name = challenger or registry.version_by_alias(CHALLENGER) or champion.name
    holdout = backend.source.read_weeks(windows.holdout, input_name="hold-out")
    return evaluate_pair(
        registry,
        champion,
        registry.get_version(name),
        holdout,
        holdout_weeks=windows.holdout,
        data_week=newest,
    )


def decide_and_promote(
    backend: Backend,
    evaluation: Evaluation,
    policy: ccpolicy.Policy,
    *,
    dry_run: bool = False,
    actor: str | None = None,
    run_id: str | None = None,
) -> PromotionReport:
    """Apply ``policy`` to the evaluation; promote as a compare-and-set or keep; record it."""
    return decide_and_record(
        backend.registry, evaluation, policy, dry_run=dry_run, actor=actor, run_id=run_id
    )


def record_failure(
    backend: Backend, *, error: str, actor: str | None = None, run_id: str | None = None
) -> LedgerEntry:
    """Record that a cycle failed before deciding; the champion is untouched."""
    entry = LedgerEntry(
        outcome=Outcome.FAILED,
        reason=f"Cycle failed before a decision; champion untouched. {error}",
        actor=actor or default_actor(),
        champion_version=backend.registry.live_version(),
        run_id=run_id,
    )
    return backend.registry.append_ledger(entry)


def weekly_cycle(
    backend: Backend,
    settings: Settings,
    policy: ccpolicy.Policy,
    *,
    dry_run: bool = False,
    actor: str | None = None,
    run_id: str | None = None,
) -> PromotionReport:
    """Retrain, evaluate and decide in one call (stored procedures, benchmarks, tests)."""
    retrained = retrain_challenger(backend, settings)
    evaluation = evaluate(backend, settings, challenger=retrained.version.name)
    return decide_and_promote(
        backend, evaluation, policy, dry_run=dry_run, actor=actor, run_id=run_id
    )


def score(
    backend: Backend,
    *,
    weeks: WeekRange | None = None,
    data: pd.DataFrame | None = None,
) -> ScoringResult:
    """Score ``data`` (or the stored ``weeks``, default the newest week) with the live version.

    The live version checks ``data`` against its own contract: only its features are
    needed, and a missing one fails before any row is scored.
    """
    registry = backend.registry
    live = registry.champion().name
    if data is None:
        newest = data_span(backend)[1]
        weeks = weeks or WeekRange(newest, newest)
        data = backend.source.read_weeks(weeks, input_name="scoring input")
    scores = data.copy()
    scores["approval_probability"] = registry.predict_proba(live, data)
    scores["model_version"] = live
    logger.info("Scored %d rows with live version %s", len(scores), live)
    return ScoringResult(version=live, scores=scores)


def score_file(
    backend: Backend, source: Path, out: Path, *, batch_rows: int | None = None
) -> FileScoringResult:
    """Score every row of the file ``source`` with the live version, streaming, into ``out``.

    The file is checked against the live version's own contract: its features must
    all be there (before any row is scored), its id column is carried into ``out``.
    """
    from flows import files
    from flows.scoring import score_file as stream_scores

    live = backend.registry.champion()
    contract = live.data_contract
    return stream_scores(
        backend.registry,
        live.name,
        source,
        out,
        features=contract.features or contract.feature_columns(files.column_names(source)),
        id_column=contract.id_column,
        text_columns=contract.categorical or (),
        batch_rows=batch_rows or files.DEFAULT_BATCH_ROWS,
    )
