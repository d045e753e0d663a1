"""The embedded backend: Parquet files per period and a SQLite registry under one home.

- ``backend``: assembles the two (``open_local_backend``);
- ``registry``: the registry, its artifact files (``_artifacts``) and home checks (``_home``);
- ``source``: the table, one Parquet file per period;
- ``durable``: crash-safe file writes.
"""

__all__ = ["backend", "durable", "registry", "source"]
