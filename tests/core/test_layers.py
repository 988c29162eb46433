"""The core below the UI line imports neither Textual nor Rich (DESIGN.md, "Layers")."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORE = ["tui.connection", "tui.sites", "tui.errors", "tui.textsafe", "tui.cli", "tui.demo"]
CORE += ["tui.identity", "tui.backends"]
CORE += [
    "tui." + ".".join(path.relative_to(ROOT / "tui").with_suffix("").parts)
    for package in ("remote", "trust", "transfer")
    for path in sorted((ROOT / "tui" / package).glob("*.py"))
    if path.name != "__init__.py"
]


def printed_by(code: str) -> str:
    """What ``code`` prints when run in a fresh interpreter (so its imports are its own)."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_ui(module):
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))"
    )
    loaded = printed_by(code)
    assert loaded == "", f"{module} pulls in {loaded}"


def test_the_check_covers_the_core_packages():
    assert "tui.remote.ftp" in CORE and "tui.transfer.copy" in CORE


def test_a_cli_transfer_loads_no_module_it_does_not_use():
    """What `ferryman get` imports before it connects is start-up time for every script:
    the HTTP client (revocation fetches) and the XML parser (import-filezilla) wait until
    they are needed."""
    code = (
        "import sys\n"
        "from tui import cli\n"
        "cli.build_parser().parse_args(['get', 'ftp://h/f'])\n"
        "import tui.connection\n"
        "heavy = ('urllib.request', 'http.client', 'email.parser', 'xml.etree.ElementTree')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    loaded = printed_by(code)
    assert loaded == "", f"loaded at start-up: {loaded}"
