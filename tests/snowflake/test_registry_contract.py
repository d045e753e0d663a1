"""The Snowflake registry passes the shared registry contract, driving the real ML client.

Every statement goes through the recording session (``tests/snowflake/recording_session.py``),
which answers the Snowflake ML Registry's SQL and our own; see its docstring for the
two seams (model upload and the inference query).
"""

from __future__ import annotations

import pytest

from flows.backends.snowflake.registry import SnowflakeRegistry
from tests.registry.contract import RegistryContract


class TestSnowflakeRegistry(RegistryContract):
    @pytest.fixture
    def registry(self, make_registry) -> SnowflakeRegistry:
        return make_registry()
