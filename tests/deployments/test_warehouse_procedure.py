"""The stage procedure a flow in warehouse mode calls: created by setup, pins checked first."""

from __future__ import annotations

import zipfile

import pytest

from deployments.code_archive import build_archive
from deployments.snowflake_deploy import install_stage_procedure
from deployments.snowflake_graph import PROCEDURE_PACKAGES
from flows.config import SnowflakeSettings
from flows.errors import ConfigError
from flows.package_identity import DISTRIBUTION, IDENTITY_FILE, local_identity
from tests.deployments.test_snowflake_deploy import HOSTED, AccountSession

SETTINGS = SnowflakeSettings(database="CC_DB", schema="CC_SCHEMA")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return build_archive(tmp_path_factory.mktemp("dist"))


def test_warehouse_procedure_is_created_after_the_code_is_shipped(archive):
    session = AccountSession()
    ran = install_stage_procedure(session, SETTINGS, archive=archive)
    assert [line.split()[0:2] for line in session.log] == [
        ["SELECT", "PACKAGE_NAME,"],
        ["CREATE", "STAGE"],
        ["PUT", archive.name],
        ["CREATE", "OR"],
    ]
    procedure = session.log[3]
    assert procedure.startswith(
        "CREATE OR REPLACE PROCEDURE CC_DB.CC_SCHEMA.CHAMPION_CHALLENGER_STAGE"
        "(STAGE VARCHAR, REQUEST VARCHAR)"
    )
    assert "HANDLER = 'flows.backends.snowflake.stage_procedure.run_stage'" in procedure
    assert f"@CC_DB.CC_SCHEMA.CHAMPION_CHALLENGER_CODE/{archive.name}" in procedure
    assert all(f"'{pin}'" in procedure for pin in PROCEDURE_PACKAGES)
    assert len(ran) == 3


def test_warehouse_procedure_with_an_unhosted_pin_creates_nothing(archive):
    hosted = [row for row in HOSTED if row[0] != "numpy"]
    session = AccountSession(hosted=hosted)
    with pytest.raises(ConfigError, match=r"does not host numpy==\S+ \(hosted: none\)"):
        install_stage_procedure(session, SETTINGS, archive=archive)
    assert len(session.log) == 1  # the channel's list only


def test_warehouse_archive_carries_the_identity_the_flow_checks(archive):
    info = f"{DISTRIBUTION.replace('-', '_')}-{local_identity().version}.dist-info"
    with zipfile.ZipFile(archive) as zipped:
        identity = zipped.read(f"{info}/{IDENTITY_FILE}").decode()
    assert local_identity().content_hash in identity
    assert f'"version": "{local_identity().version}"' in identity
