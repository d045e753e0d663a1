"""The names the Snowflake task graph and its stored procedure agree on, defined once.

The graph's tasks call one procedure with the name of the step to run; each step's
task carries the step's name. The run's parameters travel in the root task's
CONFIG (see :mod:`deployments.graph_config`).
"""

from __future__ import annotations

from typing import Final

PROCEDURE: Final = "CHAMPION_CHALLENGER_STEP"
"""The stored procedure every step task calls, with the step's name as its argument."""

WEEKLY_RETRAINING: Final = "WEEKLY_RETRAINING"
"""Step (and task) that checks the policy and retrains the challenger (the quickstart's name)."""
AUTO_DEPLOY_BEST_MODEL: Final = "AUTO_DEPLOY_BEST_MODEL"
"""Step (and task) that evaluates both models, lets the policy decide and promotes or keeps."""
RECORD_OUTCOME: Final = "RECORD_OUTCOME"
"""Finalizer step: makes sure the run's outcome is in the ledger, failures included."""

STEPS: Final = (WEEKLY_RETRAINING, AUTO_DEPLOY_BEST_MODEL, RECORD_OUTCOME)
