"""Turning the flows into scheduled deployments: Prefect's and the equivalent Snowflake task graph.

``prefect.yaml`` is the single source of the weekly schedule and its parameters;
the modules here derive the Snowflake task graph from it, render it as a reviewable
SQL script, deploy it through snowflake.core, and hold the stored-procedure
handlers that run the same step functions inside Snowflake.
"""
