"""One column of a user's table at a time: times, period numbers, numbers, categories.

The data contract (``flows.data.contract``) decides what each column is; these functions
check and convert it, and word the one-line errors that name the column, the problem
and the values found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flows.data.periods import FIRST_MONDAY
from flows.data.periods import period_start as period_start
from flows.errors import DataValidationError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_PERIOD_NUMBER = 999_999_999
"""The largest period number a ``period_column`` may hold (nine digits: ``20250131`` fits).

Numbers are checked as float64, which holds every whole number up to 2**53 exactly;
the bound keeps them far inside that and inside the int64 they are stored as."""
FIRST_TIME = "1677-09-22"
LAST_TIME = "2262-04-11"
"""The range of dates a time column may hold, the same for CSV and Parquet: the span of
nanosecond timestamps. Outside it a timestamp cannot be converted without wrapping
around (a ``9999-12-31`` sentinel would become a date in 1816), so it is refused."""
LARGEST_NUMBER = 1e100
"""Numbers beyond ±1e100 are refused: scaling squares them, and past about 1e154 the
square overflows float64, so one such value turns a whole column into NaN (a model no
better than chance). Real measurements are far smaller; such values are sentinels."""
CATEGORICAL_HINT = " List it under 'categorical' in [data] if it is a category."


def absolute_periods(times: pd.Series, period: str) -> np.ndarray:
    """Each time's period as an absolute index: days, Monday-weeks or months since 1970.

    Zoned times count in UTC (:func:`utc_wall_clock`); naive ones as they are.
    """
    import numpy as np

    times = utc_wall_clock(times)
    if period == "month":
        return (times.dt.year.to_numpy("int64") - 1970) * 12 + times.dt.month.to_numpy("int64") - 1
    days = times.to_numpy().astype("datetime64[D]").astype("int64")
    if period == "day":
        return days
    return np.floor_divide(days - FIRST_MONDAY, 7)


def utc_wall_clock(times: pd.Series) -> pd.Series:
    """Zoned times as naive UTC; naive times unchanged: the one clock periods follow.

    Local exports change their offset at each daylight-saving switch; in UTC every
    instant has one period whatever its offset, as in the warehouse, which converts
    zoned timestamps to UTC the same way. A naive time is taken as written.
    """
    if getattr(times.dt, "tz", None) is None:
        return times
    return times.dt.tz_convert("UTC").dt.tz_localize(None)


def parse_times(values: pd.Series, column: str, input_name: str) -> pd.Series:
    """``values`` as naive nanosecond datetimes on the UTC clock (:func:`utc_wall_clock`).

    ISO-8601 text is parsed, with or without offsets, even offsets that differ from row
    to row (``+01:00`` in winter, ``+02:00`` in summer); missing or bad times are refused.

    Timestamps of any unit are accepted between :data:`FIRST_TIME` and :data:`LAST_TIME`;
    one outside that range is refused, naming it, whether it came as text or as a
    Parquet timestamp.
    """
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(values):
        wall = values.dt.tz_localize(None) if values.dt.tz is not None else values
        outside = wall.notna() & ((wall < FIRST_TIME) | (wall > LAST_TIME))
        if outside.any():
            raise _out_of_range(values[outside], column, input_name)
        values = values.dt.as_unit("ns")
    else:
        # utc=True reads every offset, mixed or not, to one instant; naive text stays as written.
        parsed = pd.to_datetime(values, format="ISO8601", errors="coerce", utc=True)
        parsed = parsed.dt.tz_localize(None)
        bad = parsed.isna() & values.notna()
        if bad.any():
            if _is_out_of_range(values[bad].iloc[0]):
                raise _out_of_range(values[bad], column, input_name)
            raise DataValidationError(
                f"Column {column!r} in {input_name} must hold dates or timestamps (ISO-8601, "
                f"such as 2024-01-31 or 2024-01-31T09:30:00); cannot read "
                f"{values[bad].iloc[0]!r} in {int(bad.sum())} row(s).",
                column=column,
                expected="ISO-8601 dates",
                got=values[bad].iloc[0],
            )
        _refuse_zoned_and_naive(values, column, input_name)
        values = parsed
    missing = values.isna()
    if missing.any():
        raise DataValidationError(
            f"Column {column!r} in {input_name} has {int(missing.sum())} missing time(s); "
            "every row needs one.",
            column=column,
            expected="a time on every row",
            got="missing",
        )
    return utc_wall_clock(values)


_OFFSET = r":\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$"
"""How an ISO-8601 time ends when it carries a zone: ``…:00Z``, ``…:00+02:00``, ``…:00-0530``
(after the time of day, so that a date's ``-04`` is not taken for one)."""


def _refuse_zoned_and_naive(text: pd.Series, column: str, input_name: str) -> None:
    """Refuse a column mixing times with an offset and times without one.

    Offsets that change (daylight saving) are fine; a time without one beside them
    is ambiguous: its zone is unknown.
    """
    present = text.dropna().astype(str)
    zoned = present.str.contains(_OFFSET, regex=True)
    if zoned.any() and not zoned.all():
        raise DataValidationError(
            f"Column {column!r} in {input_name} mixes times with and without a time zone or "
            f"offset (such as {present[zoned].iloc[0]!r} and {present[~zoned].iloc[0]!r}); "
            "give every time an offset, or none.",
            column=column,
            expected="every time with an offset, or none",
            got=present[~zoned].iloc[0],
        )


def _is_out_of_range(value: Any) -> bool:
    """Whether ``value`` is a well-formed date that nanosecond timestamps cannot hold."""
    import pandas as pd

    try:
        pd.to_datetime(value, format="ISO8601" if isinstance(value, str) else None)
    except pd.errors.OutOfBoundsDatetime:
        return True
    except (ValueError, TypeError):
        return False
    return False


def _out_of_range(outside: pd.Series, column: str, input_name: str) -> DataValidationError:
    first = outside.iloc[0]
    shown = str(first) if not isinstance(first, str) else repr(first)
    return DataValidationError(
        f"Column {column!r} in {input_name} holds {shown} in {len(outside)} row(s), outside "
        f"the supported range {FIRST_TIME} to {LAST_TIME}; drop those rows (a far-off "
        "sentinel such as 9999-12-31 is not a time a period can be counted from).",
        column=column,
        expected=f"{FIRST_TIME} to {LAST_TIME}",
        got=str(first),
    )


def period_numbers(values: pd.Series, input_name: str) -> np.ndarray:
    """A period column as int64, refusing missing, fractional and negative numbers."""
    import numpy as np

    column = str(values.name)
    numbers = numeric_column(values, column, input_name, hint="")
    if np.isnan(numbers).any():
        raise DataValidationError(
            f"Column {column!r} in {input_name} has {int(np.isnan(numbers).sum())} missing "
            "period number(s); every row needs one.",
            column=column,
            expected="a period on every row",
            got="missing",
        )
    fractional = numbers != np.round(numbers)
    if fractional.any():
        raise DataValidationError(
            f"Column {column!r} in {input_name} must hold whole numbers; got "
            f"{numbers[fractional][0]!r}.",
            column=column,
            expected="whole numbers",
            got=numbers[fractional][0].item(),
        )
    if (numbers < 0).any():
        raise DataValidationError(
            f"Column {column!r} in {input_name} must be non-negative; got {int(numbers.min())}.",
            column=column,
            expected=">= 0",
            got=int(numbers.min()),
        )
    if (numbers > MAX_PERIOD_NUMBER).any():
        raise DataValidationError(
            f"Column {column!r} in {input_name} holds period number {numbers.max():.0f}; "
            f"period numbers go from 0 to {MAX_PERIOD_NUMBER:,}.",
            column=column,
            expected=f"<= {MAX_PERIOD_NUMBER}",
            got=numbers.max().item(),
        )
    return numbers.astype("int64")


def check_ids(values: pd.Series, column: str, input_name: str) -> None:
    """Refuse an id column that is not one scalar type (whole numbers or text) on every row.

    Ids are carried into outputs as they are; a float, a byte string, a nested value
    or a mix of types would come out changed (``1.0``, ``b'C019'``) or break a join.
    """
    import pandas as pd

    missing = values.isna()
    if missing.any():
        raise DataValidationError(
            f"Column {column!r} in {input_name} has {int(missing.sum())} missing id(s) "
            f"(first at row {row_number(int(missing.to_numpy().argmax()))}); every row needs one.",
            column=column,
            expected="an id on every row",
            got="missing",
        )
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind not in ("integer", "string"):
        first = next((v for v in values if not isinstance(v, str | int)), values.iloc[0])
        raise DataValidationError(
            f"Column {column!r} in {input_name} must hold ids of one kind, whole numbers or "
            f"text; got {kind} values (such as {first!r}).",
            column=column,
            expected="whole numbers or text",
            got=kind,
        )


def row_number(position: int) -> int:
    """The row a message names: counted from 1, the first row under the header, as people count."""
    return position + 1


def check_frame(data: Any, input_name: str) -> None:
    """Refuse what is not a non-empty DataFrame with unique column names."""
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise DataValidationError(
            f"{input_name} must be a pandas DataFrame; got {type(data).__name__}."
        )
    if data.empty:
        raise DataValidationError(
            f"{input_name} has no rows (columns: {', '.join(map(str, data.columns)) or 'none'}).",
            expected="at least one row",
            got=0,
        )
    duplicated = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
    if duplicated:
        raise DataValidationError(
            f"{input_name} has duplicate column name(s) {', '.join(map(repr, duplicated))}; "
            "every column needs a unique name.",
            column=duplicated[0],
            expected="unique column names",
            got=duplicated,
        )


def require_columns(data: pd.DataFrame, required: Sequence[str], input_name: str) -> None:
    """Refuse a frame without every one of ``required``, naming the missing ones."""
    missing = [c for c in required if c not in data.columns]
    if missing:
        raise DataValidationError(
            f"{input_name} is missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"expected columns: {', '.join(required)} (found: {', '.join(map(str, data.columns))}).",
            column=missing[0],
            expected=list(required),
            got=list(data.columns),
        )


def numeric_column(
    values: pd.Series, column: str, input_name: str, *, hint: str = CATEGORICAL_HINT
) -> np.ndarray:
    """``values`` as float64 (not copied if they already are); NaN stays, text and inf do not."""
    import numpy as np
    import pandas as pd

    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna() & values.notna()
        if bad.any():
            raise DataValidationError(
                f"Column {column!r} in {input_name} must be numeric; got dtype {values.dtype} "
                f"(first bad value: {values[bad].iloc[0]!r}).{hint}",
                column=column,
                expected="numeric",
                got=str(values.dtype),
            )
        values = converted
    if isinstance(values.dtype, np.dtype):
        floats = values.to_numpy(dtype="float64")
    else:  # a nullable extension dtype: its missing values become NaN
        floats = values.astype("float64").to_numpy()
    infinite = np.isinf(floats)
    if infinite.any():
        raise DataValidationError(
            f"Column {column!r} in {input_name} contains infinite values in "
            f"{int(infinite.sum())} row(s) (first at row {row_number(int(np.flatnonzero(infinite)[0]))}); "
            "replace them with a number or leave them empty.",
            column=column,
            expected="finite numbers or missing",
            got="infinite",
        )
    huge = np.abs(floats) > LARGEST_NUMBER
    if huge.any():
        first = int(np.flatnonzero(huge)[0])
        raise DataValidationError(
            f"Column {column!r} in {input_name} holds {floats[first]:g} in {int(huge.sum())} "
            f"row(s) (first at row {row_number(first)}); numbers beyond ±{LARGEST_NUMBER:g} overflow when "
            "scaled, replace them with a number or leave them empty.",
            column=column,
            expected=f"within ±{LARGEST_NUMBER:g}",
            got=floats[first].item(),
        )
    return floats


def categorical_column(values: pd.Series, column: str, input_name: str) -> np.ndarray:
    """``values`` as an object array of strings, NaN for missing (what the imputer expects).

    Nested or binary values (a struct, a list, bytes) are refused: as text they would
    be stored as their Python spelling (``"{'a': 1}"``), not as the file gave them.
    """
    import numpy as np
    import pandas as pd

    if pd.api.types.infer_dtype(values, skipna=True) in ("mixed", "bytes"):
        odd = next((v for v in values if isinstance(v, dict | list | bytes | np.ndarray)), None)
        if odd is not None:
            raise DataValidationError(
                f"Column {column!r} in {input_name} holds {type(odd).__name__} values (such "
                f"as {odd!r}); a feature holds numbers or text. Flatten it, or list it under "
                "'ignore' in [data].",
                column=column,
                expected="numbers or text",
                got=type(odd).__name__,
            )
    missing = values.isna().to_numpy()
    text = values.astype(str).to_numpy(dtype=object)
    text[missing] = np.nan
    return text


def refuse_case_variants(values: pd.Series, column: str, input_name: str) -> None:
    """Refuse labels that differ only by case or surrounding spaces (``yes`` and ``YES``).

    Only one spelling can be ``positive_label``; the other would silently count as
    the negative class.
    """
    spellings: dict[str, str] = {}
    for value in (str(v) for v in values.drop_duplicates().head(100)):
        key = value.strip().casefold()
        if key in spellings and spellings[key] != value:
            raise DataValidationError(
                f"Column {column!r} in {input_name} holds {spellings[key]!r} and {value!r}, "
                "which differ only by case or spaces; spell each label one way.",
                column=column,
                expected="one spelling per label",
                got=[spellings[key], value],
            )
        spellings[key] = value


def refuse_one_class(labels: np.ndarray, raw: pd.Series, column: str, input_name: str) -> None:
    """Refuse labels (0/1) of one class only, naming the raw value found."""
    import numpy as np

    if len(np.unique(labels)) < 2:
        raise DataValidationError(
            f"Column {column!r} in {input_name} holds one class only "
            f"({listing(distinct_text(raw))}); a model needs both to learn from.",
            column=column,
            expected="two classes",
            got=distinct_text(raw),
        )


def distinct_text(values: pd.Series) -> list[str]:
    """The distinct values of ``values`` as text, sorted (at most 3 needed to tell)."""
    return sorted({str(v) for v in values.drop_duplicates().head(3)})


def listing(values: Sequence[str]) -> str:
    """Values quoted and comma-separated, for messages."""
    return ", ".join(repr(v) for v in values)
