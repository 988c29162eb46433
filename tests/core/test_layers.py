"""The core below the UI line imports neither Textual nor Rich (DESIGN.md, "Layers")."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORE = ["tui.connection", "tui.sites", "tui.errors", "tui.textsafe", "tui.cli", "tui.demo"]
CORE += ["tui.identity", "tui.backends", "tui.units", "tui.cli_service"]
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


# What a command that has nothing to do with them must not import: each is start-up time
# that a script running `ferryman ls` from cron pays at every call (issue 23; measured
# with `python -X importtime -m tui ls URL`, tests/bench/bench_cli_startup.py).
NOT_AT_START = (
    "cryptography",  # the certificate parser: only to judge beyond what ssl verified
    "textual", "rich",  # the app
    "tui.app", "tui.screens", "tui.widgets",
    "tui.transfer.engine", "tui.transfer.sync", "tui.transfer.copy", "tui.transfer.segments",
    "tui.cli_transfer", "tui.cli_sync", "tui.cli_trust",
    "tui.trust.certificate", "tui.trust.verify", "tui.trust.revocation",
    "urllib.request", "http.client", "xml.etree.ElementTree", "email.parser",
)  # fmt: skip


def loaded_by(argv: list[str]) -> list[str]:
    """The modules of NOT_AT_START that ``ferryman ARGV`` loaded, run in a fresh interpreter."""
    code = (
        "import sys\n"
        "from tui import cli\n"
        f"code = cli.main({argv!r})\n"
        f"heavy = {NOT_AT_START!r}\n"
        "print(code, ','.join(sorted(m for m in sys.modules\n"
        "    if any(m == h or m.startswith(h + '.') for h in heavy))))"
    )
    exit_code, _, modules = printed_by(code).splitlines()[-1].partition(" ")
    assert exit_code == "0", modules
    return [m for m in modules.split(",") if m]


def test_ls_of_a_plain_ftp_url__imports_no_heavy_module(plain_server, root):
    (pathlib.Path(root) / "a.txt").write_bytes(b"a")
    assert loaded_by(["ls", plain_server.url("ftp")]) == []


def test_ls_over_ftps_with_a_ca_verified_certificate__never_parses_it(tls_server, root, pki):
    """ssl verified the chain and the name and the certificate names no revocation source:
    nothing is left to judge, so cryptography is not loaded."""
    (pathlib.Path(root) / "a.txt").write_bytes(b"a")
    argv = ["ls", tls_server.url("ftpes"), "--ca-file", pki.ca_file]
    assert loaded_by(argv) == []


def test_get_of_one_small_file__imports_the_engine_but_not_sync_or_the_parser(
    plain_server, root, tmp_path
):
    (pathlib.Path(root) / "a.txt").write_bytes(b"a")
    loaded = loaded_by(["get", plain_server.url("ftp", "a.txt"), str(tmp_path / "a.txt")])
    assert loaded == ["tui.cli_transfer", "tui.transfer.copy", "tui.transfer.engine",
                      "tui.transfer.segments"]  # fmt: skip
