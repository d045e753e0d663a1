"""A contestant: a spec trained on a cycle's windows and logged as a model version.

Version names are deterministic (same spec, same training rows, same contract), so
a contestant that was already logged, by an earlier run or a concurrent one, is
reused instead of trained again.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from flows.cycle.training import TrainedModel, train_model, version_name
from flows.errors import DataValidationError, VersionExistsError
from flows.records import ModelVersion

if TYPE_CHECKING:
    from flows.backends import Backend
    from flows.backends.registry import Registry
    from flows.config import Settings
    from flows.data.periods import Windows
    from flows.data.plan import CyclePlan
    from flows.data.specs import ModelSpec

logger = logging.getLogger(__name__)

WEAK_CHAMPION_AUC = 0.55
"""A first champion whose test AUC is not above this is no better than chance (0.5) by
more than a small test window's noise; it is made live only when asked explicitly."""


def train_and_log(
    backend: Backend, spec: ModelSpec, windows: Windows, *, role: str, log: bool = True
) -> tuple[ModelVersion, bool, TrainedModel | None]:
    """Train ``spec`` and log it, or reuse the identical version; ``log=False`` returns it unlogged."""
    from flows.data.quickstart import (  # numpy: not for `ccflows status`
        hashes_fingerprint,
        row_hashes,
    )

    registry = backend.registry
    train = backend.source.read_periods(windows.train, input_name=f"{role} training window")
    hashes = row_hashes(train)
    contract = backend.source.contract.resolved(train)
    name = version_name(role, spec, windows.train, hashes_fingerprint(hashes), contract=contract)
    if any(v.name == name for v in registry.list_versions()):
        return reuse(registry, name), True, None
    test = backend.source.read_periods(windows.test, input_name=f"{role} test window")
    trained = train_model(
        spec,
        train,
        test,
        train_periods=windows.train,
        test_periods=windows.test,
        contract=backend.source.contract,
        train_row_hashes=hashes,
    )
    record = version_record(trained, name, role, registry.model_name)
    if not log:
        return record, False, trained
    # a store that fingerprints its windows in place checks leakage there: no row hashes kept
    window = backend.source.window_fingerprint(windows.train)
    record = replace(record, train_window_fingerprint=window or "")
    sample_input = trained.contract.model_input(train.head(10), input_name=f"{role} sample")
    del train, test  # free the windows before the model is pickled next to itself
    try:
        version = registry.log_version(
            trained.model,
            record,
            sample_input=sample_input,
            train_row_hashes=None if window else trained.train_row_hashes,
        )
    except VersionExistsError:  # a concurrent run logged the identical version first
        return reuse(registry, name), True, None
    return version, False, None


def reuse(registry: Registry, name: str) -> ModelVersion:
    """The identical version already logged (same spec, same training rows)."""
    logger.info("Reusing version %s: same spec and same training rows", name)
    return registry.get_version(name)


def version_record(trained: TrainedModel, name: str, role: str, model_name: str) -> ModelVersion:
    """The registry record of a freshly trained model."""
    return ModelVersion(
        model_name=model_name,
        name=name,
        created_at="",
        comment=f"{role} trained on {trained.train_periods}, tested on {trained.test_periods}",
        metrics={
            "test_auc": trained.test_auc,
            "training_samples": trained.row_count,
            "model_type": trained.spec.model_type,
        },
        train_weeks=(trained.train_periods.start, trained.train_periods.end),
        test_weeks=(trained.test_periods.start, trained.test_periods.end),
        row_count=trained.row_count,
        train_fingerprint=trained.train_fingerprint,
        spec=trained.spec.to_dict(),
        contract=trained.contract.to_dict(),
    )


def train_champion_version(
    backend: Backend, settings: Settings, plan: CyclePlan, *, allow_weak: bool
) -> ModelVersion:
    """Train (or reuse) the champion's version on the bootstrap plan, and weigh it.

    Raises:
        DataValidationError: from :func:`refuse_weak_champion` (the version stays logged).
    """
    version, _, _ = train_and_log(backend, settings.champion_spec, plan.windows, role="champion")
    refuse_weak_champion(version, allow_weak=allow_weak)
    return version


def refuse_weak_champion(version: ModelVersion, *, allow_weak: bool) -> None:
    """Refuse to make live a champion no better than chance, unless ``allow_weak``.

    Such a model (broken features, a label unrelated to them, numbers that overflowed)
    would score every row alike; a first champion has no incumbent to be judged against,
    so this check stands in for the comparison a challenger faces.

    Raises:
        DataValidationError: naming the version, its test AUC, its test window and the threshold.
    """
    from flows.data.periods import Calendar

    auc = float(version.metrics.get("test_auc", float("nan")))
    if allow_weak or auc > WEAK_CHAMPION_AUC:
        return
    tested = Calendar(version.data_contract.period).range(*version.test_weeks)
    raise DataValidationError(
        f"Champion {version.name} has test AUC {auc:.4f} on {tested}, "
        f"not above {WEAK_CHAMPION_AUC} (chance is 0.5); it is "
        "logged but not made live. Check that the features carry signal for the label, or "
        "pass --allow-weak-champion to make it live anyway.",
        expected=f"test AUC > {WEAK_CHAMPION_AUC}",
        got=auc,
    )
