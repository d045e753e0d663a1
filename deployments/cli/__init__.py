"""The ``ccflows`` commands that deploy: ``deploy`` and ``snowflake``.

They live here, not in ``flows.cli``, because they use ``deployments``, which uses
``flows``: packages depend one way. ``flows.cli`` finds them through the entry-point
group ``ccflows.commands``.
"""
