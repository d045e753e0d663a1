"""The embedded backend: a week store and a SQLite registry under one home directory."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flows.backends import Backend, Mode, score_log_mode
from flows.backends.local.registry import BUSY_TIMEOUT_SECONDS, LocalRegistry
from flows.backends.local.score_log import LocalScoreLog
from flows.backends.local.source import LocalPeriodStore
from flows.errors import ConfigError

if TYPE_CHECKING:
    from flows.config import Settings

BUSY_TIMEOUT_ENV = "CC_BUSY_TIMEOUT"
"""Environment variable overriding the registry's busy timeout (seconds)."""
LIVE_FOLDER = "live"
"""Under the home: one folder per model holding its live tests' score log."""


def open_local_backend(settings: Settings, *, mode: Mode = "write") -> Backend:
    """The embedded backend under ``settings.home``.

    Args:
        settings: Resolved settings.
        mode: ``read`` opens an existing home and model only, creating and changing
            nothing (what ``status``, ``history``, ``score``, ``replay`` and ``report``
            need); ``write`` creates the home and the registry's schema if missing.
    """
    registry = LocalRegistry(
        settings.home, settings.model_name, busy_timeout=_busy_timeout(), mode=mode
    )
    source = LocalPeriodStore(settings.home / "data" / "applications", settings.contract, mode=mode)
    score_log = LocalScoreLog(
        settings.home / LIVE_FOLDER / settings.model_name, mode=score_log_mode(settings, mode)
    )
    return Backend(
        source=source,
        registry=registry,
        protected=(settings.home,),
        score_log=score_log,
        live=settings.live,
    )


def _busy_timeout() -> float:
    """The registry's default busy timeout, or the seconds ``CC_BUSY_TIMEOUT`` gives."""
    text = os.environ.get(BUSY_TIMEOUT_ENV)
    if text is None:
        return BUSY_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ConfigError(
            f"{BUSY_TIMEOUT_ENV} must be a number of seconds ≥ 0; got {text!r}. "
            f"Unset it to wait the default {BUSY_TIMEOUT_SECONDS:g} s."
        )
    return seconds
