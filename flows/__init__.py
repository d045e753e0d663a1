"""Champion–challenger flows: retrain, evaluate and promote, on an embedded or Snowflake backend.

The package is in rooms by role:

- ``flows.orchestration``: the Prefect flows and what a run tells the server (the only
  room that imports prefect);
- ``flows.cycle``: the weekly cycle defined once (``stages``), the one door to the
  registry and the data (``steps``), and what they compose;
- ``flows.data``: the table's shape, its periods, a run's plan, the models' specs;
- ``flows.backends``: one folder per backend (registry, source, session), behind one
  interface each; ``flows.records``: the values the registries keep;
- ``flows.cli``: the ``ccflows`` command line.

Nothing in ``cycle`` or ``data`` imports prefect or snowflake at module level, so the
same cycle runs under Prefect, in a plain test, and inside a Snowflake stored procedure.
"""
