"""Champion–challenger flows: retrain, evaluate and promote, on an embedded or Snowflake backend.

The step modules (``data``, ``training``, ``evaluation``, ``registry``, ``promotion``,
``steps``) are plain Python and import neither prefect nor snowflake at module level,
so the same step code runs under Prefect (``flows.orchestration.pipeline``), in a plain test and
inside a Snowflake stored procedure.
"""
