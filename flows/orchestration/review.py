"""The Prefect ``review`` flow: one look at the live candidate, as the daily deployment runs it.

A task per step (find the candidate, take the look), a final Completed state named
after what the look did (``Continued``, ``Promoted``, ``Rejected``, ``Stale champion``,
``No look``, ``No candidate``) with its reason as the message, a markdown artifact
with the test's path (z at each look against the boundary), and the event
``champion-challenger.live.<outcome>`` about the model for automations to act on.
With no candidate under test the run completes as ``No candidate``: a daily
schedule keeps running between tests without failing.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.states import Completed, State

from flows.backends import Backend, BackendName, open_backend
from flows.config import Settings
from flows.cycle import steps
from flows.live.candidate import Candidate
from flows.live.looks_chart import review_markdown
from flows.orchestration.flow_options import (
    IO_TIMEOUT_SECONDS,
    SMALL_JSON_RESULT,
    STEP_TIMEOUT_SECONDS,
    current_run_id,
    provisional_name,
    run_settings,
)
from flows.orchestration.registry_slot import registry_slot
from flows.orchestration.retries import IO_TASK_OPTIONS
from flows.orchestration.run_story import artifact_key, model_resource, name_run
from flows.records import Outcome

REVIEW_FLOW = "review"
LIVE_EVENT_PREFIX = "champion-challenger.live."
"""Each look emits ``<prefix><outcome>``, e.g. ``champion-challenger.live.continued``."""
NO_LOOK = "No look"
NO_CANDIDATE = "No candidate"
LIVE_STATE_NAMES: dict[Outcome, str] = {
    Outcome.CONTINUED: "Continued",
    Outcome.PROMOTED: "Promoted",
    Outcome.REJECTED: "Rejected",
    Outcome.STALE_CHAMPION: "Stale champion",
}
"""Name of the Completed state a review ends in, by what its look did."""
REVIEW_STATE_NAMES = (*LIVE_STATE_NAMES.values(), NO_LOOK, NO_CANDIDATE)
"""Every name a review run can complete with (the zombie automation expects each)."""


@task(name="live-candidate", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def find_candidate(backend: Backend) -> Candidate | None:
    """The candidate under live test, if any."""
    return steps.live_candidate(backend)


@task(name="review", cache_policy=NO_CACHE, retries=0, timeout_seconds=STEP_TIMEOUT_SECONDS)
def take_look(backend: Backend, settings: Settings, dry_run: bool) -> steps.ReviewResult:
    """Judge the candidate on its matured outcomes and record the look (never retried)."""
    return steps.review(backend, settings, dry_run=dry_run, run_id=current_run_id())


@flow(name=REVIEW_FLOW, flow_run_name=lambda: provisional_name("review"), **SMALL_JSON_RESULT)
def review(
    backend: BackendName | None = None,
    model_name: str | None = None,
    home: str | None = None,
    config: str | None = None,
    dry_run: bool = False,
) -> State:
    """One look at the live candidate: continue, promote (compare-and-set) or reject.

    Args:
        backend: ``local`` (embedded) or ``snowflake``; defaults to the configuration's.
        model_name: Registered model; defaults to the configuration's.
        home: Home directory of the embedded backend; defaults to ``CC_HOME``.
        config: The TOML settings file; defaults to ``<home>/config.toml``.
        dry_run: Decide and publish the look, record nothing.

    Returns:
        A Completed state named after the look's outcome, the review as its data.
    """
    logger = get_run_logger()
    settings = run_settings(backend, model_name, home, config)
    with registry_slot(settings.model_name), open_backend(settings) as opened:
        if find_candidate(opened) is None:
            message = f"No candidate of {settings.model_name} is under live test."
            logger.info(message)
            return Completed(name=NO_CANDIDATE, message=message)
        result = take_look(opened, settings, dry_run)
    name_run(settings, data_period=result.data_period, suffix="review")
    logger.info("%s", result.reason)
    create_markdown_artifact(
        review_markdown(result, model_name=settings.model_name),
        key=artifact_key(settings.model_name, "live-test"),
        description=result.outcome.value if result.outcome else "no look",
    )
    if result.outcome is not None and not dry_run:
        emit_live_event(settings, result)
    name = LIVE_STATE_NAMES.get(result.outcome, NO_LOOK)  # type: ignore[arg-type]
    return Completed(name=name, message=result.reason, data=result.to_dict())


def emit_live_event(settings: Settings, result: steps.ReviewResult) -> None:
    """``champion-challenger.live.<outcome>`` about the model, with the look's numbers."""
    assert result.outcome is not None  # only a look is an event
    look: dict[str, Any] = result.looks[-1].to_dict() if result.looks else {}
    emit_event(
        event=f"{LIVE_EVENT_PREFIX}{result.outcome.value}",
        resource=model_resource(settings),
        payload={
            "outcome": result.outcome.value,
            "candidate_version": result.candidate.version,
            "champion_version": result.candidate.champion_version,
            "mode": result.candidate.mode,
            "rows": result.rows,
            **look,
            "reason": result.reason,
            "ledger_entry": result.entry.id if result.entry else None,
        },
    )
