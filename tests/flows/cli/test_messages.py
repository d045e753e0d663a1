"""The CLI's smaller promises: undefined numbers, warnings, long lines."""

from __future__ import annotations

import io
import warnings

from rich.console import Console

from flows.cli._console import get_console, run_command, set_console
from flows.cli._render import print_metrics


def _render(draw) -> str:
    buffer = io.StringIO()
    draw(Console(file=buffer, width=120, color_system=None))
    return buffer.getvalue()


def test_a_metric_undefined_on_one_class_shows_n_a_not_nan():
    metrics = {"champion": {"roc_auc": float("nan")}, "challenger": {"roc_auc": float("nan")}}
    text = _render(lambda console: print_metrics(console, metrics))
    assert "n/a" in text
    assert "nan" not in text


def test_a_warning_is_one_line_without_its_source(capsys):
    def handler(_args) -> int:
        warnings.warn("Only one class is present in y_true.", UserWarning, stacklevel=1)
        return 0

    assert run_command(handler, _Args()) == 0
    err = capsys.readouterr().err
    assert err == "Warning: Only one class is present in y_true.\n"


def test_a_message_into_a_pipe_or_file_is_not_wrapped(capsys):
    set_console(None)
    try:
        get_console().print("word " * 40)
    finally:
        set_console(None)
    assert capsys.readouterr().out == "word " * 40 + "\n"


class _Args:
    debug = False
