"""Shared CLI plumbing: the console, common options and the error boundary."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import unicodedata
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from flows.backends import BACKEND_NAMES, DEFAULT_BACKEND

if TYPE_CHECKING:
    from types import ModuleType

    from rich.console import Console

    from flows.backends import Backend
    from flows.config import Settings

USAGE_ERROR = 2
"""Exit code of bad input or configuration."""
FAILURE = 1
"""Exit code of a failure (a refused switch, a busy registry, a bug)."""
DEBUG_ENV = "CC_DEBUG"
"""Environment variable that does what ``--debug`` does."""


_console: Console | None = None


def get_console() -> Console:
    """The console, created on first use."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console()
        # Into a file or a pipe, a message stays one line: wrapped at 80 columns, it
        # would be cut where a script or a log search looks for it.
        _console.soft_wrap = not _console.is_terminal
    return _console


def set_console(console: Console | None) -> None:
    """Use ``console`` for further output (tests render to a fixed-width buffer); None resets."""
    global _console
    _console = console


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """``--home``, ``--backend``, ``--model-name`` and ``--config``, shared by most commands."""
    group = parser.add_argument_group("backend")
    group.add_argument(
        "--home",
        help="home directory of the embedded backend (default: $CC_HOME or ~/.champion-challenger)",
    )
    group.add_argument("--backend", choices=BACKEND_NAMES, help=f"default: {DEFAULT_BACKEND}")
    group.add_argument(
        "--model-name",
        help="registered model (default: model_name in config.toml, else CREDIT_APPROVAL)",
    )
    group.add_argument("--config", help="TOML settings file (default: <home>/config.toml)")


def settings_from(args: argparse.Namespace) -> Settings:
    """Resolve settings from the common options."""
    from flows.config import load_settings

    return load_settings(
        home=args.home, backend=args.backend, model_name=args.model_name, config=args.config
    )


def config_path(args: argparse.Namespace) -> str | None:
    """The ``--config`` file as an absolute path, as a flow run's parameters record it."""
    return os.path.abspath(args.config) if args.config else None


def open_existing(settings: Settings) -> AbstractContextManager[Backend]:
    """The backend of an existing home and model, refusing to create either.

    Read-only commands use it, and writing commands use it to check their target before
    starting Prefect, so a mistyped ``--home`` or ``--model-name`` is one clear line. It
    opens in ``read`` mode, on every backend: nothing is created, no DDL runs.
    """
    from flows.backends import open_backend

    return open_backend(settings, mode="read")


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, without styling."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def printable(text: str) -> str:
    """``text`` with control and direction-changing characters shown as escapes.

    Messages echo names and values from the user's files; an escape sequence in a
    column name must show as ``\\x1b[2J``, not clear the screen, and a right-to-left
    override must not reorder the rest of the line.
    """
    return "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cf") else ascii(ch)[1:-1] for ch in text
    )


def shown(value: object) -> str:
    """A user's value (a path, a name) for a console line: escaped, and not read as markup."""
    from rich.markup import escape

    return escape(printable(str(value)))


def exit_with_error(message: str, code: int = USAGE_ERROR) -> int:
    """Print one red line to stderr, control characters escaped, and return the exit code."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(
        f"[bold red]Error:[/] {escape(printable(message))}", highlight=False, soft_wrap=True
    )
    return code


def debug_enabled(args: argparse.Namespace | None = None) -> bool:
    """Whether ``--debug`` or ``CC_DEBUG=1`` asks for tracebacks and Prefect's own logs."""
    return bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def exit_code_for(exc: BaseException) -> int:
    """2 for bad input, configuration or home; 1 for a failure (documented in the README).

    Our own errors name something the user gave or keeps (a flag, a setting, the data,
    the home): 2. A registry that stayed busy, a policy that failed while deciding, a
    lost compare-and-set, a timeout or a bug is a failure: 1.
    """
    from flows.errors import ChampionChallengerError, RegistryBusyError

    if isinstance(exc, ChampionChallengerError):
        return FAILURE if isinstance(exc, RegistryBusyError) else USAGE_ERROR
    ccpolicy = sys.modules.get("ccpolicy")
    if ccpolicy is not None and isinstance(exc, _policy_usage_errors(ccpolicy)):
        return USAGE_ERROR
    prefect_exceptions = sys.modules.get("prefect.exceptions")
    if prefect_exceptions is not None and isinstance(exc, prefect_exceptions.ParameterTypeError):
        return USAGE_ERROR
    return FAILURE


def _policy_usage_errors(ccpolicy: ModuleType) -> tuple[type[Exception], ...]:
    """The ccpolicy errors that mean a wrong name, a broken plugin or a bad parameter."""
    return (
        ccpolicy.UnknownPolicyError,
        ccpolicy.PolicyLoadError,
        ccpolicy.PolicyValidationError,
        ccpolicy.PolicyParameterError,
    )


def one_line(exc: BaseException) -> str:
    """The error as one line: our own errors by their message, anything else by its type too."""
    from flows.errors import ChampionChallengerError

    ccpolicy = sys.modules.get("ccpolicy")
    own = isinstance(exc, ChampionChallengerError) or (
        ccpolicy is not None and isinstance(exc, ccpolicy.PolicyError)
    )
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if own else f"{type(exc).__name__}: {text}"


def _warning_line(message: Warning | str, *_: object, **__: object) -> None:
    """A warning as one line, without the source line Python shows (``--debug`` keeps it)."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(
        f"[yellow]Warning:[/] {escape(printable(str(message)))}", highlight=False, soft_wrap=True
    )


def run_command(
    handler: Callable[[argparse.Namespace], int | None], args: argparse.Namespace
) -> int:
    """Run a command; any error becomes one red line, its traceback only with ``--debug``.

    Exit codes: 0 success, 1 a failure, 2 bad input or configuration, 130 interrupted.
    """
    debug = debug_enabled(args)
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _warning_line
            return handler(args) or 0
    except Exception as exc:
        if debug:
            traceback.print_exception(exc)
        code = exit_code_for(exc)
        message = one_line(exc)
        if code == FAILURE and not debug:
            message += " (run again with --debug for the traceback)"
        return exit_with_error(message, code=code)
    except KeyboardInterrupt:
        return exit_with_error("interrupted", code=130)
