"""The trend report: read from a real ledger, drawn with matplotlib, one self-contained HTML file."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ccpolicy
from flows.backends import open_backend
from flows.backends.local.registry import LocalRegistry
from flows.cli import main
from flows.config import Settings
from flows.cycle import stages, steps
from flows.cycle.trend import read_trend, trend_rows
from flows.cycle.trend_render import publish_trend, trend_html, trend_markdown, trend_table
from flows.data.periods import PeriodRange
from flows.data.quickstart import GeneratorSpec
from flows.records import Outcome
from tests.flows.cycles import AlwaysPromote, fast_settings


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home whose ledger holds: bootstrap, a decision, a promotion, a rollback, a decision."""
    settings = fast_settings(tmp_path_factory.mktemp("trend") / "home")
    policy = ccpolicy.load_policy("significance_margin")
    with open_backend(settings) as backend:
        steps.generate_data(backend, GeneratorSpec())
        steps.train_champion(backend, settings, actor="tester")
        stages.weekly_cycle(backend, settings, policy, actor="tester")
        steps.generate_data(backend, GeneratorSpec(), append_weeks=1)
        stages.weekly_cycle(backend, settings, AlwaysPromote(), actor="tester")
        steps.rollback(backend, reason="trend test", actor="tester")
        steps.generate_data(backend, GeneratorSpec(), append_weeks=1)
        stages.weekly_cycle(backend, settings, policy, actor="tester")
    return settings


@pytest.fixture
def registry(history: Settings):
    with open_backend(history) as backend:
        yield backend.registry


class TestReadTrend:
    def test_every_entry_is_a_point_with_the_ledgers_aucs(self, registry) -> None:
        trend = read_trend(registry)
        entries = registry.ledger()
        assert [p.outcome for p in trend.points] == [e.outcome for e in entries]
        assert [p.outcome for p in trend.points][::2] == [
            Outcome.BOOTSTRAPPED, Outcome.PROMOTED, entries[4].outcome
        ]  # fmt: skip
        for point, entry in zip(trend.points, entries, strict=True):
            if entry.metrics:
                assert point.champion_auc == entry.metrics["champion"]["roc_auc"]
                assert point.challenger_auc == entry.metrics["challenger"]["roc_auc"]
            else:
                assert not point.evaluated
        assert trend.points[1].min_detectable_gain == entries[1].details["min_detectable_gain"]
        assert len(trend.points[0].recorded_at) == 19  # to the second

    def test_live_periods_follow_promotion_and_rollback(self, registry) -> None:
        trend = read_trend(registry)
        entries = registry.ledger()
        champion, promoted = entries[0].live_after, entries[2].live_after
        assert [(p.version, p.start.entry_id, p.end and p.end.entry_id) for p in trend.live_periods] == [
            (champion, entries[0].id, entries[2].id),
            (promoted, entries[2].id, entries[3].id),
            (champion, entries[3].id, None),
        ]  # fmt: skip
        assert trend.live_now == registry.live_version() == champion

    def test_the_latest_curves_come_from_the_newest_stored_evidence(self, registry) -> None:
        latest = read_trend(registry).latest
        entry = registry.ledger()[-1]
        assert latest is not None and latest.point.entry_id == entry.id
        assert (
            (latest.n_rows, latest.holdout) == (1600, entry.holdout) == (1600, PeriodRange(18, 21))
        )
        assert latest.champion.auc == pytest.approx(entry.metrics["champion"]["roc_auc"])
        assert latest.challenger.version == entry.challenger_version
        for curve in (latest.champion, latest.challenger):
            assert (curve.fpr[0], curve.tpr[0], curve.fpr[-1], curve.tpr[-1]) == (0, 0, 1, 1)

    def test_table_rows_round_to_4_decimals(self, registry) -> None:
        rows = trend_rows(read_trend(registry))
        raw = registry.ledger()[1].metrics["champion"]["roc_auc"]
        assert rows[1]["champion AUC"] == round(raw, 4) and rows[0]["champion AUC"] is None

    def test_a_tiny_p_value_is_never_shown_as_zero(self, registry) -> None:
        from dataclasses import replace

        trend = read_trend(registry, curves=False)
        point = next(p for p in trend.points if p.evaluated)
        tiny = replace(trend, points=[replace(point, p_value=1.4321e-12)])
        assert trend_rows(tiny)[0]["p-value"] == 1.4e-12  # the report's table and the artifact's


class TestHtml:
    def test_is_one_self_contained_page_with_both_figures(self, registry) -> None:
        page = trend_html(read_trend(registry))
        assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
        assert page.count("<svg") == 2
        assert "<script" not in page and "<img" not in page and "<link" not in page
        assert not re.search(r"""(src|href)=["']https?:|url\(https?:|@import""", page)
        for entry in registry.ledger():
            assert entry.outcome.value in page and f'<td class="num">{entry.id}</td>' in page
        assert "Which version was live when" in page and "Latest cycle: ROC curves" in page

    def test_an_empty_ledger_says_so(self, tmp_path: Path) -> None:
        page = trend_html(read_trend(LocalRegistry(tmp_path, "EMPTY_MODEL")))
        assert "No decision is recorded yet" in page and "<svg" not in page

    def test_ccflows_report_writes_the_page(self, history: Settings, tmp_path, capsys) -> None:
        home = tmp_path / "home"
        shutil.copytree(history.home, home)
        out = tmp_path / "report.html"
        assert main(["report", "--home", str(home), "--out", str(out)]) == 0
        assert out.read_text(encoding="utf-8").count("<svg") == 2
        assert f"Wrote {out}: 5 ledger entries of CREDIT_APPROVAL" in capsys.readouterr().out

    def test_an_unwritable_out_is_one_line(self, history: Settings, tmp_path, capsys) -> None:
        home = tmp_path / "home"
        shutil.copytree(history.home, home)
        out = tmp_path / "missing-folder" / "report.html"
        assert main(["report", "--home", str(home), "--out", str(out)]) == 2
        assert f"Cannot write the report to {out}" in capsys.readouterr().err


def test_the_markdown_draws_the_aucs_without_an_image_and_lists_who_was_live(registry) -> None:
    trend = read_trend(registry, curves=False)
    text = trend_markdown(trend)
    assert "data:image" not in text and trend.latest is None
    champion_line = next(line for line in text.splitlines() if line.startswith("| champion |"))
    marks = re.search(r"`(.+?)`", champion_line).group(1)
    assert len(marks) == len(trend.points)
    assert [m == "·" for m in marks] == [not p.evaluated for p in trend.points]
    assert set(marks) - {"·"} <= set("▁▂▃▄▅▆▇█")
    outcome_line = next(line for line in text.splitlines() if line.startswith("| outcome |"))
    assert re.search(r"`B[IK]PR[IK]`", outcome_line)
    assert f"| v1 | `{trend.live_periods[0].version}` |" in text
    assert f"`{registry.live_version()}` |" in text


def test_the_table_artifact_is_narrow_enough_to_read_without_scrolling(registry) -> None:
    trend = read_trend(registry, curves=False)
    rows = trend_table(trend)
    assert list(rows[0])[-1] == "live after"
    assert [row["live after"] for row in rows][:3] == ["v1", "v1", "v2"]
    widest = max(len(str(value)) for row in rows for value in row.values())
    assert widest <= 16  # the longest values are the times, to the minute


def test_a_weekly_runs_trend_needs_no_matplotlib(history) -> None:
    code = (
        "import sys; from flows.backends import open_backend; from flows.config import Settings;"
        "from flows.cycle.trend import read_trend;"
        "from flows.cycle.trend_render import trend_markdown, trend_table;"
        f"backend = open_backend(Settings(home={str(history.home)!r})).__enter__();"
        "trend = read_trend(backend.registry, curves=False); trend_markdown(trend);"
        "trend_table(trend); print('matplotlib' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.prefect_server
def test_publish_trend_creates_both_artifacts_on_a_real_server(prefect_server, registry, history):
    from prefect import flow
    from prefect.artifacts import Artifact

    @flow(name="publish-trend-test")
    def publish() -> None:
        publish_trend(history, read_trend(registry))

    publish()
    table = json.loads(Artifact.get("credit-approval-trend-table").data)
    assert [row["outcome"] for row in table] == [e.outcome.value for e in registry.ledger()]
    chart = Artifact.get("credit-approval-trend").data
    assert "| champion |" in chart and registry.live_version() in chart


def test_the_cli_imports_matplotlib_only_when_drawing() -> None:
    code = (
        "import sys; from flows.cli import build_parser; build_parser().parse_args(['report']);"
        "import flows.cli.report_cmds, flows.cycle.trend_render;"
        "print(','.join(m for m in ('matplotlib', 'prefect', 'sklearn') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_every_recorded_outcome_has_a_letter_in_the_trend_markdown():
    from flows.cycle.trend_render import _LETTERS
    from flows.records import Outcome

    assert set(Outcome) - set(_LETTERS) == {Outcome.IN_FLIGHT}  # read, never recorded
