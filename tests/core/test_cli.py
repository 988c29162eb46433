"""The CLI contract (DESIGN.md): commands, exit codes, JSON, one-line errors, masked passwords."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from tests.conftest import write
from tui.cli import main
from tui.remote.tls import fingerprint


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real entry point in a child process, with no terminal (like a script or CI)."""
    return subprocess.run(
        [sys.executable, "-m", "tui", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def test_ls_json_shape_through_python_m_tui(tls_server, root, pki):
    write(root, "doc.txt", b"hello")
    os.mkdir(os.path.join(root, "folder"))
    result = run("ls", tls_server.url("ftpes"), "--json", "--ca-file", pki.ca_file)
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert [entry["name"] for entry in listing] == ["folder", "doc.txt"]  # directories first
    doc = listing[1]
    assert set(doc) == {"name", "type", "size", "mtime", "perms", "target", "raw"}
    assert (doc["type"], doc["size"], doc["perms"]) == ("file", 5, "rw-r--r--")
    assert doc["mtime"].endswith("Z")


def test_trust_flag_accepts_exactly_that_fingerprint(tls_server, pki, capsys):
    good = fingerprint(pki.leaf_der)
    assert main(["ls", tls_server.url("ftpes"), "--trust", "sha256:" + good.lower()]) == 0
    capsys.readouterr()
    wrong = ":".join(["00"] * 32)
    assert main(["ls", tls_server.url("ftpes"), "--trust", wrong]) == 4
    captured = capsys.readouterr()
    assert captured.out == "" and good in captured.err and captured.err.count("\n") == 1


def test_usage_errors_exit_2(capsys):
    assert main(["ls"]) == 2
    assert main(["ls", "not-a-url"]) == 2
    assert main(["ls", "ftp://h/", "--trust", "nonsense"]) == 2
    assert main(["get", "gopher://h/x"]) == 2
    assert main(["ls", "ftp://h/", "--ca-file", "/no/such.pem"]) == 2


def test_verbose_log_masks_the_password(plain_server):
    result = run("ls", plain_server.url("ftp"), "-v")
    assert result.returncode == 0
    assert "> PASS ****" in result.stderr
    assert "PASS demo" not in result.stderr
    assert "< 230" in result.stderr and "[Logged in]" in result.stderr


def test_get_follows_cp_semantics(plain_server, root, tmp_path):
    write(root, "dir/a.txt", b"A")
    write(root, "dir/sub/b.txt", b"B")
    (tmp_path / "existing").mkdir()
    assert main(["get", plain_server.url("ftp", "dir/a.txt"), str(tmp_path / "existing")]) == 0
    assert (tmp_path / "existing" / "a.txt").read_bytes() == b"A"
    assert main(["get", plain_server.url("ftp", "dir/a.txt"), str(tmp_path / "renamed.txt")]) == 0
    assert (tmp_path / "renamed.txt").read_bytes() == b"A"
    (tmp_path / "renamed.txt").write_bytes(b"old")
    assert main(["get", plain_server.url("ftp", "dir/a.txt"), str(tmp_path / "renamed.txt")]) == 0
    assert (tmp_path / "renamed.txt").read_bytes() == b"A"  # replaced once complete

    assert (
        main(["get", plain_server.url("ftp", "dir"), str(tmp_path / "copy")]) == 2
    )  # no -r: usage
    assert main(["get", "-r", plain_server.url("ftp", "dir"), str(tmp_path / "copy")]) == 0
    assert (tmp_path / "copy" / "sub" / "b.txt").read_bytes() == b"B"
    assert main(["get", "-r", plain_server.url("ftp", "dir"), str(tmp_path / "copy")]) == 0
    assert (tmp_path / "copy" / "dir" / "a.txt").exists()  # an existing target: copied inside
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".ferryman-part")]


def test_put_follows_cp_semantics(plain_server, root, tmp_path):
    folder = tmp_path / "local"  # not tmp_path itself: that holds the served root
    folder.mkdir()
    source = folder / "up.txt"
    source.write_bytes(b"U")
    os.mkdir(os.path.join(root, "inbox"))
    assert main(["put", str(source), plain_server.url("ftp", "inbox")]) == 0
    assert main(["put", str(source), plain_server.url("ftp", "named.txt")]) == 0
    assert main(["put", str(folder), plain_server.url("ftp", "tree")]) == 2  # no -r: usage
    assert main(["put", "-r", str(folder), plain_server.url("ftp", "tree")]) == 0
    assert main(["put", str(folder / "missing"), plain_server.url("ftp", "x")]) == 2
    with open(os.path.join(root, "inbox", "up.txt"), "rb") as handle:
        assert handle.read() == b"U"
    with open(os.path.join(root, "tree", "up.txt"), "rb") as handle:
        assert handle.read() == b"U"
    assert sorted(os.listdir(root)) == ["inbox", "named.txt", "tree"]  # no leftover part files


def test_password_from_environment_or_a_clear_refusal(plain_server):
    url = plain_server.url("ftp", credentials=False).replace("ftp://", "ftp://demo@")
    assert run("ls", url, env={"FERRYMAN_PASSWORD": "demo", "HOME": "/nonexistent"}).returncode == 0
    refused = run("ls", url, env={"HOME": "/nonexistent"})
    assert refused.returncode == 3
    assert "No password for demo@" in refused.stderr and "FERRYMAN_PASSWORD" in refused.stderr


@pytest.mark.parametrize("argv", [["--version"], ["ls", "--help"]])
def test_console_script_is_installed(argv):
    result = subprocess.run(["ferryman", *argv], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "ferryman" in result.stdout


def on_a_terminal(columns: int, *argv: str) -> tuple[int, str]:
    """Run the CLI with its stderr on a pseudo-terminal ``columns`` wide; returns the exit
    code and everything it wrote there."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    child = subprocess.Popen([sys.executable, "-m", "tui", *argv], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=follower)  # fmt: skip
    os.close(follower)
    written = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if not select.select([leader], [], [], 1.0)[0]:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            written += chunk
    finally:
        os.close(leader)
    return child.wait(timeout=30), written.decode("utf-8", "replace")


def test_progress_on_a_terminal_stays_on_one_line_of_its_width(plain_server, root, tmp_path):
    for n in range(3):
        write(root, f"tree/f{n}.bin", os.urandom(24 * 1024 * 1024))
    code, written = on_a_terminal(
        60, "get", "-r", "-j", "1", plain_server.url("ftp", "tree"), str(tmp_path / "copy")
    )
    assert code == 0, written
    updates = [part for line in written.split("\n") for part in line.split("\r") if part.strip()]
    progress = [part for part in updates if "%" in part]
    assert progress, written
    assert all(len(part) <= 59 for part in updates), written  # a longer one wraps: a new line
    assert all(" of 75.5 MB" in part or " of 50.3 MB" in part or " of 25.2 MB" in part
               for part in progress), progress  # fmt: skip
    assert sorted(os.listdir(tmp_path / "copy")) == ["f0.bin", "f1.bin", "f2.bin"]


def test_the_progress_total_leaves_out_files_that_gave_up(capsys):
    from tui.cli_transfer import Display
    from tui.transfer.queue import Direction, Job, State

    display = Display("get")
    jobs = [Job(Direction.DOWNLOAD, f"/f{n}", f"/tmp/f{n}", size=1000) for n in range(3)]
    for job in jobs:
        display.changed(job)  # queued
    display.moved(jobs[0], 400)
    jobs[0].done = 400
    jobs[0].state, jobs[0].reason = State.FAILED, "550 gone"
    display.changed(jobs[0])
    display.moved(jobs[1], 500)
    assert (display.total, display.done) == (2000, 500)
    assert "ferryman: failed /f0: 550 gone" in capsys.readouterr().err
