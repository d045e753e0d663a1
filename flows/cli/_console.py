"""Shared CLI plumbing: the console, common options and the error boundary."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from flows.config import Settings

USAGE_ERROR = 2


_console: Console | None = None


def get_console() -> Console:
    """The console, created on first use."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console()
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
    group.add_argument("--backend", choices=("local", "snowflake"), help="default: local")
    group.add_argument("--model-name", help="registered model (default: CREDIT_APPROVAL)")
    group.add_argument("--config", help="TOML settings file (default: <home>/config.toml)")


def settings_from(args: argparse.Namespace) -> Settings:
    """Resolve settings from the common options."""
    from flows.config import load_settings

    if args.config:  # flows run in this process resolve their settings again
        os.environ["CC_CONFIG"] = os.path.abspath(args.config)
    return load_settings(
        home=args.home, backend=args.backend, model_name=args.model_name, config_file=args.config
    )


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, without styling."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def exit_with_error(message: str, code: int = USAGE_ERROR) -> int:
    """Print one red line to stderr and return the exit code."""
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    return code


def run_command(
    handler: Callable[[argparse.Namespace], int | None], args: argparse.Namespace
) -> int:
    """Run a command; user errors become one red line and exit code 2, bugs a traceback."""
    from flows.errors import ChampionChallengerError

    try:
        return handler(args) or 0
    except ChampionChallengerError as exc:
        return exit_with_error(str(exc))
    except Exception as exc:
        if _is_policy_error(exc) or _is_prefect_parameter_error(exc):
            return exit_with_error(str(exc))
        if os.environ.get("CC_RAISE_INTERNAL_ERRORS"):
            raise
        traceback.print_exc()
        return exit_with_error("ccflows: internal error (traceback above)", code=1)
    except KeyboardInterrupt:
        return exit_with_error("interrupted", code=130)


def _is_policy_error(exc: Exception) -> bool:
    ccpolicy = sys.modules.get("ccpolicy")
    return ccpolicy is not None and isinstance(exc, ccpolicy.PolicyError)


def _is_prefect_parameter_error(exc: Exception) -> bool:
    exceptions = sys.modules.get("prefect.exceptions")
    return exceptions is not None and isinstance(exc, exceptions.ParameterTypeError)
