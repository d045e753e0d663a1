"""The evidence a policy decides on: both models' scores and labels, and their context.

Two designs: ``paired`` (both models scored the same rows: an offline hold-out, or live
shadow traffic) and ``independent`` (split traffic: each model decided its own rows).
"""

from __future__ import annotations

import io
import json
import numbers
import zipfile
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field, fields
from typing import Any

import numpy as np

from ccpolicy._looks import Look, earlier_looks
from ccpolicy._validation import as_1d_float, labelled_scores
from ccpolicy.errors import EvidenceError

_ARRAYS = ("y_true", "champion_scores", "challenger_scores")
_NPZ_FORMAT = 2
_READABLE_FORMATS = (1, 2)
"""Format 1 predates ``design`` and ``earlier_looks``; its archives read as paired, no looks."""
DESIGNS = ("paired", "independent")
"""``paired``: both models on the same rows; ``independent``: each model on its own rows."""


@dataclass(frozen=True, eq=False, repr=False)
class Evidence:
    """Labels and both models' scores, plus their context.

    With ``design="paired"`` (the default) both models scored the identical rows,
    whose labels are ``y_true``. With ``design="independent"`` (split traffic) each
    model scored its own rows: ``y_true`` holds the champion's rows' labels followed
    by the challenger's, so ``len(y_true) == len(champion_scores) +
    len(challenger_scores)``; build it with :meth:`independent` and read each arm's
    labels from ``champion_y_true`` and ``challenger_y_true`` (for paired evidence both
    are ``y_true``). A policy written for paired evidence only fails loudly on
    independent evidence, since its score and label lengths never match.

    The arrays are validated and stored as read-only 1-D float64 copies, so a policy
    can trust them: matching lengths, finite scores, labels 0 or 1 (one class only
    in an arm is legal but makes every policy inconclusive).

    Example:
        >>> e = Evidence([0, 1, 1], [0.2, 0.7, 0.4], [0.1, 0.8, 0.6], data_week=19)
        >>> e.n_rows, e.n_positive, e.y_true.dtype
        (3, 2, dtype('float64'))
    """

    y_true: np.ndarray
    """True labels of the hold-out rows: 1 for the positive class, else 0."""
    champion_scores: np.ndarray
    """The champion's probability of class 1 for each row."""
    challenger_scores: np.ndarray
    """The challenger's probability of class 1 for each row, same row order."""
    _: KW_ONLY
    champion_metrics: Mapping[str, float] = field(default_factory=dict)
    """The champion's metrics on the hold-out (e.g. auc, f1, accuracy); NaN allowed."""
    challenger_metrics: Mapping[str, float] = field(default_factory=dict)
    """The challenger's metrics on the hold-out, same names as the champion's."""
    holdout_fingerprint: str | None = None
    """Digest of the hold-out rows, tying the decision to the exact data."""
    champion_version: str | None = None
    """Registry version name of the champion."""
    challenger_version: str | None = None
    """Registry version name of the challenger."""
    champion_window: tuple[int, int] | None = None
    """First and last period of the champion's training data."""
    challenger_window: tuple[int, int] | None = None
    """First and last period of the challenger's training data."""
    data_week: int | None = None
    """Newest period in the data this decision is about (the name predates other units)."""
    last_promotion_week: int | None = None
    """``data_week`` of the last promotion in the ledger; None if there was none."""
    period: str = "week"
    """The unit the period numbers above count: ``week``, ``day`` or ``month``."""
    design: str = "paired"
    """``paired`` (both models on the same rows) or ``independent`` (each on its own rows)."""
    earlier_looks: tuple[Look, ...] = ()
    """A sequential test's earlier looks at this candidate, oldest first; () for none."""

    def __post_init__(self) -> None:
        if self.design not in DESIGNS:
            raise EvidenceError(f"design must be 'paired' or 'independent'; got {self.design!r}.")
        arrays = (self._paired_arrays if self.design == "paired" else self._independent_arrays)()
        for name, array in zip(_ARRAYS, arrays, strict=True):
            frozen = array.copy()
            frozen.flags.writeable = False
            object.__setattr__(self, name, frozen)
        for name in ("champion_metrics", "challenger_metrics"):
            object.__setattr__(self, name, _metrics(getattr(self, name), name=name))
        for name in ("champion_window", "challenger_window"):
            object.__setattr__(self, name, _window(getattr(self, name), name=name))
        for name in ("data_week", "last_promotion_week"):
            object.__setattr__(self, name, _week(getattr(self, name), name=name))
        object.__setattr__(self, "earlier_looks", earlier_looks(self.earlier_looks))
        if not isinstance(self.period, str) or not self.period:
            raise EvidenceError(f"period must be a unit such as 'week'; got {self.period!r}.")
        for name in ("holdout_fingerprint", "champion_version", "challenger_version"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise EvidenceError(f"{name} must be a str or None; got {value!r}.")
        if (
            self.data_week is not None
            and self.last_promotion_week is not None
            and self.last_promotion_week > self.data_week
        ):
            raise EvidenceError(
                f"last_promotion_week ({self.last_promotion_week}) is after data_week "
                f"({self.data_week}); pass the data {self.period} of the last promotion in the "
                "ledger."
            )

    @classmethod
    def independent(
        cls,
        champion_labels: Any,
        champion_scores: Any,
        challenger_labels: Any,
        challenger_scores: Any,
        **context: Any,
    ) -> Evidence:
        """Evidence of split traffic: each model's scores and labels on its own rows.

        Example:
            >>> e = Evidence.independent([0, 1], [0.2, 0.7], [1, 0, 0], [0.9, 0.1, 0.3])
            >>> e.design, e.n_rows, e.challenger_y_true.tolist()
            ('independent', 5, [1.0, 0.0, 0.0])
        """
        champion_y, champion = labelled_scores(
            champion_labels, champion_scores, names=("champion_labels", "champion_scores")
        )
        challenger_y, challenger = labelled_scores(
            challenger_labels, challenger_scores, names=("challenger_labels", "challenger_scores")
        )
        return cls(
            np.concatenate([champion_y, challenger_y]),
            champion,
            challenger,
            design="independent",
            **context,
        )

    @property
    def champion_y_true(self) -> np.ndarray:
        """Labels of the rows the champion scored (``y_true`` itself when paired)."""
        return self.y_true[: self.champion_scores.size]

    @property
    def challenger_y_true(self) -> np.ndarray:
        """Labels of the rows the challenger scored (``y_true`` itself when paired)."""
        return self.y_true[self.y_true.size - self.challenger_scores.size :]

    @property
    def n_rows(self) -> int:
        """Number of labelled rows, both arms together when independent."""
        return int(self.y_true.size)

    @property
    def n_positive(self) -> int:
        """Number of labelled rows labelled 1, both arms together when independent."""
        return int(np.count_nonzero(self.y_true))

    def _paired_arrays(self) -> tuple[np.ndarray, ...]:
        """Labels and both models' scores on the same rows, validated."""
        return labelled_scores(
            self.y_true, self.champion_scores, self.challenger_scores, names=_ARRAYS
        )

    def _independent_arrays(self) -> tuple[np.ndarray, ...]:
        """Both arms' labels (champion's first) and each model's scores, validated."""
        y = as_1d_float(self.y_true, name="y_true")
        champion = as_1d_float(self.champion_scores, name="champion_scores")
        challenger = as_1d_float(self.challenger_scores, name="challenger_scores")
        if y.size != champion.size + challenger.size:
            raise EvidenceError(
                f"independent evidence has {y.size} labels for {champion.size} champion and "
                f"{challenger.size} challenger scores; pass each arm's labels, champion's first."
            )
        champion_y, champion = labelled_scores(
            y[: champion.size], champion, names=("champion_labels", "champion_scores")
        )
        challenger_y, challenger = labelled_scores(
            y[champion.size :], challenger, names=("challenger_labels", "challenger_scores")
        )
        return np.concatenate([champion_y, challenger_y]), champion, challenger

    def to_npz_bytes(self) -> bytes:
        """Serialise losslessly: the arrays as float64, everything else as JSON metadata.

        The flows store these bytes with each ledger entry so any policy can be replayed
        on the exact evidence later.
        """
        metadata = {
            "format": _NPZ_FORMAT,
            **self._context(),
            "earlier_looks": [look.to_dict() for look in self.earlier_looks],
        }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            metadata=np.array(json.dumps(metadata, allow_nan=True)),
            **{name: getattr(self, name) for name in _ARRAYS},
        )
        return buffer.getvalue()

    @classmethod
    def from_npz_bytes(cls, data: bytes) -> Evidence:
        """Rebuild Evidence from :meth:`to_npz_bytes` output, validating it again.

        Raises:
            EvidenceError: The bytes are not an evidence archive of a known format.
        """
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in _ARRAYS}
                metadata = json.loads(str(archive["metadata"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise EvidenceError(
                f"bytes of length {len(data)} are not an evidence archive written by "
                f"Evidence.to_npz_bytes ({type(exc).__name__}: {exc})."
            ) from exc
        version = metadata.pop("format", None)
        if version not in _READABLE_FORMATS:
            raise EvidenceError(
                f"evidence archive has format {version!r}; this ccpolicy reads formats "
                f"{' and '.join(map(str, _READABLE_FORMATS))}. Replay it with the ccpolicy "
                "version that wrote it."
            )
        return cls(**arrays, **metadata)

    def _context(self) -> dict[str, Any]:
        """Every field except the arrays, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _ARRAYS}

    def __repr__(self) -> str:
        parts = [f"n_rows={self.n_rows}", f"n_positive={self.n_positive}"]
        context = {k: v for k, v in self._context().items() if v is not None and v != {}}
        if context["period"] == "week":
            del context["period"]  # the default unit goes without saying
        if context["design"] == "paired":
            del context["design"]
        if context["earlier_looks"]:
            context["earlier_looks"] = len(self.earlier_looks)
        else:
            del context["earlier_looks"]
        parts += [f"{k}={v!r}" for k, v in context.items()]
        return f"Evidence({', '.join(parts)})"


def _metrics(value: Any, *, name: str) -> dict[str, float]:
    """Return a metrics mapping as a plain dict of str to float, or raise naming the bad entry."""
    if not isinstance(value, Mapping):
        raise EvidenceError(f"{name} must be a mapping of metric name to float; got {value!r}.")
    result = {}
    for key, metric in value.items():
        if not isinstance(key, str) or isinstance(metric, bool):
            raise EvidenceError(f"{name} must map str to float; got {key!r}: {metric!r}.")
        if not isinstance(metric, numbers.Real):
            raise EvidenceError(f"{name}[{key!r}] must be a float (NaN allowed); got {metric!r}.")
        result[key] = float(metric)
    return result


def _window(value: Any, *, name: str) -> tuple[int, int] | None:
    """Return a training window as a (first, last) tuple of ints, or raise."""
    if value is None:
        return None
    if (
        not isinstance(value, tuple | list)
        or len(value) != 2
        or not all(isinstance(w, numbers.Integral) and not isinstance(w, bool) for w in value)
        or value[0] > value[1]
    ):
        raise EvidenceError(
            f"{name} must be a (first, last) pair of period numbers with first <= last; "
            f"got {value!r}."
        )
    return int(value[0]), int(value[1])


def _week(value: Any, *, name: str) -> int | None:
    """Return a period number as int, or raise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise EvidenceError(
            f"{name} must be a non-negative int period number or None; got {value!r}."
        )
    return int(value)
