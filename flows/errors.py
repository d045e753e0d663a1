"""Errors raised by the step layer; every message names the input, the problem and the fix."""

from __future__ import annotations

from typing import Any


class ChampionChallengerError(Exception):
    """Root of every error this package raises on purpose (user errors, not bugs)."""


class ConfigError(ChampionChallengerError, ValueError):
    """A setting, flag or parameter is missing or invalid."""


class DataValidationError(ChampionChallengerError, ValueError):
    """Loaded data does not match the data contract."""

    def __init__(
        self, message: str, *, column: str | None = None, expected: Any = None, got: Any = None
    ) -> None:
        super().__init__(message)
        self.column = column
        self.expected = expected
        self.got = got


class OutputError(ChampionChallengerError):
    """An output file cannot be written where it was asked (nothing was left there)."""


class EmptyWindowError(DataValidationError):
    """A training, test or hold-out window holds too few rows (or too few classes)."""


class LeakageError(ChampionChallengerError, ValueError):
    """A contestant was trained on rows of the hold-out it is judged on."""


class RegistryError(ChampionChallengerError):
    """The model registry refused an operation or is in an unusable state."""


class ReadModeError(RegistryError):
    """A backend opened in read mode was asked to write; nothing was changed."""


class VersionNotFoundError(RegistryError, LookupError):
    """A model version, alias or tag names something the registry does not hold."""


class ModelNotFoundError(VersionNotFoundError):
    """The home directory, its registry or the named model does not exist (nothing was created)."""


class VersionExistsError(RegistryError):
    """A version name is already taken; versions are immutable."""


class AlreadyChampionError(RegistryError):
    """The version is the live champion, so it cannot also hold the CHALLENGER alias."""


class AlreadyLiveError(RegistryError):
    """The version asked for is already live: nothing to switch, nothing recorded."""

    def __init__(self, message: str, *, version: str) -> None:
        super().__init__(message)
        self.version = version


class NoChampionError(RegistryError):
    """The registry has no live champion yet (run ``ccflows train-champion`` first)."""


class ArtifactIntegrityError(RegistryError):
    """A model artifact is missing or its SHA-256 does not match the one recorded when it was logged."""


class RegistryBusyError(RegistryError):
    """The registry database stayed locked by another process for longer than the timeout."""


class SchemaVersionError(RegistryError):
    """The home directory was written by a newer release of this package."""


class SetupRequiredError(RegistryError):
    """A backend table predates this release (or its shape is unknown); ``setup`` upgrades it."""


class SwitchFailedError(RegistryError):
    """A pointer switch failed before its commit point and was undone: nothing was switched."""


class PromotionIncompleteError(RegistryError):
    """A pointer switch failed and could not be settled; ``repair_sql`` settles the pointers.

    ``state`` is the last known ``Pointers``. ``repair_sql_if_applied`` is the repair
    for the case where the statement that was running when the connection failed
    took effect after all.
    """

    def __init__(
        self,
        message: str,
        *,
        state: Any,
        repair_sql: list[str],
        repair_sql_if_applied: list[str],
    ) -> None:
        super().__init__(message)
        self.state = state
        self.repair_sql = repair_sql
        self.repair_sql_if_applied = repair_sql_if_applied


class LockLostError(RegistryBusyError):
    """The promotion lock expired and another run took it; this run writes nothing more."""


class ConnectionUnavailableError(RegistryBusyError):
    """Snowflake refused or could not be reached when the session was opened; retrying may cure it."""


def one_line(error: BaseException) -> str:
    """``<ExceptionType>: <message>`` on one line, as the ledger and a failed run's state say it."""
    return " ".join(f"{type(error).__name__}: {error}".split())
