"""Training a :class:`~flows.data.specs.ModelSpec` on a window and testing it on the next.

Training records what the registry needs to make a version reproducible and
auditable: the training periods, the row count, the test-window AUC, a fingerprint
of the exact training rows and the data contract the model reads.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flows.data.contract import DEFAULT_CONTRACT, DataContract
from flows.data.specs import ModelSpec, parallel_by_default
from flows.errors import EmptyWindowError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from flows.data.periods import PeriodRange

logger = logging.getLogger(__name__)

TEST_METRIC = "roc_auc"
"""The metric of ``ccpolicy.stats.METRICS`` measured on a model's own test window."""
MIN_TRAINING_ROWS = 50
"""Fewer rows than this cannot train a useful classifier; refuse rather than guess."""


def _score_in_one_thread(model: Any, spec: ModelSpec) -> None:
    """Make a forest fitted on all cores score on one thread.

    A forest scoring on several threads adds its trees' votes in whatever order the
    threads finish, so the same rows get scores that differ in the last bits from one
    run to the next. Scoring on one thread makes scores, metrics and decisions
    reproducible, wherever the version is loaded; ``flows.cycle.prediction`` still uses every
    core, by splitting the rows.
    """
    if spec.factory or "n_jobs" in spec.params:
        return  # the user's own choice of threads
    classifier = model.steps[-1][1]
    if parallel_by_default(classifier):
        classifier.set_params(n_jobs=None)


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model and the facts the registry records about it."""

    model: Any
    spec: ModelSpec
    train_periods: PeriodRange
    test_periods: PeriodRange
    row_count: int
    test_auc: float
    train_fingerprint: str
    train_row_hashes: np.ndarray
    contract: DataContract = DEFAULT_CONTRACT
    """The data contract, resolved for the training rows: exactly the features it reads."""


def version_name(
    role: str,
    spec: ModelSpec,
    train_periods: PeriodRange,
    train_fingerprint: str,
    *,
    contract: DataContract = DEFAULT_CONTRACT,
) -> str:
    """A readable name that is the same for the same spec, contract and training rows.

    Re-running a cycle on unchanged data and specs therefore yields the same name,
    which lets the registry reuse the version instead of piling up twins, and lets
    the cycle skip training altogether. ``contract`` is the resolved one (exactly the
    features read); the quickstart's default leaves the name as it was before
    contracts existed.
    """
    key = f"{spec.digest()}:{train_fingerprint}"
    if contract != DEFAULT_CONTRACT:
        key += f":{contract.digest()}"
    identity = hashlib.sha256(key.encode()).hexdigest()
    unit = train_periods.calendar.unit[0].upper()  # W, D or M: CHAMPION_W000_009_…
    return f"{role.upper()}_{unit}{train_periods.start:03d}_{train_periods.end:03d}_{identity[:8].upper()}"


def train_model(
    spec: ModelSpec,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    train_periods: PeriodRange,
    test_periods: PeriodRange,
    contract: DataContract = DEFAULT_CONTRACT,
    train_row_hashes: np.ndarray | None = None,
) -> TrainedModel:
    """Fit ``spec`` on ``train`` and measure its ROC AUC on ``test``.

    Args:
        train: Canonical frame (``contract.validate``) of the training window.
        test: Canonical frame of the test window.
        contract: The contract both frames follow; its label is the target.
        train_row_hashes: ``row_hashes(train)`` if the caller already has them.

    Raises:
        EmptyWindowError: if a window is too small or holds a single class.
    """
    from ccpolicy.stats import metric_value
    from flows.cycle.prediction import positive_scores
    from flows.data.quickstart import hashes_fingerprint, row_hashes

    _check_trainable(train, "train", train_periods, contract, minimum=MIN_TRAINING_ROWS)
    _check_trainable(test, "test", test_periods, contract, minimum=1)
    hashes = row_hashes(train) if train_row_hashes is None else train_row_hashes
    resolved = contract.resolved(train)
    model = spec.build(features=resolved.features, categorical=resolved.categorical)
    logger.info("Training %s on %s (%d rows)", spec.model_type, train_periods, len(train))
    model.fit(train[list(resolved.features)], train[contract.label])
    _score_in_one_thread(model, spec)
    scores = positive_scores(model, resolved.model_input(test, input_name="test window"))
    test_auc = metric_value(TEST_METRIC, test[contract.label], scores)
    logger.info("Test AUC on %s: %.4f", test_periods, test_auc)
    return TrainedModel(
        model=model,
        spec=spec,
        train_periods=train_periods,
        test_periods=test_periods,
        row_count=len(train),
        test_auc=test_auc,
        train_fingerprint=hashes_fingerprint(hashes),
        train_row_hashes=hashes,
        contract=resolved,
    )


_WINDOW_NAMES = {"train": "training window", "test": "test window"}


def _check_trainable(
    data: pd.DataFrame, setting: str, periods: PeriodRange, contract: DataContract, *, minimum: int
) -> None:
    """Refuse a window a model cannot use, saying which ``[windows]`` size to widen.

    Only the window as a whole needs both classes: an empty or one-class period
    inside it (an empty month, a month of one outcome) is reported and the window
    used, since the model learns from, or is tested on, all of its rows together.
    """
    import numpy as np  # here, not at the top: `ccflows status` imports this module, not numpy

    name = _WINDOW_NAMES[setting]
    widen = (
        f"Widen [windows] {setting} (now {periods.calendar.periods(periods.n_periods)}) "
        f"or load more {periods.calendar.plural}."
    )
    if len(data) < minimum:
        raise EmptyWindowError(
            f"The {name} ({periods}) has {len(data)} rows while at least {minimum} are "
            f"required. {widen}",
            expected=minimum,
            got=len(data),
        )
    label = contract.label
    classes = np.unique(data[label])
    if len(classes) < 2:
        raise EmptyWindowError(
            f"The {name} ({periods}) holds only label {classes.tolist()} in {label!r}; "
            f"a model needs rows of both classes. {widen}",
            column=label,
            expected=[0, 1],
            got=classes.tolist(),
        )
    _report_gaps(data, name, periods, contract)


def _report_gaps(
    data: pd.DataFrame, name: str, periods: PeriodRange, contract: DataContract
) -> None:
    """Log the periods of a usable window that hold no rows or a single class."""
    counts = data.groupby(contract.period_key)[contract.label].agg(["size", "nunique"])
    empty = [p for p in range(periods.start, periods.end + 1) if p not in counts.index]
    one_class = counts.index[counts["nunique"] < 2].tolist()
    gaps = [
        f"{what} in {periods.calendar.unit if len(found) == 1 else periods.calendar.plural} "
        f"{', '.join(map(str, found))}"
        for what, found in (("no rows", empty), ("one class only", one_class))
        if found
    ]
    if gaps:
        logger.warning(
            "The %s (%s) has %s; it holds both classes as a whole, so it is used.",
            name,
            periods,
            " and ".join(gaps),
        )
