"""The embedded SQLite registry passes the registry contract."""

from __future__ import annotations

import shutil

import pytest

from flows.backends.local.registry import LocalRegistry
from flows.data.contract import DEFAULT_CONTRACT
from flows.data.quickstart import generate_applications
from flows.errors import ArtifactIntegrityError
from flows.names import FEATURE_COLUMNS
from tests.registry.contract import TINY_SPEC, RegistryContract, record


class TestLocalRegistry(RegistryContract):
    @pytest.fixture
    def registry(self, tmp_path) -> LocalRegistry:
        return LocalRegistry(tmp_path / "home", "CREDIT_APPROVAL")


@pytest.fixture(scope="module")
def tiny_data():
    return DEFAULT_CONTRACT.validate(generate_applications(2))


@pytest.fixture(scope="module")
def tiny_model(tiny_data):
    return TINY_SPEC.build().fit(tiny_data[list(FEATURE_COLUMNS)], tiny_data["approved"])


class TestRecentModels:
    """A process keeps the models it last logged or loaded, and still checks their files."""

    @pytest.fixture
    def logged(self, tmp_path, tiny_model, tiny_data) -> LocalRegistry:
        registry = LocalRegistry(tmp_path / "home", "CREDIT_APPROVAL")
        for name in ("V_ONE", "V_TWO", "V_THREE"):
            registry.log_version(
                tiny_model,
                record(name, registry.model_name),
                sample_input=tiny_data[list(FEATURE_COLUMNS)].head(5),
            )
        return registry

    def test_a_fresh_registry_reuses_the_model_just_logged(self, logged, tiny_model):
        reopened = LocalRegistry(logged.home, logged.model_name)
        assert reopened.load_model("V_THREE") is tiny_model
        assert reopened.load_model("V_TWO") is tiny_model

    def test_only_the_last_two_are_kept(self, logged, tiny_model):
        first = LocalRegistry(logged.home, logged.model_name).load_model("V_ONE")
        assert first is not tiny_model  # evicted: unpickled from its file
        assert type(first) is type(tiny_model)

    def test_a_kept_model_whose_file_was_altered_is_refused(self, logged):
        artifact = logged.artifacts / "V_THREE" / "model.pkl"
        artifact.write_bytes(artifact.read_bytes() + b"tampered")
        with pytest.raises(ArtifactIntegrityError, match="does not match the SHA-256"):
            LocalRegistry(logged.home, logged.model_name).load_model("V_THREE")
        artifact.unlink()
        with pytest.raises(ArtifactIntegrityError, match=f"is missing: {artifact}"):
            logged.load_model("V_THREE")

    def test_another_home_does_not_share_them(self, logged, tmp_path, tiny_model):
        copy = tmp_path / "copy"
        shutil.copytree(logged.home, copy)
        assert LocalRegistry(copy, logged.model_name).load_model("V_THREE") is not tiny_model
