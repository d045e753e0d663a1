"""The Prefect flows: ``train-champion``, ``champion-challenger`` (weekly) and ``score``.

Each task is a one-line call into ``flows.steps`` inside a freshly opened backend;
flows only wire tasks, name runs and publish artifacts. Training and promotion are
never retried (a retry could train twice or switch twice); reads and scoring are
retried with backoff. No task result is cached: a retrain must train.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from flows import steps
from flows.backend import open_backend
from flows.config import Settings, load_settings
from flows.evaluation import Evaluation
from flows.promotion import PromotionReport
from flows.registry.base import ModelVersion
from flows.report import decision_markdown, scoring_markdown, versions_markdown
from flows.windows import WeekRange, WindowSpec

IO_RETRIES = 3
IO_RETRY_DELAYS = [2, 10, 30]
STEP_TIMEOUT_SECONDS = 3600


class WindowParams(BaseModel):
    """Window sizes in weeks (the quickstart's by default)."""

    train_weeks: int = Field(10, ge=1, description="Weeks the challenger is trained on.")
    test_weeks: int = Field(3, ge=1, description="Weeks its own test AUC is measured on.")
    holdout_weeks: int = Field(4, ge=1, description="Newest weeks both models are judged on.")


def _settings(
    backend: str | None, model_name: str | None, home: str | None, windows: WindowParams | None
) -> Settings:
    return load_settings(
        home=home,
        backend=backend,
        model_name=model_name,
        windows=WindowSpec(**windows.model_dump()) if windows else None,
    )


def _artifact_key(settings: Settings, what: str) -> str:
    """Stable artifact key: lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{settings.model_name.lower()}-{what}")


def _run_id() -> str | None:
    return flow_run.get_id()


# -- tasks ------------------------------------------------------------------------------


@task(name="check-policy", cache_policy=NO_CACHE)
def check_policy(name: str, params: dict[str, Any]) -> Any:
    """Load and validate the policy before any training."""
    import ccpolicy

    return ccpolicy.load_policy(name, **params)


@task(
    name="check-data",
    cache_policy=NO_CACHE,
    retries=IO_RETRIES,
    retry_delay_seconds=IO_RETRY_DELAYS,
    timeout_seconds=600,
)
def check_data(settings: Settings) -> tuple[int, int]:
    """The week span of the applications table (fails early on an empty table)."""
    with open_backend(settings) as backend:
        return steps.data_span(backend)


@task(name="retrain", cache_policy=NO_CACHE, retries=0, timeout_seconds=STEP_TIMEOUT_SECONDS)
def retrain(settings: Settings) -> steps.RetrainResult:
    """Train the challenger on the newest windows and log it as CHALLENGER."""
    with open_backend(settings) as backend:
        result = steps.retrain_challenger(backend, settings)
    verb = "Reused" if result.reused else "Trained"
    get_run_logger().info(
        "%s challenger %s on %s (test AUC %.4f)",
        verb,
        result.version.name,
        result.windows.train,
        result.version.metrics.get("test_auc", float("nan")),
    )
    return result


@task(
    name="evaluate",
    cache_policy=NO_CACHE,
    retries=IO_RETRIES,
    retry_delay_seconds=IO_RETRY_DELAYS,
    timeout_seconds=STEP_TIMEOUT_SECONDS,
)
def evaluate(settings: Settings, challenger: str) -> Evaluation:
    """Score champion and challenger on the same hold-out rows."""
    with open_backend(settings) as backend:
        evaluation = steps.evaluate(backend, settings, challenger=challenger)
    get_run_logger().info(
        "Hold-out %s: champion AUC %.4f, challenger AUC %.4f",
        evaluation.holdout_weeks,
        evaluation.champion_metrics["roc_auc"],
        evaluation.challenger_metrics["roc_auc"],
    )
    return evaluation


@task(name="promote", cache_policy=NO_CACHE, retries=0, timeout_seconds=600)
def promote(
    settings: Settings, evaluation: Evaluation, policy: Any, dry_run: bool
) -> PromotionReport:
    """Let the policy decide; promote as a compare-and-set or keep; record it in the ledger."""
    with open_backend(settings) as backend:
        report = steps.decide_and_promote(
            backend, evaluation, policy, dry_run=dry_run, run_id=_run_id()
        )
    get_run_logger().info("Ledger entry #%s: %s", report.entry.id, report.entry.reason)
    return report


@task(
    name="bootstrap-champion",
    cache_policy=NO_CACHE,
    retries=0,
    timeout_seconds=STEP_TIMEOUT_SECONDS,
)
def bootstrap_champion(settings: Settings, replace: bool) -> ModelVersion:
    """Train the champion and make it live."""
    with open_backend(settings) as backend:
        return steps.train_champion(backend, settings, replace=replace)


@task(
    name="score-live",
    cache_policy=NO_CACHE,
    retries=IO_RETRIES,
    retry_delay_seconds=IO_RETRY_DELAYS,
    timeout_seconds=STEP_TIMEOUT_SECONDS,
)
def score_live(settings: Settings, weeks: WeekRange | None) -> steps.ScoringResult:
    """Score with the version LIVE_VERSION names."""
    with open_backend(settings) as backend:
        return steps.score(backend, weeks=weeks)


@task(
    name="list-versions",
    cache_policy=NO_CACHE,
    retries=IO_RETRIES,
    retry_delay_seconds=IO_RETRY_DELAYS,
)
def list_versions(settings: Settings) -> tuple[list[ModelVersion], str | None]:
    """Every version and the live one, for the versions artifact."""
    with open_backend(settings) as backend:
        return backend.registry.list_versions(), backend.registry.live_version()


# -- artifacts --------------------------------------------------------------------------


def publish_metric_table(settings: Settings, evaluation: Evaluation) -> None:
    """Champion vs challenger metrics on the hold-out, as raw floats."""
    create_table_artifact(
        evaluation.metric_rows(),
        key=_artifact_key(settings, "metrics"),
        description=(
            f"Champion {evaluation.champion.name} vs challenger {evaluation.challenger.name} "
            f"on {evaluation.holdout_weeks}"
        ),
    )


def publish_decision_report(settings: Settings, report: PromotionReport) -> None:
    """The markdown decision report."""
    create_markdown_artifact(
        decision_markdown(report),
        key=_artifact_key(settings, "decision"),
        description=f"{report.entry.outcome.value}: {report.decision.verdict.value}",
    )


def publish_versions(settings: Settings) -> None:
    """A summary of the model's versions."""
    versions, live = list_versions(settings)
    create_markdown_artifact(
        versions_markdown(versions, live=live),
        key=_artifact_key(settings, "versions"),
        description=f"Versions of {settings.model_name}; live: {live}",
    )


# -- flows ------------------------------------------------------------------------------


def _weekly_run_name() -> str:
    params = flow_run.parameters
    model = params.get("model_name") or "model"
    return f"{str(model).lower()}-weekly{'-dry-run' if params.get('dry_run') else ''}"


@flow(name="champion-challenger", flow_run_name=_weekly_run_name, log_prints=True)
def champion_challenger(
    policy: str = "significance_margin",
    policy_params: dict[str, Any] | None = None,
    backend: Literal["local", "snowflake"] | None = None,
    model_name: str | None = None,
    home: str | None = None,
    windows: WindowParams | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """One weekly cycle: retrain → evaluate both on the same hold-out → decide → promote or keep.

    Args:
        policy: Name of an installed ``ccpolicy.policies`` entry point.
        policy_params: Keyword parameters for the policy.
        backend: ``local`` (embedded) or ``snowflake``; defaults to the configuration's.
        model_name: Registered model; defaults to the configuration's.
        home: Home directory of the embedded backend; defaults to ``CC_HOME``.
        windows: Window sizes in weeks.
        dry_run: Evaluate and decide without acting (the decision is still recorded).

    Returns:
        The ledger entry of the decision, as a dict.
    """
    settings = _settings(backend, model_name, home, windows)
    chosen = check_policy(policy, policy_params or {})
    first, newest = check_data(settings)
    get_run_logger().info(
        "Cycle for %s on weeks %d–%d with policy %s", settings.model_name, first, newest, policy
    )
    retrained = retrain(settings)
    evaluation = evaluate(settings, retrained.version.name)
    publish_metric_table(settings, evaluation)
    report = promote(settings, evaluation, chosen, dry_run)
    publish_decision_report(settings, report)
    publish_versions(settings)
    return report.entry.to_dict()


@flow(name="train-champion", log_prints=True)
def train_champion(
    backend: Literal["local", "snowflake"] | None = None,
    model_name: str | None = None,
    home: str | None = None,
    windows: WindowParams | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Train the first champion and make it CHAMPION, LIVE_VERSION and the default version."""
    settings = _settings(backend, model_name, home, windows)
    check_data(settings)
    version = bootstrap_champion(settings, replace)
    publish_versions(settings)
    return version.to_dict()


@flow(name="score", log_prints=True)
def score(
    backend: Literal["local", "snowflake"] | None = None,
    model_name: str | None = None,
    home: str | None = None,
    first_week: int | None = None,
    last_week: int | None = None,
) -> dict[str, Any]:
    """Batch inference with the version that LIVE_VERSION names (default: the newest week)."""
    settings = _settings(backend, model_name, home, None)
    weeks = None
    if first_week is not None:
        weeks = WeekRange(first_week, last_week if last_week is not None else first_week)
    result = score_live(settings, weeks)
    create_markdown_artifact(
        scoring_markdown(result),
        key=_artifact_key(settings, "scoring"),
        description=f"Scored by {result.version}",
    )
    return {"version": result.version, "rows": result.n_rows}


# -- rollback -----------------------------------------------------------------------------


@task(name="roll-back", cache_policy=NO_CACHE, retries=0, timeout_seconds=600)
def roll_back(
    settings: Settings, to_version: str | None, if_live: str | None, reason: str
) -> dict[str, Any]:
    """Make the previous champion (or ``to_version``) live again, as a compare-and-set."""
    # Imported here because the flow below takes the name ``rollback`` in this module.
    from flows.promotion import rollback as rollback_step

    with open_backend(settings) as backend:
        entry = rollback_step(
            backend.registry,
            to_version=to_version,
            if_live=if_live,
            reason=reason,
            run_id=_run_id(),
        )
    get_run_logger().info("Ledger entry #%s: %s", entry.id, entry.reason)
    return entry.to_dict()


@flow(name="rollback")
def rollback(
    backend: Literal["local", "snowflake"] | None = None,
    model_name: str | None = None,
    home: str | None = None,
    to_version: str | None = None,
    if_live: str | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """Make the previous champion (or ``to_version``) live again, recorded with this run.

    Args:
        backend: ``local`` (embedded) or ``snowflake``; defaults to the configuration's.
        model_name: Registered model; defaults to the configuration's.
        home: Home directory of the embedded backend; defaults to ``CC_HOME``.
        to_version: The version to make live; defaults to the champion the live one replaced.
        if_live: Roll back only if this version is still live; defaults to the one live now.
        reason: Why, recorded in the ledger.

    Returns:
        The ledger entry: ``rolled-back``, or ``stale-champion`` if another run switched first.
    """
    settings = _settings(backend, model_name, home, None)
    entry = roll_back(settings, to_version, if_live, reason)
    publish_versions(settings)
    return entry
