"""A Snowflake account offline for the warehouse-mode tests: fakesnow, the ML stand-in, the procedure.

:func:`offline_account` gives a worker session (metered, its CALLs of the stage
procedure answered in-process by the handler on a second, procedure session) and
settings on a fresh schema, with data and a live champion trained in-process.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from flows.backends import open_backend
from flows.backends.snowflake import _ml as snowflake_ml
from flows.backends.snowflake import backend as snowflake_backend
from flows.backends.snowflake import registry as snowflake_registry
from flows.backends.snowflake.session import borrow_session
from flows.config import WORKER_COMPUTE, Settings, SnowflakeSettings
from flows.cycle import steps
from flows.data.quickstart import GeneratorSpec
from tests.snowflake.conftest import FAKESNOW_DATABASE
from tests.snowflake.ml_stand_in import MLStandIn
from tests.snowflake.stage_calls import route_stage_calls
from tests.snowflake.traffic import Traffic, watch


@dataclass
class OfflineAccount:
    """One test's account: its sessions, its registry stand-in, and the settings in each mode."""

    worker: Any
    procedure: Any
    ml: MLStandIn
    settings: Settings
    """Warehouse mode (the default): the heavy stages call the stage procedure."""
    calls: list[tuple[str, str]]
    """``(stage, request)`` of each CALL of the stage procedure, in order."""

    @property
    def worker_settings(self) -> Settings:
        """The same account in worker mode: the heavy stages run in the worker's process."""
        return replace(
            self.settings, snowflake=replace(self.settings.snowflake, compute=WORKER_COMPUTE)
        )

    @property
    def traffic(self) -> Traffic:
        """What crossed between the warehouse and the worker."""
        return watch(self.worker)


def offline_account(
    fakesnow_warehouse: Any,
    schema: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    *,
    rows_per_week: int = 30,
    weeks: int = 20,
    champion: bool = True,
) -> OfflineAccount:
    """Data of ``weeks`` weeks and (unless ``champion`` is false) a live champion, on a schema of its own."""
    worker = fakesnow_warehouse.session(FAKESNOW_DATABASE, schema)
    procedure = fakesnow_warehouse.session(FAKESNOW_DATABASE, schema)
    ml = MLStandIn()
    monkeypatch.setattr(snowflake_registry, "open_ml_registry", ml.open)
    monkeypatch.setattr(snowflake_ml, "open_ml_registry", ml.open)
    monkeypatch.setattr(
        snowflake_backend,
        "open_session",
        lambda settings, parameters=None: borrow_session(worker, settings),
    )
    settings = Settings(
        home=tmp_path / "home",
        backend="snowflake",
        snowflake=SnowflakeSettings(database=FAKESNOW_DATABASE, schema=schema),
    )
    account = OfflineAccount(worker, procedure, ml, settings, route_stage_calls(worker, procedure))
    with open_backend(account.settings, session=procedure) as backend:
        steps.generate_data(backend, GeneratorSpec(rows_per_week=rows_per_week), n_periods=weeks)
        if champion:
            steps.train_champion(backend, account.settings, actor="tester")
    account.traffic.transfers.clear()
    return account
