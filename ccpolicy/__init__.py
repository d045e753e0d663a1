"""Promotion policies for champion-challenger: evidence in, a reasoned verdict out.

Policies are found by name under the entry-point group ``ccpolicy.policies``;
the built-ins are ``auc_greater``, ``significance_margin`` and
``sequential_margin`` (a live test over repeated looks, whose looks are :class:`Look`). Statistics live in
:mod:`ccpolicy.stats`, exceptions in :mod:`ccpolicy.errors`. Importing this
package loads neither prefect, snowflake nor rich.
"""

from __future__ import annotations

from typing import Any

from ccpolicy._base import API_VERSION, Policy
from ccpolicy._decision import Decision, Verdict
from ccpolicy._evidence import Evidence
from ccpolicy._guardrails import greater_is_better
from ccpolicy._loading import PolicyInfo, available_policies, decide, load_policy
from ccpolicy._looks import Look, look_of
from ccpolicy._origin import POLICY_ENTRY_POINT_GROUP
from ccpolicy._params import Interval, MetricLimits, Options, Parameter, parse_param_value
from ccpolicy.errors import (
    EvidenceError,
    PolicyDecisionError,
    PolicyError,
    PolicyLoadError,
    PolicyParameterError,
    PolicyValidationError,
    UnknownPolicyError,
)

__all__ = [
    "API_VERSION",
    "POLICY_ENTRY_POINT_GROUP",
    "Decision",
    "Evidence",
    "EvidenceError",
    "Interval",
    "Look",
    "MetricLimits",
    "Options",
    "Parameter",
    "Policy",
    "PolicyDecisionError",
    "PolicyError",
    "PolicyInfo",
    "PolicyLoadError",
    "PolicyParameterError",
    "PolicyValidationError",
    "UnknownPolicyError",
    "Verdict",
    "__version__",
    "available_policies",
    "decide",
    "greater_is_better",
    "load_policy",
    "look_of",
    "parse_param_value",
]

_DISTRIBUTION = "champion-challenger"


def __getattr__(name: str) -> Any:
    """Compute ``__version__`` on first use, from the installed distribution's metadata."""
    if name == "__version__":
        from importlib.metadata import version

        return version(_DISTRIBUTION)
    raise AttributeError(f"module 'ccpolicy' has no attribute {name!r}")
