"""Bytes stored as rows of bounded text: no single SQL value grows with the data.

Snowflake caps a value at 16 MB, and a statement's bound value travels whole. A
blob whose size follows the row count (the hashes of a training window, a
hold-out's evidence) is therefore written as base64 text in parts of at most
:data:`PART_CHARS` characters, one row per part, and read back in part order.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Final

PART_CHARS: Final = 4_000_000
"""Characters of base64 per stored part: a quarter of Snowflake's 16 MB value limit."""


def parts(data: bytes, size: int | None = None) -> list[str]:
    """``data`` as base64 text cut into parts of at most ``size`` characters (one part at least)."""
    size = size or PART_CHARS
    text = base64.b64encode(data).decode("ascii")
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]


def joined(stored: Iterable[str]) -> bytes:
    """Inverse of :func:`parts`, given the parts in order."""
    return base64.b64decode("".join(stored))
