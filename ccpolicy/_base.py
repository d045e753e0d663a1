"""The Policy base class: one abstract method, and a template method that does the shared work."""

from __future__ import annotations

import copy
import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from ccpolicy._decision import Decision, Verdict
from ccpolicy._evidence import Evidence
from ccpolicy._guardrails import (
    GUARDRAIL_PARAMETERS,
    check_guardrail_inputs,
    check_guardrail_metrics,
    guardrail_block,
)
from ccpolicy._origin import describe_policy_class, exception_text
from ccpolicy._params import Parameter, resolve_params
from ccpolicy.errors import (
    EvidenceError,
    PolicyDecisionError,
    PolicyParameterError,
    PolicyValidationError,
)

API_VERSION = "1"
"""The policy API this ccpolicy provides; plugins declare the version they target."""
SUPPORTED_API_VERSIONS = frozenset({API_VERSION})
"""Every ``api_version`` a plugin may declare and still be loaded."""


class Policy(ABC):
    """A promotion policy: decides from Evidence whether the challenger replaces the champion.

    Subclasses declare ``name``, ``description``, ``api_version`` and ``parameters``
    as class attributes and implement :meth:`decide` only. Calling the policy
    (``policy(evidence)``) runs the template: it checks the evidence, answers
    INCONCLUSIVE when the AUC is undefined (one class) or the decision's numbers
    are NaN, applies the guardrails every policy accepts (``cooldown_weeks``,
    ``max_metric_drop``), and stamps the policy name and parameters on the Decision.

    Example:
        >>> class AlwaysKeep(Policy):
        ...     name = "always_keep"
        ...     description = "Never promote."
        ...     api_version = "1"
        ...     def decide(self, evidence):
        ...         return Decision(Verdict.KEEP, "never promote → keep")
        >>> AlwaysKeep()(Evidence([0, 1], [0.3, 0.6], [0.2, 0.9])).verdict
        <Verdict.KEEP: 'keep'>
    """

    name: ClassVar[str]
    """The entry-point name the policy is registered and selected under."""
    description: ClassVar[str]
    """One sentence on the rule, shown by ``ccflows policies``."""
    api_version: ClassVar[str]
    """The ccpolicy API version the policy is written against (currently "1")."""
    parameters: ClassVar[Mapping[str, Parameter]] = {}
    """The policy's own parameters; the guardrail parameters are added to every policy."""

    def __init__(self, **params: Any) -> None:
        """Validate the keyword parameters against the declarations and fill in defaults.

        Raises:
            PolicyParameterError: A parameter is unknown or violates its constraint.
        """
        self._params = resolve_params(self.name, self.all_parameters(), params)

    @classmethod
    def all_parameters(cls) -> dict[str, Parameter]:
        """The policy's own parameters followed by the guardrail parameters."""
        return {**cls.parameters, **GUARDRAIL_PARAMETERS}

    def check_metrics(self, available: Collection[str]) -> None:
        """Check, before any training, that the guardrails name metrics the evidence will carry.

        Args:
            available: The metric names the caller computes for both models.

        Raises:
            PolicyParameterError: ``max_metric_drop`` names a metric not in ``available``.
        """
        check_guardrail_metrics(self.name, self._params, available)

    @property
    def params(self) -> dict[str, Any]:
        """Every parameter's effective value, defaults included (a copy)."""
        return copy.deepcopy(self._params)

    @abstractmethod
    def decide(self, evidence: Evidence) -> Decision:
        """Return the verdict for this evidence; called by ``__call__`` with valid evidence."""

    def __call__(self, evidence: Evidence) -> Decision:
        """Decide on ``evidence`` with the shared checks and guardrails applied.

        Raises:
            EvidenceError: ``evidence`` is not an Evidence or lacks what a guardrail needs.
            PolicyDecisionError: ``decide`` raised; the cause is chained.
            PolicyValidationError: ``decide`` returned something other than a Decision.
        """
        if not isinstance(evidence, Evidence):
            raise EvidenceError(
                f"{self.name} needs a ccpolicy.Evidence; got {type(evidence).__name__}. Build "
                "one with Evidence(y_true, champion_scores, challenger_scores, ...)."
            )
        check_guardrail_inputs(self.name, self._params, evidence)
        self.check_evidence(evidence)
        one_class = _one_class_reason(evidence)
        if one_class:
            decision = Decision(
                Verdict.INCONCLUSIVE, f"{one_class}; ROC AUC is undefined → inconclusive"
            )
        else:
            decision = self._checked_decide(evidence)
        return replace(decision, policy=self.name, params=self.params)

    def check_evidence(self, evidence: Evidence) -> None:  # noqa: B027 (an optional hook)
        """Refuse evidence this policy cannot decide on, before anything is decided.

        The default accepts all valid evidence; a policy overrides it to raise
        :class:`~ccpolicy.errors.EvidenceError` with one line (e.g. a sequential
        policy refuses a look beyond its last).
        """

    def _checked_decide(self, evidence: Evidence) -> Decision:
        """Run decide, then map NaN numbers to INCONCLUSIVE and apply the guardrails."""
        try:
            decision = self.decide(evidence)
        except (Exception, SystemExit) as exc:  # a plugin's failure, whatever it raised
            raise PolicyDecisionError(
                self, f"{self._origin()} failed while deciding: {exception_text(exc)}"
            ) from exc
        if not isinstance(decision, Decision):
            raise PolicyValidationError(
                self,
                f"{self.name}.decide returned {type(decision).__name__}, not a "
                f"ccpolicy.Decision ({self._origin()}); return Decision(verdict, reason, details).",
            )
        undefined = [k for k, v in decision.details.items() if _is_nan(v)]
        if undefined:
            return Decision(
                Verdict.INCONCLUSIVE,
                f"{', '.join(undefined)} undefined (NaN), so the evidence cannot decide "
                "→ inconclusive",
                decision.details,
            )
        if decision.verdict is not Verdict.PROMOTE:
            return decision
        block = guardrail_block(self._params, evidence)
        if block is None:
            return decision
        return Decision(
            block.verdict,
            f"{decision.reason}, but {'; '.join(block.reasons)} → {block.verdict.value}",
            {**decision.details, "guardrails": block.reasons},
        )

    def _origin(self) -> str:
        """The entry point and distribution of this policy, for error messages."""
        return describe_policy_class(type(self), self.name)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"


def policy_class_problems(obj: Any, *, registered_name: str) -> list[str]:
    """List how ``obj`` fails the Policy contract (empty when it is a valid policy class).

    Args:
        obj: The object an entry point loaded.
        registered_name: The entry-point name, which ``obj.name`` must equal so a
            ledger entry's policy name loads the same policy again.
    """
    if not (isinstance(obj, type) and issubclass(obj, Policy)):
        kind = type(obj).__name__
        return [f"loaded {obj!r} (a {kind}), not a subclass of ccpolicy.Policy"]
    problems = []
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(obj.__abstractmethods__))
        problems.append(f"{obj.__name__} does not implement {missing}")
    elif not _accepts_one_argument(obj.decide):
        params = ", ".join(inspect.signature(obj.decide).parameters)
        problems.append(
            f"{obj.__name__}.decide({params}) must be callable as decide(self, evidence)"
        )
    if getattr(obj, "name", None) != registered_name:
        problems.append(
            f"{obj.__name__}.name is {getattr(obj, 'name', None)!r} but it is registered as "
            f"{registered_name!r}; make them equal"
        )
    if not isinstance(getattr(obj, "description", None), str) or not obj.description:
        problems.append(f"{obj.__name__}.description must be a non-empty str")
    problems += _api_version_problems(obj)
    problems += _parameter_problems(obj)
    return problems


def _api_version_problems(cls: type[Policy]) -> list[str]:
    """The api_version fence: the declared version must be one this ccpolicy supports."""
    declared = getattr(cls, "api_version", None)
    if declared in SUPPORTED_API_VERSIONS:
        return []
    supported = ", ".join(sorted(SUPPORTED_API_VERSIONS))
    if declared is None:
        return [f"{cls.__name__} declares no api_version; add api_version = {API_VERSION!r}"]
    return [
        f"{cls.__name__} targets ccpolicy API version {declared!r} but this ccpolicy "
        f"supports API version(s) {supported}; install a release of the plugin that targets "
        f"API {API_VERSION}, or a ccpolicy that supports API {declared}"
    ]


def _parameter_problems(cls: type[Policy]) -> list[str]:
    """Parameter declarations must be Parameters, not shadow a guardrail, and have valid defaults."""
    if not isinstance(cls.parameters, Mapping):
        return [f"{cls.__name__}.parameters must be a mapping of name to ccpolicy.Parameter"]
    owner = getattr(cls, "name", cls.__name__)
    problems = []
    for name, declared in cls.parameters.items():
        if not isinstance(declared, Parameter):
            problems.append(f"{cls.__name__}.parameters[{name!r}] is not a ccpolicy.Parameter")
        elif name in GUARDRAIL_PARAMETERS:
            problems.append(f"{cls.__name__} redeclares the guardrail parameter {name!r}")
        else:
            try:
                resolve_params(owner, {name: declared}, {})
            except PolicyParameterError as exc:
                problems.append(f"the default is invalid: {exc}")
    return problems


def _accepts_one_argument(method: Any) -> bool:
    """Whether ``method`` can be called as ``method(self, evidence)``."""
    try:
        inspect.signature(method).bind(None, None)
    except TypeError:
        return False
    return True


def _one_class_reason(evidence: Evidence) -> str | None:
    """Why the AUC is undefined (labels of one class only), or None when both are present."""
    if evidence.design == "paired":
        arms = {"hold-out": evidence.y_true}
    else:
        arms = {"champion's rows": evidence.champion_y_true}
        arms["challenger's rows"] = evidence.challenger_y_true
    for arm, labels in arms.items():
        positives = int(np.count_nonzero(labels))
        if positives in (0, labels.size):
            return f"{arm} labels hold one class only ({labels.size} rows, all {int(labels[0])})"
    return None


def _is_nan(value: Any) -> bool:
    """Whether a decision detail is a NaN number."""
    return isinstance(value, float | np.floating) and math.isnan(value)
