"""Exceptions and warnings raised by ccpolicy.

Every error derives from :class:`PolicyError`, so a caller can catch the whole
family at once; subclasses also derive from the builtin a caller would
naturally catch (``LookupError``, ``ValueError``, ``TypeError``).
"""

from __future__ import annotations

from typing import Any


class PolicyError(Exception):
    """Root of every error raised by ccpolicy."""


class UnknownPolicyError(PolicyError, LookupError):
    """No installed entry point carries the requested policy name."""


class PolicyLoadError(PolicyError):
    """An installed policy entry point failed to import or is ambiguous."""


class PolicyValidationError(PolicyError):
    """A loaded plugin object does not satisfy the Policy contract."""

    def __init__(self, plugin: Any, message: str) -> None:
        super().__init__(message)
        self.plugin = plugin
        """The offending object, as loaded from its entry point."""


class PolicyDecisionError(PolicyError, RuntimeError):
    """A policy raised while deciding; the message names its entry point and distribution."""

    def __init__(self, policy: Any, message: str) -> None:
        super().__init__(message)
        self.policy = policy
        """The policy instance that failed."""


class PolicyParameterError(PolicyError, ValueError, TypeError):
    """A policy parameter is unknown or violates its declared constraint."""


class EvidenceError(PolicyError, ValueError):
    """The evidence handed to a policy is malformed or lacks what a policy needs."""


class UndefinedStatisticWarning(UserWarning):
    """A statistic is undefined for this input (one class only, too few rows) and is NaN."""
