"""Helpers for tests that run real cycles on the embedded backend: small forests, a forced promotion."""

from __future__ import annotations

from pathlib import Path

import ccpolicy
from flows.config import Settings
from flows.data.specs import CHALLENGER_SPEC, CHAMPION_SPEC, ModelSpec

FAST = {"n_estimators": 15}
"""Forests small enough to train in well under a second."""


def fast_settings(home: Path) -> Settings:
    """Settings for ``home`` with the quickstart's models, made small."""
    return Settings(
        home=home,
        champion_spec=ModelSpec(CHAMPION_SPEC.estimator, {**CHAMPION_SPEC.params, **FAST}),
        challenger_spec=ModelSpec(CHALLENGER_SPEC.estimator, {**CHALLENGER_SPEC.params, **FAST}),
    )


class AlwaysPromote(ccpolicy.Policy):
    """Test policy: promote whatever the evidence says."""

    name = "always_promote"
    description = "Promote unconditionally (tests only)."
    api_version = ccpolicy.API_VERSION

    def decide(self, evidence: ccpolicy.Evidence) -> ccpolicy.Decision:
        return ccpolicy.Decision(ccpolicy.Verdict.PROMOTE, "always → promote")
