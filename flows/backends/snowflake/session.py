"""Snowpark sessions for the Snowflake backend, from connections.toml or explicit parameters.

The Snowflake convention is a named entry of ``connections.toml`` (account, user,
authenticator, key file, role, ...), selected by ``SnowflakeSettings.connection_name``;
``None`` selects the connector's default connection (:func:`default_connection_name`).
Explicit :class:`ConnectionParameters` are the alternative for code that holds its
credentials elsewhere. Either way the database, schema and warehouse come from
:class:`~flows.config.SnowflakeSettings`, layered on top, and so do the statement
timeout (``STATEMENT_TIMEOUT_IN_SECONDS``) and the connector's network timeout.

Passwords and key passphrases are held as :class:`pydantic.SecretStr` and unwrapped
only in the dictionary handed to the ``Session.SessionBuilder``, so they never reach
a log line, a ``repr``, a Prefect artifact or a ledger row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from flows.errors import ConfigError, ConnectionUnavailableError

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from flows.config import SnowflakeSettings

logger = logging.getLogger(__name__)

KEY_PAIR_AUTHENTICATOR = "SNOWFLAKE_JWT"


@dataclass(frozen=True)
class ConnectionParameters:
    """Explicit connection parameters, for when no connections.toml entry is used.

    Give either ``password`` or ``private_key_file`` (key-pair authentication, with
    ``private_key_passphrase`` when the PKCS#8 key is encrypted). Plain strings given
    for the secrets are wrapped in ``SecretStr``.

    Example:
        >>> params = ConnectionParameters(
        ...     account="myorg-myaccount", user="ML_SVC", private_key_file="/secrets/rsa_key.p8",
        ...     private_key_passphrase="s3cret", role="ML_ROLE")  # doctest: +SKIP
        >>> "s3cret" in repr(params)  # doctest: +SKIP
        False
    """

    account: str
    """Account identifier, e.g. ``myorg-myaccount``."""
    user: str
    """Login name."""
    password: SecretStr | None = None
    """Password (password authentication)."""
    private_key_file: Path | None = None
    """PEM file holding the PKCS#8 private key (key-pair authentication)."""
    private_key_passphrase: SecretStr | None = None
    """Passphrase of an encrypted private key."""
    role: str | None = None
    """Role to use; None keeps the user's default role."""
    authenticator: str | None = None
    """Authenticator; None means password, or ``SNOWFLAKE_JWT`` with a key file."""
    host: str | None = None
    """Host name, for private-link or test endpoints."""

    def __post_init__(self) -> None:
        for name in ("password", "private_key_passphrase"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, SecretStr):
                object.__setattr__(self, name, SecretStr(str(value)))
        if self.private_key_file is not None:
            object.__setattr__(self, "private_key_file", Path(self.private_key_file).expanduser())
        self._validate_auth_kwargs()

    def _validate_auth_kwargs(self) -> None:
        if not self.account or not self.user:
            raise ConfigError("ConnectionParameters need both 'account' and 'user'.")
        if self.password is not None and self.private_key_file is not None:
            raise ConfigError(
                "Do not provide both password and private_key_file; select one "
                "(key-pair authentication is recommended for services)."
            )
        if self.private_key_passphrase is not None and self.private_key_file is None:
            raise ConfigError("private_key_passphrase was given without private_key_file.")
        if self.private_key_file is not None and not self.private_key_file.is_file():
            raise ConfigError(
                f"private_key_file {str(self.private_key_file)!r} does not exist; give the path "
                "of the PEM (PKCS#8) private key registered for the user."
            )

    def _connect_kwargs(self) -> dict[str, Any]:
        """The connector keywords, secrets unwrapped: hand them to a builder, never log them."""
        kwargs: dict[str, Any] = {"account": self.account, "user": self.user}
        for name in ("role", "host", "authenticator"):
            if getattr(self, name) is not None:
                kwargs[name] = getattr(self, name)
        if self.password is not None:
            kwargs["password"] = self.password.get_secret_value()
        if self.private_key_file is not None:
            kwargs["private_key_file"] = str(self.private_key_file)
            kwargs.setdefault("authenticator", KEY_PAIR_AUTHENTICATOR)
        if self.private_key_passphrase is not None:
            kwargs["private_key_file_pwd"] = self.private_key_passphrase.get_secret_value()
        return kwargs

    def describe(self) -> str:
        """A loggable one-line description: who, where and how, with no secret."""
        auth = "key pair" if self.private_key_file else "password" if self.password else "default"
        return f"account={self.account} user={self.user} auth={auth}"


def _session_options(
    settings: SnowflakeSettings, parameters: ConnectionParameters | None = None
) -> dict[str, Any]:
    """The builder options for ``settings``; secrets unwrapped, so keep the result private.

    Args:
        settings: Database, schema, warehouse and connection name.
        parameters: Explicit parameters; None uses the connections.toml entry
            ``settings.connection_name`` (or Snowflake's default connection).
    """
    if parameters is not None:
        options = parameters._connect_kwargs()
    elif settings.credentials_block is not None:
        from flows.backends.snowflake.credentials_block import connect_with_block

        # the connection is already scoped to the locations and bounded in time
        return {"connection": connect_with_block(settings, **_time_limits(settings))}
    else:  # named, so that the settings below are layered on top of the connection
        options = {"connection_name": settings.connection_name or default_connection_name()}
    options.update(database=settings.database, schema=settings.schema, **_time_limits(settings))
    if settings.warehouse is not None:
        options["warehouse"] = settings.warehouse
    return options


def _time_limits(settings: SnowflakeSettings) -> dict[str, Any]:
    """How long a statement and a network call may take, as connection options."""
    return {
        "session_parameters": {"STATEMENT_TIMEOUT_IN_SECONDS": settings.statement_timeout_seconds},
        "network_timeout": settings.network_timeout_seconds,
    }


def default_connection_name() -> str:
    """The connection the Snowflake connector uses when none is named.

    ``SNOWFLAKE_DEFAULT_CONNECTION_NAME``, else ``default_connection_name`` in the
    connector's config.toml, else ``default``. Snowpark looks it up only when given no
    option at all, so a session that also sets the database must name it.
    """
    from snowflake.connector.config_manager import CONFIG_MANAGER

    return str(CONFIG_MANAGER["default_connection_name"])


class SnowflakeSession:
    """A Snowpark session and whether this package opened it; a context manager.

    A session that was handed in (inside a stored procedure, or in tests) is only
    borrowed: :meth:`close` leaves it open for its owner.
    """

    def __init__(self, session: Session, *, description: str, owned: bool = True) -> None:
        self._session: Session | None = session
        self.description = description
        self.owned = owned

    @property
    def session(self) -> Session:
        """The live Snowpark session.

        Raises:
            ConfigError: if the session was closed.
        """
        if self._session is None:
            raise ConfigError(f"The Snowflake session ({self.description}) is closed.")
        return self._session

    def close(self) -> None:
        """Close the session if this package opened it; idempotent, and says what it did."""
        if self._session is None:
            logger.info("There was no Snowflake session open to be closed (%s).", self.description)
            return
        session, self._session = self._session, None
        if self.owned:
            session.close()
            logger.info("Closed the Snowflake session (%s).", self.description)
        else:
            logger.info("Left the borrowed Snowflake session open (%s).", self.description)

    def __enter__(self) -> SnowflakeSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self._session is not None else "closed"
        return f"SnowflakeSession({self.description}, {state})"


def open_session(
    settings: SnowflakeSettings,
    *,
    parameters: ConnectionParameters | None = None,
    builder: Any = None,
) -> SnowflakeSession:
    """Open a Snowpark session for ``settings``.

    Args:
        settings: Where the tables and the model live, and which connection to use.
        parameters: Explicit parameters instead of a connections.toml entry.
        builder: A ``Session.SessionBuilder`` to use; defaults to a fresh one.

    Returns:
        The opened session, to be closed by the caller (or used in a ``with`` block).

    Raises:
        ConfigError: for a configuration mistake (unknown connection, missing key file,
            wrong or missing key passphrase, refused credentials); not worth retrying.
        ConnectionUnavailableError: if Snowflake refused or could not be reached; a
            retry may cure it.

    Example:
        >>> with open_session(SnowflakeSettings(connection_name="dev")) as opened:  # doctest: +SKIP
        ...     opened.session.sql("SELECT CURRENT_ROLE()").collect()
    """
    if builder is None:
        from snowflake.snowpark import Session

        builder = Session.SessionBuilder()
    description = _describe(settings, parameters)
    logger.info("Opening a Snowflake session (%s).", description)
    try:
        session = builder.configs(_session_options(settings, parameters)).create()
    except ConfigError:
        raise
    except Exception as exc:
        raise _classified(exc, description) from exc
    return SnowflakeSession(session, description=description)


def _classified(exc: Exception, description: str) -> Exception:
    """The error for a session that would not open, classified by what cures it.

    A refused or unreachable connection may pass: ``ConnectionUnavailableError``, which
    callers retry. A mistake in the configuration fails the same way every time: an
    unknown connection name, a missing key file, a wrong or missing key passphrase,
    refused credentials; ``ConfigError``, one line, never retried. Anything else is a
    bug and is returned as it is.
    """
    from snowflake.connector.errors import Error, InterfaceError, OperationalError

    where = f"Cannot open a Snowflake session ({description})"
    if isinstance(exc, OperationalError | InterfaceError | ConnectionError | TimeoutError):
        return ConnectionUnavailableError(f"{where}: Snowflake could not be reached: {exc}")
    if isinstance(exc, FileNotFoundError):
        return ConfigError(
            f"{where}: the private key file {exc.filename!r} does not exist; fix "
            "private_key_file in the connection."
        )
    if isinstance(exc, ValueError | TypeError) and "password" in str(exc).lower():
        return ConfigError(
            f"{where}: the private key could not be decrypted ({exc}); check the key "
            "passphrase (private_key_file_pwd)."
        )
    if isinstance(exc, Error):
        return ConfigError(
            f"{where}: {exc}. Check the connection in ~/.snowflake/connections.toml "
            "(or name another one) and retry."
        )
    return exc


def borrow_session(session: Session, settings: SnowflakeSettings) -> SnowflakeSession:
    """Wrap a session owned by someone else (a stored procedure's, a test's); close() keeps it open."""
    return SnowflakeSession(
        session, description=f"borrowed, {settings.database}.{settings.schema}", owned=False
    )


def _describe(settings: SnowflakeSettings, parameters: ConnectionParameters | None) -> str:
    where = f"{settings.database}.{settings.schema}"
    if parameters is not None:
        return f"{parameters.describe()}, {where}"
    if settings.credentials_block is not None:
        return f"credentials block {settings.credentials_block!r}, {where}"
    name = settings.connection_name or "default connection"
    return f"connection {name!r}, {where}"
