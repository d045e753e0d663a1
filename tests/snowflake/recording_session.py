"""A recording stand-in for a Snowpark session: a small Snowflake that answers our SQL.

The real ``snowflake.ml.registry.Registry`` issues every operation as SQL through
``session.sql(q).collect()``; nothing in it runs in Snowpark's local-testing mode.
This session records each statement and answers it from an in-memory model registry
that keeps Snowflake's rules (one user alias per version, an alias on one version
only, tags that must be created before they are set, system aliases DEFAULT, FIRST
and LAST). Our own tables (ledger, lock, row hashes) are answered on SQLite.

Seams, each the narrowest that keeps the real client code running:

- model upload: :meth:`RecordingSession.upload_directory` replaces
  ``snowflake.ml._internal.file_utils.upload_directory_to_stage`` (the client's PUT
  of the packaged model); the files land in the stage, and ``CREATE MODEL … FROM
  @stage`` copies them into the version, as Snowflake does;
- inference: the client uploads the rows with ``create_dataframe`` (delegated to a
  real Snowpark local-testing session) and sends ``SELECT … MODEL(m, v)!PREDICT_PROBA
  (…)``; the answer is a local-testing DataFrame whose result column is computed by
  unpickling the uploaded ``model.pkl`` and calling the method on those rows, so the
  client's own unpacking, ordering and download run unchanged;
- DataFrame reads and writes (``table``, ``create_dataframe``) go to the same
  local-testing session.

Failures are injected per statement (:meth:`RecordingSession.fail`, see
``tests/snowflake/faults.py``). Our own tables live in ``sqlite_tables.py``.
"""

from __future__ import annotations

import copy
import itertools
import json
import pickle
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from snowflake.snowpark import Row
from snowflake.snowpark.exceptions import SnowparkSQLException

from tests.snowflake.faults import Faults
from tests.snowflake.sqlite_tables import STATEMENT, SqliteTables
from tests.snowflake.stand_in_models import StoredModel, StoredVersion

_SYSTEM_ALIASES = ("DEFAULT", "FIRST", "LAST")
_OK = [Row(status="Statement executed successfully.")]


class UnansweredStatementError(AssertionError):
    """The code under test sent a statement this stand-in does not know: pin it first."""


@dataclass(frozen=True)
class Statement:
    """One recorded statement: normalised text and its bind values."""

    sql: str
    params: tuple[Any, ...] = ()


class RecordingSession:
    """A Snowpark-session stand-in for database ``database`` and schema ``schema``."""

    def __init__(self, database: str = "CC_DB", schema: str = "CC_SCHEMA") -> None:
        self.database = database
        self.schema = schema
        self.statements: list[Statement] = []
        self.models: dict[str, StoredModel] = {}
        self.tag_objects: set[str] = set()
        self.stages: dict[str, dict[str, bytes]] = {}
        self.faults = Faults()
        self.closed = False
        self.read_only = False
        """Refuse every write, as for a role holding only USAGE and SELECT."""
        self.tables = SqliteTables(f"{database}.{schema}.")
        self._clock = itertools.count()
        self._local: Any = None
        self._last_frame: pd.DataFrame | None = None

    # -- the Snowpark surface the code under test uses ----------------------------------

    def get_current_database(self) -> str:
        return f'"{self.database}"'

    def get_current_schema(self) -> str:
        return f'"{self.schema}"'

    def sql(self, query: str, params: Any = None, **_: Any) -> Any:
        text = " ".join(query.split())
        values = tuple(params or ())
        self.faults.run_stalls(len(self.statements))
        self.faults.run_hooks(text)
        self.statements.append(Statement(text, values))
        if self.read_only and re.match(
            r"(CREATE|ALTER|INSERT|UPDATE|MERGE|DELETE|DROP|PUT) ", text
        ):
            raise SnowparkSQLException(f"Insufficient privileges to operate on: {text[:60]}")
        return self.faults.answer(
            len(self.statements) - 1, text, lambda: self._answer(text, values)
        )

    def create_dataframe(self, data: Any, schema: Any = None, **kwargs: Any) -> Any:
        if isinstance(data, pd.DataFrame):
            self._last_frame = data
        self.statements.append(Statement(f"-- create_dataframe ({len(data)} rows)"))
        return self.local.create_dataframe(data, schema=schema, **kwargs)

    def table(self, name: str) -> Any:
        self.statements.append(Statement(f"-- table {name}"))
        return self.local.table(name)

    def close(self) -> None:
        self.closed = True

    @property
    def local(self) -> Any:
        """The Snowpark local-testing session behind the DataFrame API."""
        if self._local is None:
            from snowflake.snowpark import Session

            from tests.snowflake import local_hashes  # noqa: F401 - registers HASH, HASH_AGG

            self._local = Session.SessionBuilder().config("local_testing", True).create()
        return self._local

    def upload_directory(
        self,
        session: Any,
        local_path: Path,
        stage_path: PurePosixPath,
        *,
        statement_params: dict[str, Any] | None = None,
    ) -> None:
        """Stands in for ``file_utils.upload_directory_to_stage``: files go into the stage."""
        stage, _, prefix = str(stage_path).lstrip("@").partition("/")
        files = self.stages.setdefault(stage, {})
        for path in sorted(Path(local_path).rglob("*")):
            if path.is_file():
                key = PurePosixPath(prefix, path.relative_to(local_path).as_posix())
                files[str(key)] = path.read_bytes()
        self.statements.append(Statement(f"-- PUT {len(files)} files to @{stage}/{prefix}"))

    # -- test controls ------------------------------------------------------------------

    def fail(
        self, after: int = 0, *, applied: bool = False, then_dead: bool = False, crash: bool = False
    ) -> None:
        """Make the statement ``after`` statements from now fail (0 = the next one).

        Args:
            applied: The statement takes effect before the error (a lost reply).
            then_dead: Every later statement fails too (the connection is gone).
            crash: The process dies instead of getting an error: :class:`ProcessCrash`
                is raised and the connection is gone (no ``finally`` reaches the server).
        """
        at = len(self.statements) + after
        self.faults.fail(at, applied=applied, then_dead=then_dead, crash=crash)

    def before(self, pattern: str, action: Any) -> None:
        """Run ``action()`` once, just before the next statement matching ``pattern`` is recorded.

        A failure the action registers with ``fail()`` therefore hits that statement
        (unless the action sends statements of its own first).
        """
        self.faults.before(pattern, action)

    def stall(self, after: int, action: Any) -> None:
        """Run ``action()`` once, just before the statement ``after`` statements from now.

        The runner under test is paused there while ``action`` (another run) goes on.
        """
        self.faults.stall(len(self.statements) + after, action)

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward."""
        self.tables.clock_offset += timedelta(seconds=seconds)

    def revive(self) -> None:
        """Bring the connection back and drop pending failures."""
        self.faults.revive()

    def snapshot(self) -> dict[str, Any]:
        """The server-side state, to :meth:`restore` later (the statement log is kept)."""
        return {
            "models": copy.deepcopy(self.models),
            "tags": set(self.tag_objects),
            "stages": copy.deepcopy(self.stages),
            "tables": self.tables.db.serialize(),
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Return the server-side state to ``snapshot``."""
        self.models = copy.deepcopy(snapshot["models"])
        self.tag_objects = set(snapshot["tags"])
        self.stages = copy.deepcopy(snapshot["stages"])
        self.tables.db.deserialize(snapshot["tables"])
        self.revive()

    def sql_log(self, *, since: int = 0) -> list[str]:
        """The statement texts recorded from position ``since`` on."""
        return [s.sql for s in self.statements[since:]]

    def pointers(self, model: str) -> dict[str, str | None]:
        """The server-side truth, independent of the code under test."""
        found = self.models[model]
        holders = {v.alias: v.name for v in found.versions.values() if v.alias}
        return {
            "CHAMPION": holders.get("CHAMPION"),
            "CHALLENGER": holders.get("CHALLENGER"),
            "default": found.default,
            "LIVE_VERSION": found.tags.get(self._tag("LIVE_VERSION")),
            "CHALLENGER_VERSION": found.tags.get(self._tag("CHALLENGER_VERSION")),
        }

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of one of our tables, as dicts."""
        return self.tables.rows(table)

    # -- answering ----------------------------------------------------------------------

    def _tag(self, name: str) -> str:
        return f"{self.database}.{self.schema}.{name}"

    def _now(self) -> datetime:
        return datetime(2026, 1, 5, 9, 0) + timedelta(seconds=next(self._clock))

    def _answer(self, q: str, params: tuple[Any, ...]) -> Any:
        for pattern, handler in self._handlers():
            match = re.fullmatch(pattern, q)
            if match:
                return _Result(handler(match, params))
        match = re.search(r"MODEL\((\S+?),(\S+?)\)!(\w+)\(.*\) AS (TMP_RESULT_\w+)", q)
        if match:
            return self._infer(*match.groups())
        if STATEMENT.match(q):
            return _Result(self.tables.run(q, params))
        raise UnansweredStatementError(f"No answer for: {q}")

    def _handlers(self) -> list[tuple[str, Any]]:
        return [
            (
                r"SHOW DATABASES LIKE '(\w+)';?",
                lambda m, p: self._named(m[1] == self.database, self.database),
            ),
            (
                r"SHOW SCHEMAS LIKE '(\w+)' IN DATABASE (\w+);?",
                lambda m, p: self._named(
                    m[1] == self.schema and m[2] == self.database, self.schema
                ),
            ),
            (
                r"SELECT SYSTEM\$ML_PLATFORM_CAPABILITIES\(\) AS FEATURES;?",
                lambda m, p: [Row(FEATURES="{}")],
            ),
            (r"SELECT PACKAGE_NAME, VERSION FROM information_schema\.packages .*", self._packages),
            (
                r"SHOW PARAMETERS LIKE 'QUOTED_IDENTIFIERS_IGNORE_CASE' IN SESSION",
                lambda m, p: [Row(key="QUOTED_IDENTIFIERS_IGNORE_CASE", value="false")],
            ),
            (r"CREATE SCOPED TEMPORARY STAGE (\S+)", self._create_stage),
            (r"SHOW MODELS(?: LIKE '(\w+)')? IN SCHEMA (\S+)", self._show_models),
            (r"SHOW VERSIONS(?: LIKE '(\w+)')? IN MODEL (\S+)", self._show_versions),
            (r"SHOW FUNCTIONS IN MODEL (\S+) VERSION (\S+)", self._show_functions),
            (r"CREATE MODEL (\S+) WITH VERSION (\S+) FROM @(\S+)", self._create_model),
            (r"ALTER MODEL (\S+) ADD VERSION (\S+) FROM @(\S+)", self._add_version),
            (r"ALTER MODEL (\S+) MODIFY VERSION (\S+) SET COMMENT=\$\$(.*)\$\$", self._comment),
            (r"ALTER MODEL (\S+) MODIFY VERSION (\S+) SET METADATA=\$\$(.*)\$\$", self._metadata),
            (r"ALTER MODEL (\S+) VERSION (\S+) SET ALIAS = (\S+)", self._set_alias),
            (r"ALTER MODEL (\S+) VERSION (\S+) UNSET ALIAS", self._unset_alias),
            (r"ALTER MODEL (\S+) SET DEFAULT_VERSION = (\S+)", self._set_default),
            (r"ALTER MODEL (\S+) DROP VERSION (\S+)", self._drop_version),
            (r"ALTER MODEL (\S+) SET TAG (\S+) = \$\$(.*)\$\$", self._set_tag),
            (r"ALTER MODEL (\S+) UNSET TAG (\S+)", self._unset_tag),
            (
                r"SELECT SYSTEM\$GET_TAG\(\$\$(\S+)\$\$, \$\$(\S+)\$\$, 'MODULE'\) AS TAG_VALUE",
                self._get_tag,
            ),
            (r"CREATE TAG IF NOT EXISTS (\S+)(?: COMMENT = '[^']*')?", self._create_tag),
            (
                r"SELECT COLUMN_NAME, DATA_TYPE FROM (\w+)\.INFORMATION_SCHEMA\.COLUMNS "
                r"WHERE TABLE_SCHEMA = \? AND TABLE_NAME = \?",
                lambda m, p: self.tables.columns(p[1]) if m[1] == self.database else [],
            ),
        ]

    @staticmethod
    def _named(found: bool, name: str) -> list[Row]:
        return [Row(name=name, created_on=None)] if found else []

    def _packages(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        from snowflake.ml.version import VERSION

        return [Row(PACKAGE_NAME="snowflake-ml-python", VERSION=VERSION)]

    def _create_stage(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        self.stages[match[1]] = {}
        return _OK

    def _model(self, qualified: str) -> StoredModel:
        name = qualified.rsplit(".", 1)[-1]
        if name not in self.models:
            raise SnowparkSQLException(
                f"SQL compilation error: Model '{qualified}' does not exist or not authorized."
            )
        return self.models[name]

    def _version(self, qualified: str, name: str) -> StoredVersion:
        model = self._model(qualified)
        if name not in model.versions:
            raise SnowparkSQLException(
                f"SQL compilation error: Version '{name}' does not exist in model {qualified}."
            )
        return model.versions[name]

    def _show_models(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        return [
            Row(
                created_on=m.created_on,
                name=m.name,
                database_name=self.database,
                schema_name=self.schema,
                comment=None,
                default_version_name=m.default,
                versions=json.dumps(list(m.versions)),
                owner="CC_ROLE",
            )
            for m in self.models.values()
            if match[1] in (None, m.name)
        ]

    def _show_versions(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        model = self._model(match[2])
        names = list(model.versions)
        rows = []
        for version in model.versions.values():
            if match[1] not in (None, version.name):
                continue
            system = [
                alias
                for alias, holder in zip(
                    _SYSTEM_ALIASES, (model.default, names[0], names[-1]), strict=True
                )
                if holder == version.name
            ]
            rows.append(
                Row(
                    created_on=version.created_on,
                    name=version.name,
                    aliases=json.dumps(([version.alias] if version.alias else []) + system),
                    comment=version.comment,
                    database_name=self.database,
                    schema_name=self.schema,
                    model_name=model.name,
                    is_default_version=version.name == model.default,
                    functions=json.dumps([m["name"] for m in version.manifest["methods"]]),
                    metadata=version.metadata,
                    user_data="{}",
                    model_spec=version.files["model/model.yaml"].decode(),
                    runnable_in=json.dumps(version.manifest.get("target_platforms", [])),
                    model_attributes=json.dumps({"task": version.spec.get("task", "UNKNOWN")}),
                )
            )
        return rows

    def _show_functions(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        version = self._version(match[1], match[2])
        return [Row(name=m["name"], return_type="OBJECT") for m in version.manifest["methods"]]

    def _staged(self, location: str) -> dict[str, bytes]:
        stage, _, prefix = location.partition("/")
        root = f"{prefix}/" if prefix else ""
        files = {
            key[len(root) :]: data
            for key, data in self.stages.get(stage, {}).items()
            if key.startswith(root)
        }
        if not files:
            raise SnowparkSQLException(f"SQL compilation error: Nothing staged at @{location}.")
        return files

    def _create_model(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        name = match[1].rsplit(".", 1)[-1]
        if name in self.models:
            raise SnowparkSQLException(
                f"SQL compilation error: Object '{match[1]}' already exists."
            )
        self.models[name] = StoredModel(name, self._now())
        return self._add_version(match, params)

    def _add_version(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        model = self._model(match[1])
        if match[2] in model.versions:
            raise SnowparkSQLException(
                f"SQL compilation error: Version '{match[2]}' already exists in model {match[1]}."
            )
        model.versions[match[2]] = StoredVersion(match[2], self._now(), self._staged(match[3]))
        model.default = model.default or match[2]  # a model's first version is its default
        return _OK

    def _comment(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        self._version(match[1], match[2]).comment = match[3]
        return _OK

    def _metadata(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        self._version(match[1], match[2]).metadata = match[3]
        return _OK

    def _set_alias(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        model, version, alias = self._model(match[1]), self._version(match[1], match[2]), match[3]
        if alias in _SYSTEM_ALIASES:
            raise SnowparkSQLException(f"SQL compilation error: '{alias}' is a system alias.")
        if any(v.alias == alias for v in model.versions.values()):
            raise SnowparkSQLException(f"SQL compilation error: Alias '{alias}' already exists.")
        if version.alias is not None:
            raise SnowparkSQLException(
                f"SQL compilation error: Version '{version.name}' already has alias '{version.alias}'."
            )
        version.alias = alias
        return _OK

    def _unset_alias(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        model, target = self._model(match[1]), match[2]
        for version in model.versions.values():
            if version.alias is not None and target in (version.alias, version.name):
                version.alias = None
                return _OK
        raise SnowparkSQLException(f"SQL compilation error: Alias '{target}' does not exist.")

    def _set_default(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        self._model(match[1]).default = self._version(match[1], match[2]).name
        return _OK

    def _drop_version(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        model, version = self._model(match[1]), self._version(match[1], match[2])
        if model.default == version.name:
            raise SnowparkSQLException(
                f"SQL compilation error: Cannot drop the default version '{version.name}'."
            )
        del model.versions[version.name]
        return _OK

    def _require_tag(self, tag: str) -> None:
        if tag not in self.tag_objects:
            raise SnowparkSQLException(
                f"SQL compilation error: Tag '{tag}' does not exist or not authorized."
            )

    def _set_tag(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        self._require_tag(match[2])
        if len(match[3]) > 256:
            raise SnowparkSQLException("Tag values are at most 256 characters.")
        self._model(match[1]).tags[match[2]] = match[3]
        return _OK

    def _unset_tag(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        self._require_tag(match[2])
        self._model(match[1]).tags.pop(match[2], None)
        return _OK

    def _get_tag(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        self._require_tag(match[1])
        return [Row(TAG_VALUE=self._model(match[2]).tags.get(match[1]))]

    def _create_tag(self, match: re.Match[str], params: tuple[Any, ...]) -> list[Row]:
        self.tag_objects.add(match[1])
        return _OK

    def _infer(self, qualified: str, version_name: str, method: str, result_column: str) -> Any:
        """Answer ``MODEL(m, v)!METHOD(...)`` from the uploaded model and the uploaded rows."""
        version = self._version(qualified, version_name)
        model_name = qualified.rsplit(".", 1)[-1]
        estimator = pickle.loads(version.files[f"model/models/{model_name}/model.pkl"])
        signature = version.spec["signatures"][method.lower()]
        inputs = [feature["name"] for feature in signature["inputs"]]
        outputs = [feature["name"] for feature in signature["outputs"]]
        frame = self._last_frame
        assert frame is not None, "inference before any rows were uploaded"
        values = getattr(estimator, method.lower())(frame[inputs])
        values = values.reshape(len(frame), -1)
        packed = [dict(zip(outputs, map(float, row), strict=True)) for row in values]
        return self.local.create_dataframe(frame.assign(**{result_column: packed}))


class _Result:
    """What ``session.sql`` returns: rows on ``collect``."""

    def __init__(self, rows: list[Row]) -> None:
        self._rows = rows

    def collect(self, *args: Any, **kwargs: Any) -> list[Row]:
        return self._rows
