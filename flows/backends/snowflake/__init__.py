"""The Snowflake backend: Snowpark data and the Snowflake ML registry on one session.

- ``backend``: assembles the three (``open_snowflake_backend``);
- ``session``: Snowpark sessions from connections.toml or explicit parameters;
- ``registry``: the ML registry plus its ledger (``_ledger``), lock and lease
  (``_lock``), switch planner (``_switch``), the pointer statements of a locked run
  (``_mover``), repair plans (``_repair``), version records (``_versions``), tables
  (``_tables``) and their creation and upgrade (``_setup``);
- ``source``: the table, read through Snowpark with periods computed on the server;
- ``fingerprint``: a window's fingerprint and row matches, computed by the warehouse.
"""

__all__ = ["backend", "fingerprint", "registry", "session", "source"]
