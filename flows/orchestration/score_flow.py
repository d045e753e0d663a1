"""The ``score`` flow: batch inference with the version that LIVE_VERSION names.

It reads the registry and writes nothing there, so it holds no registry slot and
runs beside a cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.backends import Backend, BackendName, open_backend
from flows.cycle import steps
from flows.cycle.report import live_logging_markdown, scoring_markdown
from flows.data.periods import PeriodRange
from flows.errors import ConfigError
from flows.orchestration.flow_options import (
    IO_TIMEOUT_SECONDS,
    SMALL_JSON_RESULT,
    STEP_TIMEOUT_SECONDS,
    current_run_id,
    provisional_name,
    run_settings,
)
from flows.orchestration.retries import IO_TASK_OPTIONS
from flows.orchestration.run_story import artifact_key, name_run


@task(name="newest-week", timeout_seconds=IO_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def newest_period(backend: Backend) -> int:
    """The newest period stored, scored by default (fails early on an empty table)."""
    return steps.data_span(backend)[1]


@task(name="score-live", timeout_seconds=STEP_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def score_live(backend: Backend, periods: PeriodRange) -> steps.ScoringResult:
    """Score with the version LIVE_VERSION names."""
    return steps.score(backend, periods=periods)


@task(name="score-file", timeout_seconds=STEP_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def score_file_live(backend: Backend, input_file: str, out_file: str) -> steps.FileScoringResult:
    """Stream a file through the version LIVE_VERSION names, batch by batch."""
    return steps.score_file(backend, Path(input_file), Path(out_file))


@task(name="score-to-table", timeout_seconds=STEP_TIMEOUT_SECONDS, **IO_TASK_OPTIONS)
def score_into_table(
    backend: Backend, to_table: str, source: str | None, run_id: str | None
) -> dict[str, Any]:
    """Score a table or query with the live version into a table, inside the warehouse."""
    return steps.score_to_table(backend, target=to_table, source=source, run_id=run_id)


@flow(name="score", flow_run_name=lambda: provisional_name("score"), **SMALL_JSON_RESULT)
def score(
    backend: BackendName | None = None,
    model_name: str | None = None,
    home: str | None = None,
    config: str | None = None,
    first_week: int | None = None,
    last_week: int | None = None,
    input_file: str | None = None,
    out_file: str | None = None,
    to_table: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Batch inference with the version that LIVE_VERSION names (default: the newest period).

    ``first_week`` and ``last_week`` select stored periods in the contract's unit.
    ``input_file`` (CSV or Parquet, or a folder) is scored instead of stored periods,
    streamed in row batches, into ``out_file``. ``to_table`` scores ``source`` (a table
    or query; the applications by default) in the warehouse into that table instead.
    Under a live test (``[live] mode`` on, a candidate open) file and table scoring
    log their rows in the score log: the result's ``logged`` says how many (per arm
    for a file), and so does the run's scoring artifact.
    """
    settings = run_settings(backend, model_name, home, config)
    if input_file is not None and not out_file:
        raise ConfigError("input_file needs out_file: where to write the scores.")
    with open_backend(settings) as opened:
        if to_table is not None:
            answer = score_into_table(opened, to_table, source, current_run_id())
            if answer.get("logged") is not None:
                _live_artifact(
                    settings.model_name,
                    answer["version"],
                    answer["n_rows"],
                    answer["logged"],
                    into=answer["target"],
                )
            return answer
        if input_file is not None:
            scored = score_file_live(opened, input_file, out_file)
            said = "Scored %d rows of %s with %s into %s"
            get_run_logger().info(said, scored.n_rows, input_file, scored.version, out_file)
            answer = {"version": scored.version, "rows": scored.n_rows, "out_file": out_file}
            if scored.logged is not None:
                answer["logged"] = scored.logged
                _live_artifact(
                    settings.model_name, scored.version, scored.n_rows, scored.logged, into=out_file
                )
            return answer
        newest = newest_period(opened)
        name_run(settings, data_period=newest, suffix="score")
        periods = PeriodRange(newest, newest)
        if first_week is not None:
            periods = PeriodRange(first_week, last_week if last_week is not None else first_week)
        result = score_live(opened, periods)
    get_run_logger().info("Scored %d rows with live version %s", result.n_rows, result.version)
    create_markdown_artifact(
        scoring_markdown(result),
        key=artifact_key(settings.model_name, "scoring"),
        description=f"Scored by {result.version}",
    )
    return {"version": result.version, "rows": result.n_rows}


def _live_artifact(
    model_name: str, version: str, rows: int, logged: dict[str, int] | int, *, into: str
) -> None:
    """The scoring run's report under a live test: the rows that went to the score log."""
    create_markdown_artifact(
        live_logging_markdown(version, rows, logged, into=into),
        key=artifact_key(model_name, "scoring"),
        description=f"Scored by {version} under a live test",
    )
