"""Orchestration by Prefect: the flows, their tasks, and what a run tells the server.

The only room that imports prefect. Its modules:

- ``pipeline``: the flows (``champion-challenger``, ``train-champion``, ``score``,
  ``rollback``) and their tasks, each task one stage of :mod:`flows.cycle`;
- ``run_story``: run names, final states, artifacts and events;
- ``run_ends``: every end of a weekly run reaches the ledger;
- ``retries``: which failures a retry can cure.
"""

__all__ = ["pipeline", "retries", "run_ends", "run_story"]
