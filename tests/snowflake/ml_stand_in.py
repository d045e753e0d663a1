"""A stand-in for the Snowflake ML registry at its boundary, for Snowpark sessions on fakesnow.

fakesnow runs none of the ML registry's statements (``SHOW MODELS``,
``MODEL(m, v)!PREDICT_PROBA``, ...), so the warehouse-mode tests replace
:func:`flows.backends.snowflake._ml.open_ml_registry` with :meth:`MLStandIn.open`:
an in-memory registry answering the calls :class:`SnowflakeRegistry` and the table
scorer make (``get_model``, ``log_model``, ``show_models``; a model's
``show_versions``, ``version``, tags and default; a version's aliases and ``run``).
It keeps the registry's rules that matter here: immutable versions, one alias per
version, an alias on one version only, tags absent until set.

The real snowflake-ml client code is exercised by the recording-session tests
(``recording_session.py``); this stand-in only lets the rest of the warehouse path
(Snowpark reads, the tables, the stage procedure) run for real on fakesnow.

``run`` on a Snowpark DataFrame computes the probabilities in this process, where
Snowflake would in the warehouse: the rows it reads go through the session that asked
(the procedure's, in these tests), never the worker's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from flows.records import utc_now

_MISSING_MODEL = "Unable to find model"


@dataclass
class _Version:
    name: str
    estimator: Any
    comment: str
    metrics: dict[str, Any]
    created_on: str
    alias: str | None = None


@dataclass
class _Model:
    versions: dict[str, _Version] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    default: str | None = None


class MLStandIn:
    """The account's model registry, shared by every session of one test."""

    def __init__(self) -> None:
        self.models: dict[str, _Model] = {}
        self.runs: list[tuple[str, str]] = []
        """``(version, "pandas" | "snowpark")`` of every ``run``, in order."""

    def open(self, session: Any, settings: Any) -> _Registry:
        """What ``open_ml_registry(session, settings)`` returns."""
        return _Registry(self, session)


class _Registry:
    def __init__(self, account: MLStandIn, session: Any) -> None:
        self.account = account
        self.session = session

    def show_models(self) -> pd.DataFrame:
        return pd.DataFrame({"name": sorted(self.account.models)})

    def get_model(self, name: str) -> _ModelHandle:
        if name not in self.account.models:
            raise ValueError(f"{_MISSING_MODEL} {name}.")
        return _ModelHandle(self.account, name, self.session)

    def log_model(
        self,
        model: Any,
        *,
        model_name: str,
        version_name: str,
        comment: str | None = None,
        metrics: dict[str, Any] | None = None,
        **options: Any,
    ) -> _VersionHandle:
        stored = self.account.models.setdefault(model_name, _Model())
        if version_name in stored.versions:
            raise ValueError(f"Version {version_name} already exists.")
        stored.versions[version_name] = _Version(
            version_name, model, comment or "", dict(metrics or {}), utc_now()
        )
        if stored.default is None:
            stored.default = version_name
        return _VersionHandle(self.account, model_name, version_name, self.session)


class _ModelHandle:
    def __init__(self, account: MLStandIn, name: str, session: Any) -> None:
        self.account, self.name, self.session = account, name, session

    @property
    def _model(self) -> _Model:
        return self.account.models[self.name]

    def show_versions(self) -> pd.DataFrame:
        rows = []
        for v in self._model.versions.values():
            aliases = [a for a in (v.alias,) if a] + (
                ["DEFAULT"] if self._model.default == v.name else []
            )
            rows.append(
                {
                    "name": v.name,
                    "comment": v.comment,
                    "metadata": json.dumps({"metrics": v.metrics}),
                    "aliases": json.dumps(aliases),
                    "created_on": v.created_on,
                }
            )
        return pd.DataFrame(rows, columns=["name", "comment", "metadata", "aliases", "created_on"])

    def version(self, name: str) -> _VersionHandle:
        if name not in self._model.versions:
            raise ValueError(f"Unable to find version {name}.")
        return _VersionHandle(self.account, self.name, name, self.session)

    def get_tag(self, tag: str) -> str | None:
        return self._model.tags.get(tag)

    def set_tag(self, tag: str, value: str) -> None:
        self._model.tags[tag] = value

    def unset_tag(self, tag: str) -> None:
        self._model.tags.pop(tag, None)

    @property
    def default(self) -> str | None:
        return self._model.default

    @default.setter
    def default(self, version: Any) -> None:
        self._model.default = getattr(version, "version_name", version)


class _VersionHandle:
    def __init__(self, account: MLStandIn, model: str, name: str, session: Any) -> None:
        self.account, self.model, self.version_name, self.session = account, model, name, session

    @property
    def _version(self) -> _Version:
        return self.account.models[self.model].versions[self.version_name]

    def set_alias(self, alias: str) -> None:
        for other in self.account.models[self.model].versions.values():
            if other.alias == alias:
                raise ValueError(f"Alias {alias} is already on version {other.name}.")
        if self._version.alias:
            raise ValueError(
                f"Version {self.version_name} already has alias {self._version.alias}."
            )
        self._version.alias = alias

    def unset_alias(self, alias: str) -> None:
        if self._version.alias == alias:
            self._version.alias = None

    def run(self, data: Any, *, function_name: str = "predict_proba") -> Any:
        """Probabilities of both classes: a pandas frame, or the Snowpark frame plus two columns."""
        assert function_name == "predict_proba", function_name
        if isinstance(data, pd.DataFrame):
            self.account.runs.append((self.version_name, "pandas"))
            return pd.DataFrame(self._version.estimator.predict_proba(data))
        self.account.runs.append((self.version_name, "snowpark"))
        rows = data.to_pandas()
        features = rows.rename(columns=lambda c: c.strip('"'))
        features = features[list(self._version.estimator.feature_names_in_)]
        probabilities = self._version.estimator.predict_proba(features)
        rows["output_feature_0"] = probabilities[:, 0]
        rows["output_feature_1"] = probabilities[:, 1]
        return self.session.create_dataframe(rows)
