"""Which code a deployment runs: the package version and the checkout's commit."""

from __future__ import annotations

import subprocess

from deployments.code_version import code_version_step, deployment_version
from flows.package_identity import package_version
from tests.conftest import REPO


def _git(folder, *args):
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_the_version_names_the_package_and_the_commit(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "f.txt").write_text("one")
    _git(tmp_path, "add", "f.txt")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    commit = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    assert deployment_version(tmp_path) == f"{package_version()}+g{commit}"
    (tmp_path / "f.txt").write_text("changed")
    assert deployment_version(tmp_path) == f"{package_version()}+g{commit}.dirty"


def test_outside_a_repository_the_version_is_the_packages(tmp_path):
    assert deployment_version(tmp_path) == package_version()


def test_the_build_step_gives_prefect_deploy_the_version_of_the_current_folder(monkeypatch):
    monkeypatch.chdir(REPO)
    version = deployment_version(REPO)
    assert code_version_step() == {"version": version, "image_tag": version.replace("+", "-")}
