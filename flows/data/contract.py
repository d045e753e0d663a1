"""The data contract: which columns of a user's table are time, label, features and id.

The ``[data]`` table of ``config.toml`` describes any labelled, time-stamped table;
the quickstart's credit applications are simply the default contract. Validating a
frame against a contract returns its *canonical* form, which every later step
relies on: the id column (if any), the time column (if any), an integer period
column, every other column that is not ignored (the features among them; numeric
as float64 with missing values kept as NaN, categorical as strings with NaN for
missing), then the label as 0/1.

Periods are counted from an *origin*, the first period of the stored data (weeks
start on Monday). The origin is an absolute period index (see
:func:`absolute_periods`) so that appended data keeps the numbering of the data
already stored: the store records it and passes it back in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from flows.data.columns import (
    absolute_periods,
    categorical_column,
    check_frame,
    check_ids,
    distinct_text,
    listing,
    numeric_column,
    parse_times,
    period_numbers,
    period_start,
    refuse_case_variants,
    refuse_one_class,
    require_columns,
    row_number,
)
from flows.errors import ConfigError, DataValidationError
from flows.names import DATE_COLUMN, FEATURE_COLUMNS, LABEL_COLUMN, WEEK_COLUMN

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PERIODS = ("week", "day", "month")
"""The units a period can be; ``[windows]`` sizes count them."""
PERIOD_KEY = "cc_period"
"""Name of the integer period column computed from ``time_column`` (no ``period_column``)."""
_ACCEPTED_BINARY = {"0": 0, "1": 1, "False": 0, "True": 1, "0.0": 0, "1.0": 1}
CONTRACT_KEYS = (
    "time_column",
    "period_column",
    "period",
    "label",
    "positive_label",
    "features",
    "ignore",
    "categorical",
    "id_column",
)
"""The keys of ``[data]``."""


@dataclass(frozen=True)
class DataContract:
    """The shape of the table: time or period column, label, features, id.

    At least one of ``time_column`` and ``period_column`` is set. With both, the
    period column numbers the rows as it is and the time column is kept as dates
    (the quickstart's ``application_date`` and ``week_number``).
    """

    label: str = LABEL_COLUMN
    """The binary label column."""
    time_column: str | None = None
    """A date or timestamp column; periods are counted from its first period."""
    period_column: str | None = None
    """A column of whole, non-negative period numbers, used as it is."""
    period: str = "week"
    """Unit of a period: ``week`` (starting Monday), ``day`` or ``month``."""
    positive_label: str | int | bool | None = None
    """The label value meaning 1; needed unless the label is 0/1, boolean or "0"/"1"."""
    features: tuple[str, ...] | None = None
    """Model inputs; None means every column that is not time, period, label, id or ignored."""
    ignore: tuple[str, ...] = ()
    """Columns dropped on reading (an old model's score, free text). To keep a stored
    column out of one model only, list ``features`` instead: canonical frames keep
    every column that is not ignored, so a later challenger can still use it."""
    categorical: tuple[str, ...] | None = None
    """Categorical features; None infers them from string, bool and category dtypes."""
    id_column: str | None = None
    """A row identifier: never a feature, carried into scoring output."""

    def __post_init__(self) -> None:
        for name in ("features", "ignore", "categorical"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))
        if self.time_column is None and self.period_column is None:
            raise ConfigError(
                "[data] needs 'time_column' (dates or timestamps) or 'period_column' "
                "(whole period numbers); neither is set."
            )
        if self.period not in PERIODS:
            raise ConfigError(
                f"[data] key 'period' must be one of {', '.join(PERIODS)}; got {self.period!r}."
            )
        special = [c for c in self.special_columns if c is not None]
        if len(set(special)) < len(special):
            raise ConfigError(
                f"[data] names a column twice among time_column, period_column, label and "
                f"id_column: {special}."
            )
        for name in ("features", "ignore", "categorical"):
            clash = sorted(set(getattr(self, name) or ()) & set(special))
            if clash:
                raise ConfigError(
                    f"[data] key {name!r} lists {clash}, which the contract already uses as "
                    "time, period, label or id column."
                )
        if self.features is not None:
            if not self.features:
                raise ConfigError("[data] key 'features' must list at least one column.")
            ignored = sorted(set(self.ignore) & set(self.features))
            if ignored:
                raise ConfigError(f"[data] key 'ignore' lists features {ignored}.")
            stray = sorted(set(self.categorical or ()) - set(self.features))
            if stray:
                raise ConfigError(f"[data] key 'categorical' lists non-features {stray}.")

    # -- configuration ----------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, input_name: str = "[data]") -> DataContract:
        """Parse the ``[data]`` table of ``config.toml``.

        Raises:
            ConfigError: naming the key that is unknown or has the wrong type.
        """
        unknown = sorted(set(data) - set(CONTRACT_KEYS))
        if unknown:
            raise ConfigError(
                f"{input_name} has unknown key(s) {unknown}; allowed: {', '.join(CONTRACT_KEYS)}."
            )
        values: dict[str, Any] = {}
        for key in ("time_column", "period_column", "label", "id_column", "period"):
            if key in data:
                if not isinstance(data[key], str) or not data[key]:
                    raise ConfigError(
                        f"{input_name} key {key!r} must be a column name; got {data[key]!r}."
                    )
                values[key] = data[key]
        for key in ("features", "ignore", "categorical"):
            if key in data:
                items = data[key]
                if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                    raise ConfigError(
                        f"{input_name} key {key!r} must be a list of column names; got {items!r}."
                    )
                values[key] = tuple(items)
        if "positive_label" in data:
            positive = data["positive_label"]
            if not isinstance(positive, str | int | bool):
                raise ConfigError(
                    f"{input_name} key 'positive_label' must be a string, integer or boolean; "
                    f"got {positive!r}."
                )
            values["positive_label"] = positive
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, stored with each model version."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataContract:
        """Inverse of :meth:`to_dict`; an empty mapping is the default (pre-contract) one."""
        return cls(**data) if data else DEFAULT_CONTRACT

    def digest(self) -> str:
        """A stable hash of the contract."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def require_same_target(self, champion: DataContract, *, champion_name: str) -> None:
        """Refuse to train a challenger whose target differs from the champion's.

        Features may change between champion and challenger (that is what challengers
        are for); the label, its positive value and the period may not, or the two
        would not be judged on the same question.

        Raises:
            ConfigError: saying what changed and how to start over.
        """
        changes = [
            f"{key} {getattr(champion, key)!r} → {getattr(self, key)!r}"
            for key in ("label", "positive_label", "period")
            if getattr(champion, key) != getattr(self, key)
        ]
        if changes:
            raise ConfigError(
                f"[data] changed {', '.join(changes)} since champion {champion_name} was "
                "trained; a challenger must predict the same target. Restore [data], or "
                "retrain the champion with `ccflows train-champion --replace`."
            )

    # -- columns ----------------------------------------------------------------------

    @property
    def special_columns(self) -> tuple[str | None, ...]:
        """Id, time, period and label columns (None where unset); never features."""
        return (self.id_column, self.time_column, self.period_column, self.label)

    @property
    def score_column(self) -> str:
        """The column scoring writes: ``<label>_probability``, the probability of the positive label.

        Both ways of scoring (stored periods, a file) write it, so a churn contract's
        scores say ``churned_probability`` and the quickstart's ``approved_probability``.
        """
        return f"{self.label}_probability"

    @property
    def is_quickstart(self) -> bool:
        """Whether this is the quickstart's contract, whose messages say applications."""
        return self == DEFAULT_CONTRACT

    @property
    def row_noun(self) -> str:
        """What messages call the rows: the quickstart's "applications", else "rows"."""
        return "applications" if self.is_quickstart else "rows"

    @property
    def score_description(self) -> str:
        """What the score is, in words: "approval probability" for the quickstart."""
        if self.is_quickstart:
            return "approval probability"
        if self.positive_label is None:
            return f"probability of {self.label!r}"
        return f"probability that {self.label!r} is {self.positive_label!r}"

    @property
    def period_key(self) -> str:
        """The integer period column of canonical frames."""
        return self.period_column or PERIOD_KEY

    def other_columns(self, columns: Sequence[str]) -> tuple[str, ...]:
        """The columns of ``columns`` that are not time, period, label, id or ignored.

        Listed features come first, in their order, then the rest in table order.

        Canonical frames keep all of them, features or not: a row then hashes alike
        whichever features a model reads, and a challenger may use a column the
        champion did not (or the reverse) while both score the same hold-out.
        """
        reserved = {*self.special_columns, PERIOD_KEY, *self.ignore, *(self.features or ())}
        return (*(self.features or ()), *(c for c in columns if c not in reserved))

    def feature_columns(self, columns: Sequence[str]) -> tuple[str, ...]:
        """The features of a frame with ``columns``: the listed ones, or every other column."""
        return self.features if self.features is not None else self.other_columns(columns)

    def canonical_columns(self, columns: Sequence[str]) -> list[str]:
        """The columns of the canonical frame for input ``columns``, in order."""
        head = [c for c in (self.id_column, self.time_column) if c is not None]
        return [*head, self.period_key, *self.other_columns(columns), self.label]

    def origin_of(self, canonical: pd.DataFrame) -> int | None:
        """The absolute index of period 0 in a canonical frame; None with a period column."""
        if self.period_column is not None:
            return None
        first = canonical.iloc[:1]
        return int(absolute_periods(first[self.time_column], self.period)[0]) - int(
            first[PERIOD_KEY].iloc[0]
        )

    def resolved(self, data: pd.DataFrame) -> DataContract:
        """This contract with ``features`` and ``categorical`` made explicit for ``data``.

        A model version records the resolved contract, so that scoring checks its
        input against exactly the columns and kinds it was trained on.
        """
        features = self.feature_columns(list(data.columns))
        return replace(
            self,
            features=features,
            ignore=(),
            categorical=tuple(c for c in features if self._is_categorical(data[c])),
        )

    def _is_categorical(self, values: pd.Series) -> bool:
        """Listed in ``categorical`` (a listed feature not there is numeric), else by dtype."""
        import pandas as pd

        if self.categorical is not None and (self.features is None or values.name in self.features):
            return values.name in self.categorical
        dtype = values.dtype
        return bool(
            pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
        )

    # -- validation ---------------------------------------------------------------------

    def validate(
        self,
        data: pd.DataFrame,
        *,
        input_name: str = "data",
        origin: int | None = None,
        require_both_classes: bool = False,
        labels_as_written: bool = False,
    ) -> pd.DataFrame:
        """Check ``data`` against the contract and return its canonical frame.

        Args:
            data: The table to check (not modified).
            input_name: What the table is, for messages ("hold-out", "data to ingest").
            origin: Absolute index of period 0 (:func:`absolute_periods`); defaults
                to the first period in ``data``. Ignored with a ``period_column``.
            require_both_classes: Refuse a table whose labels are all one class
                (a whole table to ingest; a window may legitimately hold one).
            labels_as_written: Keep the label's own values ("yes"/"no") once checked,
                instead of 0/1: for a store to write, or for output a user reads.

        Returns:
            The canonical frame (see the module docstring), on a fresh index.

        Raises:
            DataValidationError: naming the column, the problem and the values found.
        """
        import pandas as pd

        check_frame(data, input_name)
        features = self.feature_columns(list(data.columns))
        if not features:
            raise DataValidationError(
                f"{input_name} has no feature columns besides time, period, label and id; "
                f"found columns: {', '.join(map(str, data.columns))}.",
                expected="at least one feature",
                got=list(data.columns),
            )
        required = [c for c in self.canonical_columns(list(data.columns)) if c != PERIOD_KEY]
        require_columns(data, list(dict.fromkeys([*required, *features])), input_name)
        columns: dict[str, Any] = {}
        if self.id_column is not None:
            check_ids(data[self.id_column], self.id_column, input_name)
            columns[self.id_column] = data[self.id_column].to_numpy()
        times = None
        if self.time_column is not None:
            times = parse_times(data[self.time_column], self.time_column, input_name)
            columns[self.time_column] = times.array
        if self.period_column is not None:
            columns[self.period_key] = period_numbers(data[self.period_column], input_name)
        else:
            assert times is not None
            absolute = absolute_periods(times, self.period)
            start = int(absolute.min()) if origin is None else origin
            if (absolute < start).any():
                raise DataValidationError(
                    f"Column {self.time_column!r} in {input_name} has rows before the first "
                    f"stored {self.period} ({period_start(start, self.period)}); "
                    "replace the stored data to start earlier.",
                    column=self.time_column,
                    expected=f">= {period_start(start, self.period)}",
                    got=str(times.min()),
                )
            columns[PERIOD_KEY] = absolute - start
        for column in self.other_columns(list(data.columns)):
            if self._is_categorical(data[column]):
                columns[column] = categorical_column(data[column], column, input_name)
            else:
                columns[column] = numeric_column(data[column], column, input_name)
        labels = self.binary_labels(data[self.label], input_name)
        if require_both_classes:
            refuse_one_class(labels, data[self.label], self.label, input_name)
        columns[self.label] = data[self.label].to_numpy() if labels_as_written else labels
        # No copy: float columns that already were float64 stay the very arrays of ``data``.
        return pd.DataFrame(columns, copy=False)

    def refuse_reserved(self, data: pd.DataFrame, input_name: str) -> None:
        """Refuse new rows with a column named like the computed period column.

        Stored frames carry that column (it is recomputed on reading); in a user's
        file it would be silently replaced.
        """
        clash = self.period_key == PERIOD_KEY != self.time_column
        if clash and PERIOD_KEY in data.columns and PERIOD_KEY not in self.ignore:
            raise DataValidationError(
                f"{input_name} has a column {PERIOD_KEY!r}, a name reserved for the period "
                f"numbers counted from {self.time_column!r}; rename it, or list it under "
                "'ignore' in [data] to drop it.",
                column=PERIOD_KEY,
                got=list(data.columns),
            )

    def for_storage(
        self, data: pd.DataFrame, *, input_name: str = "data to store", origin: int | None = None
    ) -> pd.DataFrame:
        """The canonical frame of ``data`` with the label kept as given, for a store to write.

        Stores keep the label's own values ("default"/"repaid"), as a table loaded by
        other means holds them, so every read maps them to 0/1 the same way.
        """
        self.refuse_reserved(data, input_name)
        return self.validate(data, input_name=input_name, origin=origin, labels_as_written=True)

    def model_input(self, data: pd.DataFrame, *, input_name: str = "scoring input") -> pd.DataFrame:
        """The features of ``data`` in canonical form, as a model trained under this contract reads them.

        Only the features are required (no time, period or label), so new rows can be
        scored; a missing feature column fails here, before any row is scored.
        """
        import pandas as pd

        check_frame(data, input_name)
        features = self.feature_columns(list(data.columns))
        require_columns(data, list(features), input_name)
        return pd.DataFrame(
            {
                column: categorical_column(data[column], column, input_name)
                if self._is_categorical(data[column])
                else numeric_column(data[column], column, input_name)
                for column in features
            },
            index=data.index,
        )

    def binary_labels(self, values: pd.Series, input_name: str) -> np.ndarray:
        """The label column as int64 0/1 (1 = ``positive_label``, or 1/True/"1").

        Raises:
            DataValidationError: for a missing label, a third value, or a pair that
                needs ``positive_label``; the message lists the values found.
        """
        import numpy as np
        import pandas as pd

        missing = values.isna()
        if missing.any():
            raise DataValidationError(
                f"Column {self.label!r} in {input_name} has {int(missing.sum())} missing label(s) "
                f"(first at row {row_number(int(np.flatnonzero(missing.to_numpy())[0]))}); every row needs one.",
                column=self.label,
                expected="a label on every row",
                got="missing",
            )
        found = distinct_text(values)
        refuse_case_variants(values, self.label, input_name)
        if len(found) > 2:
            raise DataValidationError(
                f"Column {self.label!r} in {input_name} must hold two values; found "
                f"{len(found)} or more: {listing(found)}.",
                column=self.label,
                expected="two values",
                got=found,
            )
        if self.positive_label is not None:
            positive = str(self.positive_label)
            if len(found) == 2 and positive not in found:
                raise DataValidationError(
                    f"Column {self.label!r} in {input_name} holds {listing(found)}, and "
                    f"positive_label {self.positive_label!r} is not one of them.",
                    column=self.label,
                    expected=self.positive_label,
                    got=found,
                )
            return (values.astype(str) == positive).to_numpy(dtype="int64")
        unknown = [v for v in found if v not in _ACCEPTED_BINARY]
        if unknown:
            raise DataValidationError(
                f"Column {self.label!r} in {input_name} holds {listing(found)}; labels other "
                'than 0/1, booleans or "0"/"1" need positive_label in [data] '
                "(the value meaning 1).",
                column=self.label,
                expected="0/1 or positive_label",
                got=found,
            )
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            return values.to_numpy(dtype="int64")  # 0/1, 0.0/1.0 or False/True, as checked
        return values.astype(str).map(_ACCEPTED_BINARY).to_numpy(dtype="int64")


DEFAULT_CONTRACT = DataContract(
    label=LABEL_COLUMN,
    time_column=DATE_COLUMN,
    period_column=WEEK_COLUMN,
    period="week",
    features=FEATURE_COLUMNS,
    categorical=(),
)
"""The quickstart's credit applications: dates, week numbers, nine numeric features."""
