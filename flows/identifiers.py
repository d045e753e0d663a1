"""Names that reach SQL: only plain identifiers pass, so nothing typed can change a statement."""

from __future__ import annotations

import re

from flows.errors import ConfigError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,254}$")


def validate_identifier(value: str, *, what: str) -> str:
    """Return ``value`` upper-cased if it is a plain SQL identifier, else raise.

    Model, table, tag and version names reach generated SQL; only plain
    identifiers are accepted, so nothing a user types can change a statement.
    """
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ConfigError(
            f"{what} must be a plain identifier (a letter or underscore, then letters, digits, "
            f"underscores or $; at most 255 characters); got {value!r}."
        )
    return value.upper()
