"""Faults injected per statement into the recording session.

A statement can fail without effect, fail after taking effect (a lost reply), take
the connection down so that every later statement fails too, or kill the process:
:class:`ProcessCrash` is no ``Exception``, so no handler of the code under test
catches it, and the dead connection keeps any ``finally`` from reaching the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from snowflake.snowpark.exceptions import SnowparkSQLException


class ProcessCrash(BaseException):
    """The process running the code under test died (no ``except Exception`` catches it)."""


@dataclass
class _Failure:
    at: int
    """Position (in ``statements``) of the statement that fails."""
    applied: bool
    then_dead: bool
    crash: bool = False


class Faults:
    """Planned failures and hooks, keyed by statement position."""

    def __init__(self) -> None:
        self.dead = False
        self._failures: list[_Failure] = []
        self._hooks: list[tuple[re.Pattern[str], Any]] = []
        self._stalls: dict[int, Any] = {}

    def fail(self, at: int, *, applied: bool, then_dead: bool, crash: bool) -> None:
        """Make the statement at position ``at`` fail."""
        self._failures.append(_Failure(at, applied, then_dead or crash, crash))

    def before(self, pattern: str, action: Any) -> None:
        """Run ``action()`` once, just before the next statement matching ``pattern``."""
        self._hooks.append((re.compile(pattern), action))

    def stall(self, at: int, action: Any) -> None:
        """Run ``action()`` once, just before the statement at position ``at`` is sent."""
        self._stalls[at] = action

    def run_stalls(self, position: int) -> None:
        """Run (once) the action waiting before the statement at ``position``."""
        action = self._stalls.pop(position, None)
        if action is not None:
            action()

    def revive(self) -> None:
        """Bring the connection back and drop pending failures."""
        self.dead = False
        self._failures.clear()
        self._stalls.clear()

    def run_hooks(self, text: str) -> None:
        """Run (once) the hooks whose pattern ``text`` matches."""
        for hook in list(self._hooks):
            pattern, action = hook
            if pattern.search(text):
                self._hooks.remove(hook)
                action()

    def answer(self, position: int, text: str, answer: Any) -> Any:
        """``answer()`` for the statement at ``position``, or its planned failure."""
        if self.dead:
            raise SnowparkSQLException("Connection is closed (the stand-in went down).")
        failure = next((f for f in self._failures if f.at == position), None)
        if failure is None:
            return answer()
        self._failures.remove(failure)
        if failure.applied:
            answer()
        if failure.then_dead:
            self.dead = True
        if failure.crash:
            raise ProcessCrash(text)
        raise SnowparkSQLException(f"Injected failure of: {text}")
