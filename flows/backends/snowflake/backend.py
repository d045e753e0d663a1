"""The Snowflake backend: Snowpark data and the Snowflake ML registry on one session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows.backends import Backend, Mode, score_log_mode
from flows.backends.snowflake.registry import SnowflakeRegistry
from flows.backends.snowflake.score_log import SnowflakeScoreLog
from flows.backends.snowflake.session import borrow_session, open_session
from flows.backends.snowflake.source import SnowparkSource
from flows.backends.snowflake.warehouse import WarehouseStages
from flows.config import WAREHOUSE_COMPUTE

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from flows.backends.snowflake.session import ConnectionParameters
    from flows.config import Settings


def open_snowflake_backend(
    settings: Settings,
    session: Session | None = None,
    *,
    parameters: ConnectionParameters | None = None,
    mode: Mode = "write",
) -> Backend:
    """The Snowflake backend: Snowpark data and the Snowflake ML registry on one session.

    Args:
        settings: Resolved settings; ``settings.snowflake`` says where everything lives.
        session: A session to use and leave open (a stored procedure's, a test's);
            None opens one from ``settings.snowflake`` and closes it with the backend.
            With a session of its own and ``[snowflake] compute = "warehouse"``, the
            backend runs the cycle's heavy stages through the stage procedure
            (:class:`~flows.backends.snowflake.warehouse.WarehouseStages`); a lent
            session (the procedure's own) works in-process.
        parameters: Explicit connection parameters instead of connections.toml.
        mode: ``read`` refuses a missing model and runs no DDL and no write; ``write``
            sets up the registry's tables and tags before its first write.
    """

    opened = (
        borrow_session(session, settings.snowflake)
        if session is not None
        else open_session(settings.snowflake, parameters=parameters)
    )
    try:
        registry = SnowflakeRegistry(
            opened.session,
            settings.snowflake,
            model_name=settings.model_name,
            on_close=opened.close,
            mode=mode,
        )
    except BaseException:
        opened.close()
        raise
    source = SnowparkSource(
        opened.session, settings.snowflake, contract=settings.contract, mode=mode
    )
    in_warehouse = session is None and settings.snowflake.compute == WAREHOUSE_COMPUTE
    stages = WarehouseStages(opened.session, settings) if in_warehouse else None
    score_log = SnowflakeScoreLog(
        opened.session,
        database=settings.snowflake.database,
        schema=settings.snowflake.schema,
        model_name=registry.model_name,
        mode=score_log_mode(settings, mode),
    )
    return Backend(
        source=source,
        registry=registry,
        warehouse=stages,
        score_log=score_log,
        live=settings.live,
    )
