"""Every fenced command of the README runs, as written, against a scratch home.

Each ``bash`` block runs as one script (``set -euo pipefail``) in a scratch folder
whose ``.venv`` is this test environment, with ``HOME``, ``CC_HOME`` and ``TMPDIR``
pointing into that folder. ``toml`` blocks are loaded as a home's ``config.toml``.
A block preceded by ``<!-- docs-test: skip, <reason> -->`` is skipped with that
reason (the production sequence needs a server and a worker; the Snowflake
commands an account). The repository's ``examples`` folder is linked into the
scratch folder, as the README's commands run from the repository root. Inside a run
block, the installation steps are satisfied by this environment and the test suite
is not run from within itself.

The flow commands of every block reach the session's Prefect server through
``PREFECT_API_URL``, rather than each block starting (and migrating) a background
server of its own: that path, a first command starting the server and the next
ones reusing it, is what ``tests/flows/test_shared_server.py`` checks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

README = REPO / "README.md"
FENCE = re.compile(
    r"(?:<!-- docs-test: skip, (?P<skip>.+?) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S
)
SATISFIED = {
    r"python3\.11 -m venv \.venv": "this test environment is that virtualenv",
    r"\.venv/bin/pip install .*": "the package is installed in this environment",
    r"\.venv/bin/pytest": "the test suite is not run from within itself",
}
"""Steps of a run block that are not executed, and why."""


def _blocks() -> list[tuple[str, str, str | None]]:
    return [(m["lang"], m["body"], m["skip"]) for m in FENCE.finditer(README.read_text())]


def _runnable(body: str) -> str:
    """The block's script, without the steps :data:`SATISFIED` covers."""
    lines = []
    for line in body.splitlines():
        steps = [s.strip() for s in line.split("#")[0].split("&&")]
        kept = [s for s in steps if s and not any(re.fullmatch(p, s) for p in SATISFIED)]
        if kept:
            lines.append(" && ".join(kept))
    return "\n".join(lines)


def _block_id(block: tuple[str, str, str | None]) -> str:
    lang, body, _ = block
    return f"{lang}: {body.strip().splitlines()[0][:50]}"


def test_the_readme_has_runnable_and_skipped_blocks_and_every_skip_gives_a_reason():
    blocks = _blocks()
    assert sum(skip is None for _, _, skip in blocks) >= 3
    assert all(len(skip) > 20 for _, _, skip in blocks if skip is not None)


@pytest.mark.slow
@pytest.mark.parametrize("block", _blocks(), ids=_block_id)
def test_every_fenced_block_of_the_readme_works(block, tmp_path, request):
    lang, body, skip = block
    if skip is not None:
        pytest.skip(skip)
    if lang == "toml":
        from flows.config import load_settings

        (tmp_path / "config.toml").write_text(body)
        load_settings(home=tmp_path)
        return
    assert lang == "bash", f"a {lang} block: say how to check it, or mark it skipped"
    script = _runnable(body)
    if not script:
        pytest.skip("every step is an installation step this environment satisfies")
    (tmp_path / ".venv").symlink_to(sys.prefix)
    (tmp_path / "examples").symlink_to(REPO / "examples")  # commands run "from the repository root"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CC_", "PREFECT_"))}
    env.update(
        HOME=str(tmp_path),
        TMPDIR=str(tmp_path),
        CC_HOME=str(tmp_path / "home"),
        PREFECT_API_URL=request.getfixturevalue("prefect_server").api_url,
        PATH=f"{Path(sys.prefix) / 'bin'}{os.pathsep}{env['PATH']}",
    )
    result = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{script}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, (
        f"{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


def test_the_command_table_lists_every_command():
    from flows.cli import build_parser

    readme = README.read_text()
    table = readme[readme.index("## Everyday commands") :]
    table = table[: table.index("\n## ", 1)]
    rows = [line for line in table.splitlines() if line.startswith("| `ccflows ")]
    missing = []
    for action in build_parser()._subparsers._group_actions:
        for name, parser in action.choices.items():
            row = next(
                (r for r in rows if f"`ccflows {name}" in r or f"/ `ccflows {name}" in r), None
            )
            if row is None:
                missing.append(name)
                continue
            nested = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
            missing += [f"{name} {sub}" for a in nested for sub in a.choices if sub not in row]
    assert not missing, f"commands missing from the README's table: {missing}"
