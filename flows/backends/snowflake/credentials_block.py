"""Snowflake credentials kept in a Prefect block: prefect-snowflake's ``SnowflakeCredentials``.

For rotation and for several workers: the credentials live on the Prefect server,
edited in its UI, instead of in each worker's ``connections.toml``. ``[snowflake]
credentials_block = "NAME"`` names the block; a session then opens a connection with
it, scoped to the settings' database, schema and warehouse, and hands that to
Snowpark, which prefect-snowflake does not know. ``connections.toml`` stays the default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flows.errors import ConfigError

if TYPE_CHECKING:
    from flows.config import SnowflakeSettings

INSTALL_HINT = "pip install 'champion-challenger[blocks]'"


def connect_with_block(settings: SnowflakeSettings, **options: Any) -> Any:
    """A Snowflake connection made by the block ``settings.credentials_block``.

    ``options`` are more connector keywords (the time limits).

    Raises:
        ConfigError: if prefect-snowflake is not installed or the block does not exist.
        snowflake.connector.errors.Error: what the connector raises (the session
            classifies it).
    """
    try:
        from prefect_snowflake import SnowflakeCredentials
    except ImportError as exc:
        raise ConfigError(
            f"[snowflake] credentials_block needs prefect-snowflake: {INSTALL_HINT}."
        ) from exc
    name = str(settings.credentials_block)
    try:
        credentials = SnowflakeCredentials.load(name)
    except ValueError as exc:
        raise ConfigError(
            f"No SnowflakeCredentials block named {name!r} on the Prefect server; create it "
            "in the UI under Blocks (type Snowflake Credentials), or fix [snowflake] "
            "credentials_block."
        ) from exc
    scope = {"database": settings.database, "schema": settings.schema, **options}
    if settings.warehouse is not None:
        scope["warehouse"] = settings.warehouse
    return credentials.get_client(**scope)
