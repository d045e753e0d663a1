"""Which arm decides an id: a deterministic hash of the id and the candidate's salt.

One entity always lands in the same arm for one candidate, whichever process or
warehouse scores it, because Python and Snowflake SQL compute the same number: the
first 15 hex digits of SHA-256 over ``"<salt>:<id>"``, compared with the share
scaled to 2**60. SQL compares those digits as text with the threshold written as 15
lower-case hex digits: for strings of equal length over ``0-9a-f`` text order is
numeric order, so no hex-to-number conversion is needed (Snowflake's
``TO_NUMBER(…, 'XXX…')`` has no equivalent in every engine that speaks its SQL).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

CHAMPION_ARM = "champion"
CANDIDATE_ARM = "candidate"
ARMS = (CHAMPION_ARM, CANDIDATE_ARM)
_DIGITS = 15
_SCALE = 16**_DIGITS


def share_threshold(share: float) -> int:
    """The integer below which a hashed id goes to the candidate."""
    return int(share * _SCALE)


def bucket(salt: str, entity_id: object) -> int:
    """The id's position in ``[0, 16**15)`` for this salt."""
    digest = hashlib.sha256(f"{salt}:{entity_id}".encode()).hexdigest()
    return int(digest[:_DIGITS], 16)


def assign_arms(ids: Iterable[object], *, salt: str, share: float) -> np.ndarray:
    """``True`` where the candidate decides the id, in the order of ``ids``."""
    threshold = share_threshold(share)
    return np.fromiter((bucket(salt, i) < threshold for i in ids), dtype=bool)


def candidate_arm_sql(id_sql: str, *, salt_literal: str, share: float) -> str:
    """A Snowflake SQL predicate, true where the candidate decides the id.

    ``id_sql`` is a quoted column reference and ``salt_literal`` an escaped string
    literal: the caller validates both, as for every identifier and value in SQL.
    """
    digest = f"SHA2({salt_literal} || ':' || TO_VARCHAR({id_sql}), 256)"
    return f"SUBSTR({digest}, 1, {_DIGITS}) < '{share_threshold(share):0{_DIGITS}x}'"
