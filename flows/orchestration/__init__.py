"""Orchestration by Prefect: the flows, their tasks, and what a run tells the server.

The only room that imports prefect. Its modules:

- ``pipeline``: the flows that write to the registry (``champion-challenger``,
  ``train-champion``, ``rollback``) and their tasks, each task one stage of
  :mod:`flows.cycle`;
- ``score_flow``: the ``score`` flow, which only reads;
- ``flow_options``: what every flow shares (timeouts, results, settings, names);
- ``registry_slot``: one run at a time writes to a model's registry;
- ``run_story``: run names, final states, artifacts and events;
- ``run_ends``: a run's start and every end of it reach the ledger, once per attempt;
- ``retries``: which failures a retry can cure.
"""

__all__ = [
    "flow_options",
    "pipeline",
    "registry_slot",
    "retries",
    "run_ends",
    "run_story",
    "score_flow",
]
