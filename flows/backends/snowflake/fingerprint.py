"""Fingerprints and row matches of a window, computed by the warehouse: no row leaves it.

``HASH_AGG`` is Snowflake's aggregate hash: one 64-bit number for a set of rows,
independent of their order, sensitive to any change in any value with overwhelming
probability, 0 for no rows. Computed over every column of a window (the period,
the data, and ``ROW_ID`` where the table has it), it fingerprints the training
rows and, since those columns define the order the rows are read in, their
sequence too. The statement names the columns and the window's filter, never a
value of a row, and the answer is one number: both stay the same size at a
thousand rows or twenty million, unlike a stored blob of per-row hashes.

The windows are Snowpark DataFrames (``SnowparkSource.periods_frame``), so the
filter is the source's own and the column names are the identifiers Snowflake
reported for the table: Snowpark quotes them, no text of ours reaches the SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows.backends.snowflake._tables import ROW_ID

if TYPE_CHECKING:
    from snowflake.snowpark import DataFrame

FINGERPRINT = "FINGERPRINT"
"""The column of the fingerprint query's one row."""
ROW_HASH = "ROW_HASH"
"""The column of a row's hash when rows are matched."""


def fingerprint_query(window: DataFrame) -> DataFrame:
    """The lazy one-row query ``SELECT HASH_AGG(<every column>) AS FINGERPRINT FROM <window>``."""
    from snowflake.snowpark import functions as sf

    columns = [sf.col(c) for c in window.columns]
    return window.select(sf.call_function("HASH_AGG", *columns).alias(FINGERPRINT))


def window_fingerprint(window: DataFrame) -> str:
    """The fingerprint of ``window``'s rows, as 16 hex digits; one number comes down.

    Snowflake answers a signed 64-bit number; it is written as its unsigned
    two's complement so that a fingerprint is always the same length.
    """
    (row,) = fingerprint_query(window).collect()
    return f"{int(row[FINGERPRINT]) % 2**64:016x}"


def _row_hashes(rows: DataFrame, columns: list[str]) -> DataFrame:
    from snowflake.snowpark import functions as sf

    return rows.select(sf.hash(*[sf.col(c) for c in columns]).alias(ROW_HASH))


def rows_seen(rows: DataFrame, trained_on: DataFrame) -> int:
    """How many of ``rows`` are also rows of ``trained_on``, compared in the warehouse.

    Rows are compared on every column but ``ROW_ID`` (a row's position, not its
    content), by their 64-bit ``HASH``, as the embedded store compares row hashes.
    One count comes down.

    Raises:
        ValueError: if the two windows do not have the same columns.
    """
    columns = [c for c in rows.columns if c != ROW_ID]
    other = [c for c in trained_on.columns if c != ROW_ID]
    if sorted(columns) != sorted(other):
        raise ValueError(
            f"Cannot match rows of different columns: {columns} and {other}; "
            "read both windows from the same table."
        )
    seen = _row_hashes(trained_on, columns).distinct()
    return _row_hashes(rows, columns).join(seen, ROW_HASH).count()
