"""Warehouse mode and worker mode have the same effects on the ledger, the pointers and the versions.

The parity suite's scenarios (``tests/deployments/test_parity.py``: its ``SCENARIOS``,
the same plugin policies and the same comparison of entries) run here in each
``[snowflake] compute`` mode. Why here and not as one more axis of that suite: it
compares the two orchestrators (the Prefect flow on a real server, the task graph
run locally) on the embedded backend, which has no warehouse; the compute mode
exists only on the Snowflake backend, whose offline warehouse is fakesnow with the
ML registry stand-in. Crossing both (flow or graph × warehouse or worker) would run
every scenario four times with a Prefect server and fakesnow at once, for no path
the two pairs leave out: the graph's procedure runs the stages in its own process,
which is what worker mode does and what the stage procedure does inside Snowflake.
So the cycle runs here through :meth:`Cycle.run`, as both orchestrators call it.

One account per mode walks the scenarios in the same order, each from the state the
previous one left, and after each the two are compared: the entries it added, the
pointers, the versions, and the evidence the policy was given, row by row. Six scenarios share one pair of accounts (one champion
trained per mode; a cycle costs about 70 statements on fakesnow, so accounts are
not made per scenario); ``no-champion`` gets a pair without one. Left to the
orchestrators' suite: ``stale-champion``, whose policy switches the live version of
an embedded home, and ``not-a-decision``, a policy failing like ``policy-raises``
after the same stages.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from flows.backends import open_backend
from flows.cycle.stages import Cycle, CycleParameters
from flows.records import Outcome
from tests.deployments.conftest import FAST
from tests.deployments.test_parity import SCENARIOS, _assert_same_entries
from tests.snowflake.warehouse_fixtures import offline_account

pytest.importorskip("fakesnow")

WALK = ("dry-run", "keep", "inconclusive", "policy-raises", "training-fails")
"""The scenarios one pair of accounts walks, in order, before ``promote`` ends the walk."""
FAILING_SPEC = {"n_estimators": 0}
"""The parity suite's training failure: a forest of no trees cannot be fitted."""


def _settings(account, mode: str, challenger: str | None):
    """The mode's settings with the parity suite's small challenger, or its failing one."""
    settings = account.settings if mode == "warehouse" else account.worker_settings
    spec = settings.challenger_spec
    params = {**spec.params, **FAST, **(FAILING_SPEC if challenger is not None else {})}
    return replace(settings, challenger_spec=replace(spec, params=params))


def _walk(account, mode: str, names: tuple[str, ...]) -> list[tuple]:
    """Run each scenario in order in ``mode``; what each one left."""
    effects = []
    for name in names:
        scenario = SCENARIOS[name]
        settings = _settings(account, mode, scenario.challenger)
        with open_backend(settings) as backend:
            before = len(backend.registry.ledger())
            parameters = CycleParameters(**scenario.parameters)
            outcome = Cycle(backend, settings, parameters, actor="tester").run()
            entries = [entry.to_dict() for entry in backend.registry.ledger()[before:]]
            pointers = backend.registry.status().to_dict() | {"last_entry": None}
            versions = sorted(v.name for v in backend.registry.list_versions())
        evaluation = outcome.report.evaluation if outcome.report else None
        effects.append((name, entries, pointers, versions, _evidence(evaluation)))
    assert bool(account.calls) == (mode == "warehouse")
    return effects


def _evidence(evaluation) -> dict | None:
    """What the policy was given, row by row: labels and both models' scores."""
    if evaluation is None:
        return None
    return {
        "y_true": list(evaluation.y_true),
        "champion": list(evaluation.champion_scores),
        "challenger": list(evaluation.challenger_scores),
    }


def _assert_same_walk(in_warehouse: list, in_worker: list) -> None:
    for here, there in zip(in_warehouse, in_worker, strict=True):
        name, entries_w, pointers_w, versions_w, evidence_w = here
        _, entries_k, pointers_k, versions_k, evidence_k = there
        if evidence_w is None or evidence_k is None:
            assert evidence_w is evidence_k, name
        else:
            assert evidence_w["y_true"] == evidence_k["y_true"], name
            for role in ("champion", "challenger"):
                assert evidence_w[role] == pytest.approx(evidence_k[role]), name
        assert [Outcome(e["outcome"]) for e in entries_w] == list(SCENARIOS[name].outcomes), name
        _assert_same_entries(entries_w, entries_k)
        if Outcome.FAILED in SCENARIOS[name].outcomes:  # recorded with the plan, in either mode
            assert entries_w[-1]["plan"]["holdout"] == [16, 19], name
        assert pointers_w == pointers_k, name
        assert versions_w == versions_k, name


@pytest.mark.parametrize(
    ("names", "champion"),
    [((*WALK, "promote"), True), (("no-champion",), False)],
    ids=["walk", "no-champion"],
)
def test_warehouse_mode_and_worker_mode_leave_the_same_effects(
    fakesnow_warehouse, monkeypatch, tmp_path, with_broken, with_parity_plugin, names, champion
):
    walks = []
    for mode in ("warehouse", "worker"):
        schema = f"T_PARITY_{names[-1].upper().replace('-', '_')}_{mode.upper()}"
        account = offline_account(
            fakesnow_warehouse, schema, monkeypatch, tmp_path / schema, champion=champion
        )
        walks.append(_walk(account, mode, names))
    _assert_same_walk(*walks)


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
