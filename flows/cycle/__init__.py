"""The champion–challenger cycle, free of any orchestrator.

``stages`` defines the weekly cycle once (check policy → plan → retrain → evaluate →
decide, and the rule that records a run's end); the Prefect flow, the Snowflake task
graph and the CLI all run those stages. ``steps`` is the one door to registries and
sources: every operation a flow, a command or a stored procedure performs is a
function there. The other modules are what the steps compose: training, evaluation,
promotion, scoring, loading, and the trend read from the ledger.
"""

__all__ = ["stages", "steps"]
