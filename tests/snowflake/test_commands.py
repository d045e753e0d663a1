"""``ccflows snowflake setup`` and ``repair``, and reads of old tables, through the real CLI.

The session is the recording stand-in; everything above it (the commands, the
settings, the backend) is the real code.
"""

from __future__ import annotations

import pytest

from flows.cli import main
from tests.snowflake.conftest import BEFORE, MODEL, NEW, OLD, QUALIFIED
from tests.snowflake.previous_release import create_previous_tables


@pytest.fixture
def home(tmp_path, monkeypatch, session):
    """A home whose config names the stand-in's schema; the backend borrows the stand-in."""
    from flows.backends.snowflake import backend as opener
    from flows.backends.snowflake import session as snowflake_session

    for name in ("CC_HOME", "CC_CONFIG", "CC_BACKEND", "CC_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(
        opener,
        "open_session",
        lambda settings, **_: snowflake_session.borrow_session(session, settings),
    )
    (tmp_path / "config.toml").write_text(
        'backend = "snowflake"\n[snowflake]\ndatabase = "CC_DB"\nschema = "CC_SCHEMA"\n'
        'compute = "worker"\n'
    )
    return tmp_path


def _sql(session):
    return lambda query, params=None: session.sql(query, params).collect()


def test_setup_upgrades_the_previous_releases_tables_and_says_so(session, home, capsys):
    create_previous_tables(_sql(session), "CC_DB.CC_SCHEMA")
    assert main(["snowflake", "setup", "--home", str(home)]) == 0
    shown = capsys.readouterr().out
    assert "upgraded CC_DB.CC_SCHEMA.PROMOTION_LEDGER: added columns STATE, SWITCH" in shown
    assert "upgraded CC_DB.CC_SCHEMA.PROMOTION_LOCK" in shown
    assert {"STATE", "SWITCH"} <= set(session.rows("PROMOTION_LEDGER")[0])
    assert main(["snowflake", "setup", "--home", str(home)]) == 0
    assert "CC_DB.CC_SCHEMA.PROMOTION_LEDGER unchanged" in capsys.readouterr().out


def test_history_on_an_old_ledger_is_one_line_naming_setup(session, contest, home, capsys):
    for table in ("PROMOTION_LEDGER", "PROMOTION_LOCK"):  # as the previous release left them
        session.tables.db.execute(f"DROP TABLE {table}")
    create_previous_tables(_sql(session), "CC_DB.CC_SCHEMA")
    assert main(["history", "--home", str(home)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "run `ccflows snowflake setup`" in err


def test_repair_shows_its_plan_then_acts_only_with_yes(session, contest, home, capsys):
    session.sql(f"ALTER MODEL {QUALIFIED} SET DEFAULT_VERSION = {NEW}").collect()  # stray
    mark = len(session.statements)
    assert main(["snowflake", "repair", "--home", str(home)]) == 0
    shown = capsys.readouterr().out
    assert f"ALTER MODEL {QUALIFIED} SET DEFAULT_VERSION = {OLD};" in shown
    assert "run again with --yes" in shown
    assert not any(s.startswith("ALTER") for s in session.sql_log(since=mark))
    assert main(["snowflake", "repair", "--home", str(home), "--yes"]) == 0
    assert session.pointers(MODEL) == BEFORE
    capsys.readouterr()
    assert main(["snowflake", "repair", "--home", str(home)]) == 0
    assert "nothing to repair" in capsys.readouterr().out
