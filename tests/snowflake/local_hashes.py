"""``HASH`` and ``HASH_AGG`` for Snowpark's local testing, which implements neither.

The recording session answers DataFrame reads with a local-testing session; window
fingerprints and row matches (:mod:`flows.backends.snowflake.fingerprint`) need both
functions there. Like fakesnow's stand-ins (``snowpark_fakesnow.py``) they keep
Snowflake's properties, not its values: a signed 64-bit hash per row, and an
order-independent aggregate of them that is 0 over no rows.
"""

from __future__ import annotations

import pandas as pd
from snowflake.snowpark.mock import ColumnEmulator, ColumnType, patch
from snowflake.snowpark.types import LongType

_LONG = ColumnType(LongType(), False)


def _row_hashes(columns: tuple[ColumnEmulator, ...]) -> pd.Series:
    frame = pd.concat([pd.Series(c).reset_index(drop=True) for c in columns], axis=1)
    return pd.util.hash_pandas_object(frame, index=False)


def _signed(value: int) -> int:
    return value - 2**64 if value >= 2**63 else value


@patch("hash")
def local_hash(*columns: ColumnEmulator) -> ColumnEmulator:
    """One signed 64-bit hash per row of ``columns``."""
    return ColumnEmulator(data=[_signed(int(h)) for h in _row_hashes(columns)], sf_type=_LONG)


@patch("hash_agg")
def local_hash_agg(*columns: ColumnEmulator) -> ColumnEmulator:
    """The rows' hashes summed modulo 2**64 (0 over no rows), as one signed 64-bit value."""
    total = sum(int(h) for h in _row_hashes(columns)) % 2**64 if len(columns[0]) else 0
    return ColumnEmulator(data=[_signed(total)], sf_type=_LONG)
