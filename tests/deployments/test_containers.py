"""The Docker variant: a Dockerfile that parses, and prefect-docker steps that accept their configuration.

Nothing is built here (no Docker daemon); what can be checked without one is.
"""

from __future__ import annotations

import inspect
import re
import tomllib

import pytest
import yaml

from deployments.code_version import code_version_step
from tests.conftest import REPO

INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip
"""Every Dockerfile instruction (Docker's reference)."""


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """``(instruction, arguments)`` per logical line: comments dropped, continuations joined."""
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        instruction, _, arguments = current.strip().partition(" ")
        logical.append((instruction.upper(), arguments.strip()))
        current = ""
    assert not current, "the Dockerfile ends in a line continuation"
    return logical


@pytest.fixture(scope="module")
def docker_project():
    return yaml.safe_load((REPO / "prefect.docker.yaml").read_text())


def test_the_dockerfile_parses_and_installs_this_package_from_its_sources():
    instructions = dockerfile_instructions((REPO / "Dockerfile").read_text())

    assert {name for name, _ in instructions} <= INSTRUCTIONS
    assert instructions[0][0] == "FROM"
    for name, arguments in instructions:
        if name == "COPY":
            *sources, _ = arguments.split()
            assert all((REPO / source).exists() for source in sources), arguments
    [install] = [a for n, a in instructions if n == "RUN" and "pip install" in a]
    extras = re.search(r'"\.\[(.+)\]"', install).group(1).split(",")
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert set(extras) <= set(declared["optional-dependencies"])


def test_the_build_and_push_steps_accept_their_configuration(docker_project):
    from prefect.utilities.importtools import import_object

    steps = docker_project["build"] + docker_project["push"]
    assert [next(iter(step)) for step in steps] == [
        "deployments.code_version.code_version_step",
        "prefect_docker.deployments.steps.build_docker_image",
        "prefect_docker.deployments.steps.push_docker_image",
    ]
    for step in steps:
        [(path, options)] = step.items()
        arguments = {k: v for k, v in options.items() if k not in ("id", "requires")}
        inspect.signature(import_object(path)).bind(**arguments)  # raises on a wrong key
    outputs = code_version_step()
    assert "+" not in outputs["image_tag"], "an image tag allows no '+'"
    build = steps[1]["prefect_docker.deployments.steps.build_docker_image"]
    assert build["tag"] == "{{ code-version.image_tag }}"


def test_the_docker_deployments_are_prefect_yamls_on_a_docker_pool(docker_project):
    project = yaml.safe_load((REPO / "prefect.yaml").read_text())
    kept = ("name", "entrypoint", "version", "parameters", "schedules", "concurrency_limit")

    def same(deployment):
        return {key: deployment.get(key) for key in kept}

    assert [same(d) for d in docker_project["deployments"]] == [
        same(d) for d in project["deployments"]
    ]
    for deployment in docker_project["deployments"]:
        pool = deployment["work_pool"]
        assert pool["job_variables"]["image"] == "{{ build-image.image }}"
        assert (
            pool["job_variables"]["env"]
            == (project["deployments"][0]["work_pool"]["job_variables"]["env"])
        )
