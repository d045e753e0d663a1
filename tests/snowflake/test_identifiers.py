"""Names and texts that reach Snowflake SQL: each rule refuses what real SQL would misread."""

from __future__ import annotations

import pytest

from flows.backends.snowflake._switch import Change, ChangeKind
from flows.config import SnowflakeSettings
from flows.errors import ConfigError
from flows.identifiers import (
    RESERVED_KEYWORDS,
    check_dollar_quotable,
    sql_literal,
    validate_identifier,
)


class TestIdentifiers:
    def test_a_plain_name_is_upper_cased(self):
        assert validate_identifier("credit_approval", what="model name") == "CREDIT_APPROVAL"
        assert validate_identifier("V$1", what="version name") == "V$1"

    @pytest.mark.parametrize("value", ["MODEL\n", "MODEL\r\n", " MODEL", "MODEL "])
    def test_the_whole_string_must_match_a_trailing_newline_included(self, value):
        with pytest.raises(ConfigError, match=r"model name must be a plain identifier \(a letter"):
            validate_identifier(value, what="model name")

    @pytest.mark.parametrize("value", ["select", "TABLE", "Order", "CURRENT_USER", "ACCOUNT"])
    def test_reserved_and_limited_keywords_are_refused(self, value):
        with pytest.raises(ConfigError, match="not a Snowflake reserved keyword"):
            validate_identifier(value, what="table")

    @pytest.mark.parametrize("value", ["V1$", "A$$B"])
    def test_names_that_would_close_a_dollar_quoted_literal_are_refused(self, value):
        with pytest.raises(ConfigError, match=r"no \$\$ and no \$ at the end"):
            validate_identifier(value, what="version name")

    def test_names_are_at_most_255_characters(self):
        assert validate_identifier("A" * 255, what="schema")
        with pytest.raises(ConfigError, match="at most 255 characters"):
            validate_identifier("A" * 256, what="schema")

    def test_settings_refuse_a_keyword_as_a_table_name(self):
        with pytest.raises(ConfigError, match="ledger_table must be a plain identifier"):
            SnowflakeSettings(ledger_table="GROUP")

    def test_the_keyword_list_holds_the_documented_examples(self):
        """docs.snowflake.com/en/sql-reference/reserved-keywords names these in its prose."""
        named = {"ASC", "DESC", "MINUS", "REGEXP", "RLIKE", "SOME", "LEFT", "JOIN", "TRUE", "CASE"}
        assert named <= RESERVED_KEYWORDS


class TestLiterals:
    def test_backslashes_are_doubled_before_quotes(self):
        assert sql_literal("C:\\dir\\'x'") == "'C:\\\\dir\\\\''x'''"

    @pytest.mark.parametrize("text", ["a$$b", "ends in $"])
    def test_dollar_quoted_text_refuses_what_would_close_it(self, text):
        with pytest.raises(ConfigError, match=r"comment must not contain '\$\$' or end in '\$'"):
            check_dollar_quotable(text, what="comment")

    def test_a_tag_value_that_would_close_its_quotes_never_reaches_sql(self):
        with pytest.raises(ConfigError, match="value of tag LIVE_VERSION"):
            Change(ChangeKind.SET_TAG, "LIVE_VERSION", "V1$").sql("D.S.M", "D.S")
