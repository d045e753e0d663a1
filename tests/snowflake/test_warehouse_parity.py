"""Warehouse mode and worker mode have the same effects on the ledger, the pointers and the versions.

Two accounts (schemas) start from the same data and the same champion; one runs the
weekly cycle in the warehouse (the stage procedure, in-process), the other in the
worker. What they leave is compared as the orchestrators' parity suite compares the
flow and the task graph (``tests/deployments/test_parity.py``).
"""

from __future__ import annotations

import pytest

import ccpolicy
from flows.backends import open_backend
from flows.cycle import stages
from flows.records import Outcome
from tests.deployments.test_parity import _assert_same_entries
from tests.snowflake.warehouse_fixtures import offline_account

pytest.importorskip("fakesnow")


def _effects(account, settings) -> tuple[list[dict], dict, list[str]]:
    with open_backend(settings) as backend:
        entries = [entry.to_dict() for entry in backend.registry.ledger()]
        pointers = backend.registry.status().to_dict() | {"last_entry": None}
        versions = sorted(v.name for v in backend.registry.list_versions())
    return entries, pointers, versions


@pytest.mark.parametrize(
    ("policy", "dry_run", "outcomes"),
    [
        ("auc_greater", False, {Outcome.PROMOTED, Outcome.KEPT}),
        ("auc_greater", True, {Outcome.DRY_RUN}),
    ],
)
def test_warehouse_mode_and_worker_mode_leave_the_same_effects(
    fakesnow_warehouse, monkeypatch, tmp_path, policy, dry_run, outcomes
):
    suffix = "DRY" if dry_run else "ACT"
    results = []
    for mode in ("warehouse", "worker"):
        schema = f"T_PARITY_{suffix}_{mode.upper()}"
        account = offline_account(fakesnow_warehouse, schema, monkeypatch, tmp_path / schema)
        settings = account.settings if mode == "warehouse" else account.worker_settings
        with open_backend(settings) as backend:
            stages.weekly_cycle(
                backend, settings, ccpolicy.load_policy(policy), dry_run=dry_run, actor="tester"
            )
        assert bool(account.calls) == (mode == "warehouse")
        results.append(_effects(account, settings))
    (in_warehouse, pointers_w, versions_w), (in_worker, pointers_k, versions_k) = results
    assert Outcome(in_warehouse[-1]["outcome"]) in outcomes
    _assert_same_entries(in_warehouse, in_worker)
    assert pointers_w == pointers_k
    assert versions_w == versions_k


@pytest.mark.prefect_server
def test_warehouse_mode_from_the_prefect_flows_calls_the_procedure(
    fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path, prefect_server
):
    from flows.orchestration.pipeline import champion_challenger
    from flows.orchestration.score_flow import score

    account = offline_account(fakesnow_warehouse, fakesnow_schema, monkeypatch, tmp_path)
    home = account.settings.home
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'backend = "snowflake"\n[snowflake]\ndatabase = "CC_DB"\nschema = "{fakesnow_schema}"\n'
    )
    with account.traffic.window() as seen:
        result = champion_challenger(policy="auc_greater", home=str(home))
    assert result["outcome"] in ("promoted", "kept")
    assert [stage for stage, _ in account.calls] == ["version", "retrain", "evaluate"]
    assert max(t.rows for t in seen.downloads()) == 4 * 30  # the hold-out's evidence, no window

    scored = score(home=str(home), to_table="SCORED")
    assert scored["n_rows"] == account.procedure.table("SCORED").count() == 20 * 30
    assert account.calls[-1][0] == "score"
