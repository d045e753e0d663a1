"""What the worker sends in warehouse mode, pinned, and that no SQL value grows with the data.

``golden/warehouse_cycle.sql`` holds the statements of one weekly cycle from the
worker's session: procedure calls, pointer reads, the evidence read, the decision.
No statement downloads a training window. Then every statement of both sessions
(worker and procedure) is measured at two data sizes: the largest bound value and
the longest statement stay the same size when the rows triple, the leakage check
included (it fingerprints and matches the training window in SQL).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import ccpolicy
from flows.backends import open_backend
from flows.backends.snowflake.evidence import EVIDENCE_TABLE
from flows.cycle import stages, steps
from tests.snowflake.golden import assert_golden
from tests.snowflake.warehouse_fixtures import offline_account

pytest.importorskip("fakesnow")


def _cycle(account) -> Any:
    with open_backend(account.settings) as backend:
        return stages.weekly_cycle(
            backend, account.settings, ccpolicy.load_policy("auc_greater"), actor="tester"
        )


def test_warehouse_cycle_sends_the_expected_sql_and_downloads_no_window(
    fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path
):
    account = offline_account(fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path)
    with account.traffic.window() as seen:
        report = _cycle(account)
    statements = [re.sub(rf"\b{fakesnow_schema}\b", "<SCHEMA>", s) for s in seen.statements]
    assert_golden("warehouse_cycle", statements)
    assert sum("CHAMPION_CHALLENGER_STAGE" in s for s in statements) == 3
    for transfer in seen.downloads():
        if EVIDENCE_TABLE not in transfer.statement:
            assert transfer.rows < report.evaluation.n_rows, transfer.statement


class _Sizes:
    """The largest bound value and the longest statement a session sent."""

    def __init__(self, *sessions: Any) -> None:
        self.value = self.statement = 0
        for session in sessions:
            self._measure(session)

    def _measure(self, session: Any) -> None:
        sql = session.sql

        def measured(query: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
            self.statement = max(self.statement, len(query))
            self.value = max([self.value, *(len(str(p)) for p in params or ())])
            return sql(query, params, *args, **kwargs)

        session.sql = measured


def _sizes(fakesnow_warehouse, monkeypatch, tmp_path, rows_per_week: int) -> _Sizes:
    schema = f"T_SIZE_{rows_per_week}"
    account = offline_account(
        fakesnow_warehouse, schema, monkeypatch, tmp_path / schema, rows_per_week=rows_per_week
    )
    sizes = _Sizes(account.worker, account.procedure)
    _cycle(account)
    return sizes


def test_warehouse_cycle_sends_no_sql_value_that_grows_with_the_rows(
    fakesnow_warehouse, monkeypatch, tmp_path
):
    from flows.backends.snowflake import _parts

    monkeypatch.setattr(_parts, "PART_CHARS", 1000)  # blobs go in parts of this size at most
    small = _sizes(fakesnow_warehouse, monkeypatch, tmp_path, rows_per_week=20)
    large = _sizes(fakesnow_warehouse, monkeypatch, tmp_path, rows_per_week=60)
    assert large.value <= small.value + 64  # names and numbers may gain a digit, no more
    assert large.statement <= small.statement + 64


def test_warehouse_ledger_and_evidence_are_stored_in_parts_and_no_row_hash_at_all(
    fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path
):
    from flows.backends.snowflake import _parts
    from flows.backends.snowflake._versions import TRAIN_ROWS_TABLE

    monkeypatch.setattr(_parts, "PART_CHARS", 500)
    account = offline_account(fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path)
    report = _cycle(account)
    with open_backend(account.settings) as backend:
        (replayed,) = steps.replay(backend, ccpolicy.load_policy("auc_greater"))
        versions = backend.registry.list_versions()
    assert replayed[0].id == report.entry.id
    assert replayed[1].verdict == report.decision.verdict
    assert all(len(v.train_window_fingerprint) == 16 for v in versions)  # its window, in SQL
    hashes = account.procedure.sql(f"SELECT COUNT(*) FROM {TRAIN_ROWS_TABLE}").collect()
    assert hashes[0][0] == 0  # not one training row's hash is stored, whatever the rows
    parts = account.procedure.sql("SELECT COUNT(*) FROM PROMOTION_LEDGER_EVIDENCE").collect()
    assert parts[0][0] > 1
