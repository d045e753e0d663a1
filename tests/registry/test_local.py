"""The embedded SQLite registry passes the registry contract."""

from __future__ import annotations

import pytest

from flows.registry.local import LocalRegistry
from tests.registry.contract import RegistryContract


class TestLocalRegistry(RegistryContract):
    @pytest.fixture
    def registry(self, tmp_path) -> LocalRegistry:
        return LocalRegistry(tmp_path / "home", "CREDIT_APPROVAL")
