"""Parameter declarations, their sklearn-style messages, and CLI value parsing."""

from __future__ import annotations

import math

import pytest

from ccpolicy import (
    Interval,
    MetricLimits,
    Options,
    Parameter,
    PolicyParameterError,
    parse_param_value,
)
from ccpolicy._params import check_value, resolve_params


class TestConstraintText:
    @pytest.mark.parametrize(
        ("constraint", "text"),
        [
            (Interval("float", 0.0, 0.5, closed="left"), "a float in the range [0, 0.5)"),
            (Interval("float", 0.0, 0.5, closed="neither"), "a float in the range (0, 0.5)"),
            (Interval("int", 0), "an int in the range [0, inf)"),
            (Interval("float"), "a float in the range (-inf, inf)"),
            (Options(frozenset({"b", "a"})), "a str among {'a', 'b'}"),
            (MetricLimits(Interval("float", 0.0)), "a mapping of metric name to a float in the range [0, inf)"),
        ],
    )  # fmt: skip
    def test_reads_as_the_end_of_must_be(self, constraint, text: str) -> None:
        assert str(constraint) == text


class TestCheckValue:
    def test_message_has_sklearns_form(self) -> None:
        margin = Interval("float", 0.0, 0.5, closed="left")
        with pytest.raises(PolicyParameterError) as raised:
            check_value("significance_margin", "margin", margin, -0.1)
        assert str(raised.value) == (
            "The 'margin' parameter of significance_margin must be a float in the range "
            "[0, 0.5). Got -0.1 instead."
        )
        assert isinstance(raised.value, ValueError) and isinstance(raised.value, TypeError)

    @pytest.mark.parametrize(
        ("constraint", "value", "expected"),
        [
            (Interval("float", 0.0, 1.0), 1, 1.0),
            (Interval("float", 0.0, 1.0), 1.0, 1.0),
            (Interval("int", 0), 3, 3),
            (Options(frozenset({"a"})), "a", "a"),
            (MetricLimits(Interval("float", 0.0)), {"f1": 0}, {"f1": 0.0}),
        ],
    )
    def test_accepted_values_are_normalised(self, constraint, value, expected) -> None:
        got = check_value("p", "x", constraint, value)
        assert got == expected and type(got) is type(expected)

    @pytest.mark.parametrize(
        ("constraint", "value"),
        [
            (Interval("float", 0.0, 1.0), True),
            (Interval("float", 0.0, 1.0), "0.5"),
            (Interval("float", 0.0, 1.0), math.nan),
            (Interval("float", 0.0, 1.0, closed="right"), 0.0),
            (Interval("float", 0.0, 1.0, closed="left"), 1.0),
            (Interval("int", 0), 2.0),
            (Options(frozenset({"a"})), "b"),
            (MetricLimits(Interval("float", 0.0)), {"f1": -0.1}),
            (MetricLimits(Interval("float", 0.0)), {1: 0.1}),
            (MetricLimits(Interval("float", 0.0)), 0.1),
        ],
    )
    def test_rejected_values_raise(self, constraint, value) -> None:
        with pytest.raises(
            PolicyParameterError, match=r"The 'x' parameter of p must be .* Got .* instead\."
        ):
            check_value("p", "x", constraint, value)


DECLARED = {
    "margin": Parameter(Interval("float", 0.0, 0.5, closed="left"), 0.0, "Margin."),
    "alpha": Parameter(Interval("float", 0.0, 0.5, closed="neither"), 0.05, "Alpha."),
}


class TestResolveParams:
    def test_fills_defaults_and_keeps_declaration_order(self) -> None:
        assert resolve_params("pol", DECLARED, {"alpha": 0.01}) == {
            "margin": 0.0,
            "alpha": 0.01,
        }
        assert list(resolve_params("pol", DECLARED, {})) == ["margin", "alpha"]

    def test_unknown_names_list_the_declared_ones(self) -> None:
        with pytest.raises(
            PolicyParameterError,
            match=r"pol got unexpected parameter\(s\) 'margn'; its parameters are: margin, alpha\.",
        ):
            resolve_params("pol", DECLARED, {"margn": 0.1})


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.01", 0.01),
        ("3", 3),
        ("true", True),
        ("null", None),
        ('{"f1": 0.02, "log_loss": 0.01}', {"f1": 0.02, "log_loss": 0.01}),
        ("auc", "auc"),
        ("two-sided", "two-sided"),
        ("", ""),
    ],
)
def test_parse_param_value_reads_json_or_falls_back_to_the_string(text: str, value: object) -> None:
    assert parse_param_value(text) == value
