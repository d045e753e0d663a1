"""A verdict chosen by the test, and a policy that lets another run switch the live version first."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar

from ccpolicy import Decision, Evidence, Options, Parameter, Policy, Verdict

HOME_ENV = "CC_PARITY_HOME"
"""The home whose live version ``switches_live_first`` moves (each orchestrator's own copy)."""


class FixedVerdict(Policy):
    """Returns the verdict it is configured with, whatever the evidence."""

    name = "fixed_verdict"
    description = "Decides what its `verdict` parameter says (tests only)."
    api_version = "1"
    parameters: ClassVar[Mapping[str, Parameter]] = {
        "verdict": Parameter(
            Options(frozenset({"promote", "keep", "inconclusive"})), "keep", "The verdict."
        ),
    }

    def decide(self, evidence: Evidence) -> Decision:
        verdict = Verdict(self.params["verdict"])
        return Decision(verdict, f"fixed → {verdict.value}", {"n_rows": evidence.n_rows})


class SwitchesLiveFirst(Policy):
    """Promotes, after another run made the challenger live behind the cycle's back.

    While the policy decides, it rolls the home's live version forward to the
    challenger, as a concurrent run would, so the cycle's compare-and-set finds the
    live version changed and must record a stale champion.
    """

    name = "switches_live_first"
    description = "Lets another run switch the live version, then promotes (tests only)."
    api_version = "1"

    def decide(self, evidence: Evidence) -> Decision:
        from flows.backends import open_backend
        from flows.config import load_settings
        from flows.cycle import steps

        with open_backend(load_settings(home=os.environ[HOME_ENV])) as backend:
            steps.rollback(
                backend,
                to_version=evidence.challenger_version,
                reason="another run switched first",
                actor="another-run",
            )
        return Decision(Verdict.PROMOTE, "promote after the switch", {})
