"""Names and texts that reach SQL: plain identifiers only, and one way to write a literal.

Every name a user can choose (model, version, database, schema, table, warehouse,
graph, stage) goes into statements unquoted, so it must be a plain identifier that
Snowflake accepts as it is: a letter or underscore, then letters, digits,
underscores or ``$``; at most 255 characters; the whole string (a trailing newline
is refused too); not one of Snowflake's reserved or limited keywords; and not
holding ``$$`` or ending in ``$``, because a name may be written inside a
``$$…$$`` literal (a tag value, a script block) where it would close it early.
"""

from __future__ import annotations

import re

from flows.errors import ConfigError

MAX_IDENTIFIER_LENGTH = 255
"""Snowflake's limit for an identifier, derived task names included."""

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
"""A plain SQL identifier: what Snowflake takes unquoted (before case and keyword rules)."""

RESERVED_KEYWORDS = frozenset(
    [
        "ACCOUNT",
        "ALL",
        "ALTER",
        "AND",
        "ANY",
        "AS",
        "ASC",
        "BETWEEN",
        "BY",
        "CASE",
        "CAST",
        "CHECK",
        "COLUMN",
        "CONNECT",
        "CONNECTION",
        "CONSTRAINT",
        "CREATE",
        "CROSS",
        "CURRENT",
        "CURRENT_DATE",
        "CURRENT_TIME",
        "CURRENT_TIMESTAMP",
        "CURRENT_USER",
        "DATABASE",
        "DELETE",
        "DESC",
        "DISTINCT",
        "DROP",
        "ELSE",
        "EXISTS",
        "FALSE",
        "FOLLOWING",
        "FOR",
        "FROM",
        "FULL",
        "GRANT",
        "GROUP",
        "GSCLUSTER",
        "HAVING",
        "ILIKE",
        "IN",
        "INCREMENT",
        "INNER",
        "INSERT",
        "INTERSECT",
        "INTO",
        "IS",
        "ISSUE",
        "JOIN",
        "LATERAL",
        "LEFT",
        "LIKE",
        "LOCALTIME",
        "LOCALTIMESTAMP",
        "MINUS",
        "NATURAL",
        "NOT",
        "NULL",
        "OF",
        "ON",
        "OR",
        "ORDER",
        "ORGANIZATION",
        "QUALIFY",
        "REGEXP",
        "REVOKE",
        "RIGHT",
        "RLIKE",
        "ROW",
        "ROWS",
        "SAMPLE",
        "SCHEMA",
        "SELECT",
        "SET",
        "SOME",
        "START",
        "TABLE",
        "TABLESAMPLE",
        "THEN",
        "TO",
        "TRIGGER",
        "TRUE",
        "TRY_CAST",
        "UNION",
        "UNIQUE",
        "UPDATE",
        "USING",
        "VALUES",
        "VIEW",
        "WHEN",
        "WHENEVER",
        "WHERE",
        "WINDOW",
        "WITH",
    ]
)
"""Snowflake's reserved and limited keywords (docs.snowflake.com/sql-reference/reserved-keywords)."""


def validate_identifier(value: str, *, what: str) -> str:
    """Return ``value`` upper-cased if it is a plain SQL identifier Snowflake accepts, else raise.

    Args:
        value: The name as typed.
        what: What it names, for the message (``"model name"``, ``"--name"``).

    Raises:
        ConfigError: one line naming ``what``, the rule broken and the value.
    """
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        rule = "a letter or underscore, then letters, digits, underscores or $"
    elif len(value) > MAX_IDENTIFIER_LENGTH:
        rule = f"at most {MAX_IDENTIFIER_LENGTH} characters"
    elif value.endswith("$") or "$$" in value:
        rule = "no $$ and no $ at the end, which would close a $$-quoted literal"
    elif value.upper() in RESERVED_KEYWORDS:
        rule = "not a Snowflake reserved keyword"
    else:
        return value.upper()
    raise ConfigError(f"{what} must be a plain identifier ({rule}); got {value!r}.")


def check_dollar_quotable(text: str, *, what: str) -> str:
    """Return ``text`` if it can sit inside a ``$$…$$`` literal, else raise.

    Snowflake has no escape inside dollar quotes, so ``$$`` anywhere, or a ``$`` at
    the end (which joins the closing ``$$``), would end the literal early.

    Raises:
        ConfigError: naming ``what`` and the rule.
    """
    if "$$" in text or text.endswith("$"):
        raise ConfigError(
            f"The {what} must not contain '$$' or end in '$' (it is written inside a "
            f"$$-quoted literal, which has no escape); got {text[:80]!r}."
        )
    return text


def sql_literal(text: str) -> str:
    """A single-quoted SQL string literal: backslashes doubled first, then quotes (as snowflake.core)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
