"""Artifacts are checked by SHA-256 before unpickling and read only from the registry's store."""

from __future__ import annotations

import os
import pickle
import sqlite3
from pathlib import Path

import pytest

from flows.data.periods import PeriodRange
from flows.errors import ArtifactIntegrityError, ConfigError
from flows.names import CHAMPION, LIVE_VERSION
from flows.records import ModelVersion
from tests.reliability.helpers import assert_consistent, open_home, pointers


class _Trap:
    """A pickle that creates ``marker`` when it is unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _champion_artifact(home: Path) -> tuple[str, Path]:
    with open_home(home) as (backend, _):
        name = backend.registry.live_version()
        return name, backend.registry.artifacts / name / "model.pkl"


class TestArtifactIntegrity:
    def test_an_altered_artifact_is_refused_before_it_is_unpickled(self, home, tmp_path):
        name, artifact = _champion_artifact(home)
        marker = tmp_path / "unpickled"
        artifact.write_bytes(pickle.dumps(_Trap(marker)))
        with open_home(home) as (backend, _), pytest.raises(ArtifactIntegrityError) as caught:
            backend.registry.load_model(name)
        message = str(caught.value)
        assert f"Artifact of version {name} ({artifact})" in message
        assert "does not match the SHA-256 recorded when it was logged" in message
        assert not marker.exists()

    def test_scoring_with_an_altered_artifact_fails_naming_version_and_file(
        self, home, cli, tmp_path
    ):
        name, artifact = _champion_artifact(home)
        marker = tmp_path / "unpickled"
        artifact.write_bytes(pickle.dumps(_Trap(marker)))
        code, _, err = cli("score", "--home", str(home))
        assert code == 2
        assert name in err and str(artifact) in err and "refusing to load it" in err
        assert not marker.exists()

    def test_a_truncated_artifact_is_refused(self, home):
        name, artifact = _champion_artifact(home)
        artifact.write_bytes(artifact.read_bytes()[: artifact.stat().st_size // 2])
        with open_home(home) as (backend, _):
            rows = backend.source.read_periods(PeriodRange(19, 19))
            with pytest.raises(ArtifactIntegrityError, match=f"Artifact of version {name}"):
                backend.registry.predict_proba(name, rows)

    def test_a_missing_artifact_is_refused_naming_the_file(self, home):
        name, artifact = _champion_artifact(home)
        artifact.unlink()
        with open_home(home) as (backend, _), pytest.raises(ArtifactIntegrityError) as caught:
            backend.registry.load_model(name)
        assert f"Artifact of version {name} is missing: {artifact}" in str(caught.value)


class TestOwnStoreOnly:
    @pytest.mark.parametrize("name", ["../../outside", "V1/../../x", "/etc/passwd", "a b", ""])
    def test_a_path_like_version_name_is_refused_everywhere(self, home, name):
        with open_home(home) as (backend, _):
            registry = backend.registry
            for call in (registry.get_version, registry.load_model, registry.train_row_hashes):
                with pytest.raises(ConfigError, match="Version name must be a plain identifier"):
                    call(name)

    def test_logging_a_path_like_version_name_writes_nothing_outside_the_store(self, home):
        outside = home.parent / "escaped"
        with open_home(home) as (backend, _):
            registry = backend.registry
            model = registry.load_model(registry.live_version())
            record = ModelVersion(
                model_name="CREDIT_APPROVAL", name="../../../escaped", created_at=""
            )
            with pytest.raises(
                ConfigError, match=r"plain identifier .*; got '\.\./\.\./\.\./escaped'"
            ):
                registry.log_version(model, record, sample_input=None)
            assert_consistent(registry)
        assert not outside.exists()

    def test_rollback_to_a_path_like_version_is_refused(self, history_home, cli):
        with open_home(history_home) as (backend, _):
            before = pointers(backend.registry)
        code, _, err = cli("rollback", "--home", str(history_home), "--to", "../CHAMPION_W000")
        assert code == 2 and "Version name must be a plain identifier" in err
        with open_home(history_home) as (backend, _):
            assert pointers(backend.registry) == before

    def test_a_tampered_pointer_cannot_lead_outside_the_store(self, home, cli, tmp_path):
        planted = home / "artifacts" / "planted"
        planted.mkdir(parents=True)
        marker = tmp_path / "unpickled"
        (planted / "model.pkl").write_bytes(pickle.dumps(_Trap(marker)))
        with sqlite3.connect(home / "registry.sqlite") as conn:
            conn.execute("UPDATE tags SET value='../planted' WHERE tag=?", (LIVE_VERSION,))
            conn.execute("UPDATE aliases SET version='../planted' WHERE alias=?", (CHAMPION,))
        code, _, err = cli("score", "--home", str(home))
        assert code == 2
        assert "Version name must be a plain identifier" in err and "'../planted'" in err
        assert not marker.exists()
