"""Opening the Snowflake ML registry of a schema, and the models it holds; only SHOW statements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows.errors import ModelNotFoundError

if TYPE_CHECKING:
    from snowflake.ml.registry import Registry as MLRegistry
    from snowflake.snowpark import Session

    from flows.config import SnowflakeSettings


def open_ml_registry(session: Session, settings: SnowflakeSettings) -> MLRegistry:
    """The Snowflake ML registry of ``settings``' schema; opening it runs no DDL.

    Raises:
        ModelNotFoundError: if the database or the schema does not exist, naming the fix.
    """
    from snowflake.ml.registry import Registry as MLRegistry

    try:
        return MLRegistry(
            session,
            database_name=settings.database,
            schema_name=settings.schema,
            options={"enable_monitoring": False},
        )
    except ValueError as exc:
        if "does not exist" not in str(exc):
            raise
        raise ModelNotFoundError(
            f"{exc} The Snowflake backend needs {settings.database}.{settings.schema}; "
            "create it, or name another with [snowflake] database and schema."
        ) from exc


def model_names(ml: MLRegistry) -> list[str]:
    """The names of the models the registry's schema holds."""
    return [str(row["name"]) for row in ml.show_models().to_dict("records")]
