"""CI runs what the README tells a newcomer to run: `.ci/run` holds the README's install-and-test
command, and that command checks the import contracts (pyproject.toml) before the tests."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_the_readmes_test_command_and_it_lints_the_imports_first():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    command = next(block for block in blocks if ".venv/bin/pytest" in block)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci
    assert command.endswith(".venv/bin/lint-imports && .venv/bin/pytest -n auto")
