"""Input checks shared by Evidence and the statistics, with messages that name the input."""

from __future__ import annotations

from typing import Any

import numpy as np

from ccpolicy.errors import EvidenceError


def as_1d_float(values: Any, *, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D float64 array, or raise naming the input.

    Args:
        values: Array-like of numbers (lists, numpy arrays, pandas Series).
        name: The input's name, used in the error message.

    Raises:
        EvidenceError: The values are not numeric or not one-dimensional.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EvidenceError(
            f"{name} must be numeric; got {type(values).__name__} that cannot be converted to "
            f"float ({exc}). Pass one number per hold-out row."
        ) from exc
    if array.ndim != 1:
        raise EvidenceError(
            f"{name} must be 1-D with one value per hold-out row; got shape {array.shape}. "
            "For predict_proba output pass the column of class 1, e.g. proba[:, 1]."
        )
    return array


def check_finite(array: np.ndarray, *, name: str) -> None:
    """Raise if ``array`` holds NaN or infinity, naming the first bad row."""
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argmax(bad))
        raise EvidenceError(
            f"{name} must be finite; got {int(bad.sum())} non-finite value(s), the first "
            f"at row {row} ({array[row].item()!r}). Score every hold-out row with a finite value."
        )


def check_binary(array: np.ndarray, *, name: str) -> None:
    """Raise if ``array`` holds anything but 0 and 1, naming the first bad row."""
    bad = (array != 0) & (array != 1)
    if bad.any():
        row = int(np.argmax(bad))
        raise EvidenceError(
            f"{name} must hold only the labels 0 and 1; got {array[row].item()!r} at row {row}. "
            "Encode the positive class as 1 and the other as 0."
        )


def labelled_scores(y_true: Any, *scores: Any, names: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """Validate labels and one or more models' scores for the same rows; return float arrays.

    Args:
        y_true: Labels, 0 or 1.
        *scores: Each model's scores, one per row.
        names: The inputs' names for error messages, labels first.

    Returns:
        The labels followed by each score array, all 1-D float64 of equal length.

    Raises:
        EvidenceError: An input is not numeric, not 1-D, not finite, not binary,
            empty, or the lengths differ.
    """
    y = as_1d_float(y_true, name=names[0])
    check_binary(y, name=names[0])
    if y.size == 0:
        raise EvidenceError(f"{names[0]} has 0 rows; a decision needs a non-empty hold-out.")
    arrays = [y]
    for values, name in zip(scores, names[1:], strict=True):
        array = as_1d_float(values, name=name)
        if array.shape != y.shape:
            raise EvidenceError(
                f"{name} has {array.size} rows while {names[0]} has {y.size}; "
                "score every model on the identical hold-out rows."
            )
        check_finite(array, name=name)
        arrays.append(array)
    return tuple(arrays)
