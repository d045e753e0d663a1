"""The weekly cycle, switched to the Snowflake backend by configuration, against the recording session.

The same step code as on the embedded backend (``flows.cycle.steps``) generates the data,
bootstraps the champion and runs one weekly cycle; the backend is chosen by
``Settings.backend`` only. The statements it sends are pinned in golden files
(``golden/bootstrap.sql``, ``golden/weekly_cycle.sql``). The Prefect flow is then run
the same way, with its backend chosen by the configuration file.
"""

from __future__ import annotations

import pytest
from snowflake.snowpark import Session

import ccpolicy
from flows.backends import open_backend
from flows.config import Settings
from flows.cycle import stages, steps
from flows.data.quickstart import GeneratorSpec
from flows.records import Outcome
from tests.snowflake.conftest import MODEL
from tests.snowflake.golden import assert_golden

SMALL_WEEKS = GeneratorSpec(rows_per_week=40)  # local testing converts row by row


@pytest.fixture
def settings(tmp_path, snowflake_settings) -> Settings:
    return Settings(home=tmp_path / "home", backend="snowflake", snowflake=snowflake_settings)


def prepare(session, settings: Settings) -> None:
    """Twenty weeks of applications written through the Snowpark source."""
    with open_backend(settings, session=session) as backend:
        steps.generate_data(backend, SMALL_WEEKS, n_periods=20)


def test_the_weekly_cycle_runs_on_snowflake_and_sends_the_expected_sql(session, settings):
    prepare(session, settings)
    mark = len(session.statements)
    with open_backend(settings, session=session) as backend:
        champion = steps.train_champion(backend, settings, actor="tester")
    assert_golden("bootstrap", session.sql_log(since=mark))

    mark = len(session.statements)
    with open_backend(settings, session=session) as backend:
        report = stages.weekly_cycle(
            backend, settings, ccpolicy.load_policy("auc_greater"), actor="tester"
        )
    assert_golden("weekly_cycle", session.sql_log(since=mark))

    entry = report.entry
    assert entry.champion_version == champion.name
    assert entry.outcome in (Outcome.PROMOTED, Outcome.KEPT)
    pointers = session.pointers(MODEL)
    assert pointers["LIVE_VERSION"] == pointers["CHAMPION"] == pointers["default"]
    assert pointers["LIVE_VERSION"] == entry.live_after
    assert not session.closed  # the session was lent to the backend, not given


@pytest.mark.prefect_server
def test_the_prefect_flow_takes_the_snowflake_backend_from_the_configuration(
    session, settings, monkeypatch, prefect_server
):
    from flows.orchestration.pipeline import champion_challenger, train_champion

    prepare(session, settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "config.toml").write_text(
        'backend = "snowflake"\n[snowflake]\ndatabase = "CC_DB"\nschema = "CC_SCHEMA"\n'
        'compute = "worker"\n'
    )
    monkeypatch.setattr(Session, "SessionBuilder", lambda: _Lending(session))

    train_champion(home=str(settings.home))
    result = champion_challenger(policy="auc_greater", home=str(settings.home))

    assert result["outcome"] in ("promoted", "kept")
    pointers = session.pointers(MODEL)
    assert pointers["LIVE_VERSION"] == pointers["CHAMPION"] == pointers["default"]
    # each run's started row, then its end, in the one ledger table
    assert [row["OUTCOME"] for row in session.rows("PROMOTION_LEDGER")] == [
        "started",
        "bootstrapped",
        "started",
        result["outcome"],
    ]


class _Lending:
    """Stands in for ``Session.SessionBuilder``: every task's session is the recording one."""

    def __init__(self, session) -> None:
        self.session = session

    def configs(self, options: dict) -> _Lending:
        assert options["database"] == "CC_DB" and options["schema"] == "CC_SCHEMA"
        return self

    def create(self):
        self.session.closed = False  # each task opens and closes its own
        return self.session
