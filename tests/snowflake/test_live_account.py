"""The Snowflake backend against a real account: run only when a connection is named.

Set ``CC_SNOWFLAKE_TEST_CONNECTION`` to an entry of connections.toml and
``CC_SNOWFLAKE_TEST_DATABASE`` to a database in which that role may create schemas.
The tests create a throwaway schema, run there, and drop it. Everything they check
is also checked offline against the recording session; here the same code meets the
real server (its SQL dialect, the model packaging and warehouse inference).
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from flows.backends.snowflake.registry import SnowflakeRegistry
from flows.backends.snowflake.session import open_session
from flows.backends.snowflake.source import SnowparkSource
from flows.config import SnowflakeSettings
from flows.data.contract import DEFAULT_CONTRACT
from flows.data.periods import PeriodRange
from flows.data.quickstart import GeneratorSpec, generate_applications, row_hashes
from flows.names import CHAMPION, FEATURE_COLUMNS
from flows.records import Outcome
from tests.registry.contract import TINY_SPEC, decision, record

CONNECTION = os.environ.get("CC_SNOWFLAKE_TEST_CONNECTION")
DATABASE = os.environ.get("CC_SNOWFLAKE_TEST_DATABASE")

pytestmark = pytest.mark.skipif(
    not (CONNECTION and DATABASE),
    reason=(
        "no Snowflake account: set CC_SNOWFLAKE_TEST_CONNECTION (a connections.toml entry) and "
        "CC_SNOWFLAKE_TEST_DATABASE (a database where the role may create schemas) to run these"
    ),
)


@pytest.fixture(scope="module")
def live():
    """A session and settings on a fresh schema, dropped afterwards."""
    schema = f"CC_TEST_{uuid.uuid4().hex[:10].upper()}"
    settings = SnowflakeSettings(connection_name=CONNECTION, database=DATABASE, schema=schema)
    with open_session(SnowflakeSettings(connection_name=CONNECTION, database=DATABASE)) as opened:
        opened.session.sql(f"CREATE SCHEMA {DATABASE}.{schema}").collect()
        try:
            with open_session(settings) as scoped:
                yield scoped.session, settings
        finally:
            opened.session.sql(f"DROP SCHEMA IF EXISTS {DATABASE}.{schema}").collect()


@pytest.fixture(scope="module")
def data():
    return DEFAULT_CONTRACT.validate(generate_applications(4, GeneratorSpec(rows_per_week=100)))


def test_the_source_round_trips_the_weeks_with_the_filter_in_snowflake(live, data):
    session, settings = live
    source = SnowparkSource(session, settings)
    assert source.write(data, replace=True) == len(data)
    assert source.period_span() == (0, 3)
    got = source.read_periods(PeriodRange(1, 2))
    expected = data[data["week_number"].between(1, 2)].reset_index(drop=True)
    np.testing.assert_allclose(got["credit_score"], expected["credit_score"])
    assert source.write_evaluation_data(holdout_periods=2) == 200


def test_versions_promotion_inference_and_ledger_on_the_real_registry(live, data):
    session, settings = live
    registry = SnowflakeRegistry(session, settings, model_name="CC_LIVE_TEST")
    model = TINY_SPEC.build().fit(data[list(FEATURE_COLUMNS)], data["approved"])
    for name in ("V_ONE", "V_TWO"):
        registry.log_version(
            model,
            record(name, registry.model_name),
            sample_input=data.head(5),
            train_row_hashes=row_hashes(data),
        )
    registry.promote_if_champion_is(None, "V_ONE", decision(Outcome.BOOTSTRAPPED))
    registry.set_challenger("V_TWO")
    entry = registry.promote_if_champion_is("V_ONE", "V_TWO", decision(), evidence=b"npz")
    assert entry.outcome is Outcome.PROMOTED
    status = registry.status()
    assert status.consistent and status.live_version == "V_TWO"
    assert registry.version_by_alias(CHAMPION) == "V_TWO"
    np.testing.assert_allclose(
        registry.predict_proba("V_TWO", data.head(50)),
        model.predict_proba(data.head(50)[list(FEATURE_COLUMNS)])[:, 1],
        rtol=1e-6,
    )
    assert registry.ledger_evidence(entry.id) == b"npz"
    assert registry.train_row_hashes("V_ONE") is not None
