"""The layers of DESIGN.md as import contracts (pyproject.toml ``[tool.importlinter]``), checked
by import-linter over every import, including those only made for type checking: the core
imports no UI, ``trust/`` never imports ``remote/`` (both meet at ``tui.identity``), backends
do not import each other, and no modules or packages import each other in a circle."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]


def lint_imports(*args: str, cwd: pathlib.Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run import-linter on this tree (not on an installed copy of ``tui``)."""
    code = "import sys; from importlinter.cli import lint_imports_command; lint_imports_command()"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, "--no-cache", *args],
        capture_output=True, text=True, cwd=cwd, env=environment, timeout=60,
    )  # fmt: skip


def test_the_import_contracts__are_all_kept():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    for contract in ("core-no-ui", "core-layers", "trust-not-remote", "backends-apart",
                     "acyclic"):  # fmt: skip
        assert contract in (ROOT / "pyproject.toml").read_text()


def test_a_contract_that_the_code_breaks__fails_the_check(tmp_path):
    """The checker bites: the same machinery with a contract the tree does break (the trust
    policy does import the identity module) reports it and exits non-zero."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        textwrap.dedent("""
        [tool.importlinter]
        root_package = "tui"

        [[tool.importlinter.contracts]]
        name = "trust without identity"
        type = "forbidden"
        source_modules = ["tui.trust"]
        forbidden_modules = ["tui.identity"]
    """)
    )
    result = lint_imports(str(config))
    assert result.returncode == 1
    assert "BROKEN" in result.stdout and "tui.trust.policy -> tui.identity" in result.stdout
