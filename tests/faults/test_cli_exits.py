"""How the command line ends when its surroundings fail: a closed output pipe, Ctrl+C in the
middle of a transfer, an unexpected exception, a URL that says "folder" to a server that
says "file". Each ends with one line and a documented exit code, never a traceback."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import write
from tests.core.scripted import Script, ScriptedServer
from tui import cli
from tui.cli import main
from tui.demo import SandboxServer, TLSFiles

IN_CI = os.environ.get("CI", "").lower() == "true"


def ferryman(*argv: str) -> list[str]:
    return [sys.executable, "-m", "tui", *argv]


# --- a closed pipe ---------------------------------------------------------------------------


def closed_stdout(*argv: str) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with its stdout a pipe whose reader has gone, as ``| head -1`` leaves it
    once head has its line (closed at once here, so the first write already fails)."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(ferryman(*argv), stdout=writer, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=60)  # fmt: skip
    finally:
        os.close(writer)


def test_ls_into_a_closed_pipe__ends_quietly_with_141(plain_server: SandboxServer, root) -> None:
    write(root, "a.txt", b"A")
    result = closed_stdout("ls", plain_server.url("ftp"))
    assert (result.returncode, result.stderr) == (141, b"")


def test_ls_json_into_a_closed_pipe__ends_quietly_with_141(plain_server: SandboxServer) -> None:
    result = closed_stdout("ls", plain_server.url("ftp"), "--json")
    assert (result.returncode, result.stderr) == (141, b"")


def test_cert_into_a_closed_pipe__ends_quietly_with_141(tls_server: SandboxServer, pki) -> None:
    result = closed_stdout("cert", tls_server.url("ftpes"), "--ca-file", pki.ca_file)
    assert (result.returncode, result.stderr) == (141, b"")


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_ls_with_stdout_closed__ends_quietly_with_0(plain_server: SandboxServer, extra) -> None:
    command = " ".join(ferryman("ls", plain_server.url("ftp"), *extra)) + " >&-"
    result = subprocess.run(["bash", "-c", command], capture_output=True, timeout=60,
                            stdin=subprocess.DEVNULL)  # fmt: skip
    assert (result.returncode, result.stderr) == (0, b"")


def test_ls_piped_into_head__prints_the_first_line_and_no_traceback(
    plain_server: SandboxServer, root: str
) -> None:
    for n in range(3000):  # far more than a pipe holds, so ls is still writing when head quits
        write(root, f"some-rather-long-file-name-{n:05}.txt", b"")
    command = " ".join(ferryman("ls", plain_server.url("ftp"))) + " | head -1"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                            timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
    assert result.stdout.count(b"\n") == 1 and b"file-name-00000" in result.stdout
    assert result.stderr == b"" and result.returncode in (0, 141)


# --- unexpected exceptions ---------------------------------------------------------------


def explode(*args: object, **kwargs: object) -> int:
    raise RuntimeError("a bug, not a fault of the server")


def test_unexpected_exception__one_line_and_exit_1(
    plain_server: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(cli, "_ls", explode)  # stands for any bug below the CLI
    assert main(["ls", plain_server.url("ftp")]) == 1
    err = capsys.readouterr().err
    assert err == "ferryman: internal error (RuntimeError): a bug, not a fault of the server\n"


def test_unexpected_exception_with_v__adds_the_traceback(
    plain_server: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(cli, "_ls", explode)
    assert main(["ls", plain_server.url("ftp"), "-v"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("a bug, not a fault of the server\n")


# --- a trailing "/" means a folder -------------------------------------------------------

LISTING = b"-rw-r--r-- 1 u g 1 Jan 01 2024 a.txt\r\n"
# SIZE of the folder "/dir" answers 213 (and RETR sends bytes): a server that sizes
# folders. Where there is no MLST, SIZE is how a path is told to be a file.
SIZES_FOLDERS = Script(listing=LISTING, files={b"dir": b"0123456789", b"a.txt": b"A"})


def test_url_ending_in_slash_with_r__copied_as_a_folder(tmp_path) -> None:
    with ScriptedServer(SIZES_FOLDERS) as server:
        assert main(["get", "-r", "-j", "1", server.url("dir/"), str(tmp_path / "copy")]) == 0
    assert (tmp_path / "copy").is_dir()
    assert (tmp_path / "copy" / "a.txt").read_bytes() == b"A"


def test_url_ending_in_slash_without_r__usage_error(tmp_path, capsys) -> None:
    with ScriptedServer(SIZES_FOLDERS) as server:
        assert main(["get", server.url("dir/"), str(tmp_path / "copy")]) == 2
    assert "is a folder (use -r to copy it)" in capsys.readouterr().err
    assert not (tmp_path / "copy").exists()


# --- Ctrl+C ----------------------------------------------------------------------------------

BIG = 16 << 20


def slow(server: SandboxServer, rate: int) -> None:
    """Throttle the server's data connections to ``rate`` bytes a second."""
    from pyftpdlib.handlers import ThrottledDTPHandler

    handler = server._server.handler  # type: ignore[attr-defined]
    handler.dtp_handler = type("Slow", (ThrottledDTPHandler,), {"write_limit": rate})


def interrupt(dest: str, *argv: str) -> tuple[int, float, str]:
    """Run the CLI with its stderr on a terminal, send SIGINT once the partial file of
    big.bin exists in ``dest`` and a progress line is drawn; returns the exit code, the
    seconds from the signal to the exit, and what the terminal showed."""
    leader, follower = pty.openpty()
    child = subprocess.Popen(ferryman(*argv), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=follower)  # fmt: skip
    os.close(follower)
    shown, sent = b"", None
    part = os.path.join(dest, ".big.bin.ferryman-part")
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if sent is None and b"%" in shown and os.path.exists(part):
                child.send_signal(signal.SIGINT)
                sent = time.monotonic()
            if not select.select([leader], [], [], 0.05)[0]:
                if child.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child has gone
                break
            if not chunk:
                break
            shown += chunk
        code = child.wait(timeout=30)
        took = time.monotonic() - (sent or time.monotonic())
    finally:
        os.close(leader)
        if child.poll() is None:
            child.kill()
    assert sent is not None, shown
    return code, took, shown.decode("utf-8", "replace")


def assert_interrupted_cleanly(code: int, took: float, shown: str, dest: str) -> None:
    assert code == 130, shown
    assert took < 1.0, f"{took:.2f} s from SIGINT to exit"
    # The message stands on a line of its own: the progress line ended before it, and nothing
    # was drawn after it.
    before, found, after = shown.partition("ferryman: interrupted")
    assert found, shown
    assert before.endswith("\n") and after.strip() == "", shown
    assert os.path.getsize(os.path.join(dest, ".big.bin.ferryman-part")) > 0
    assert not os.path.exists(os.path.join(dest, "big.bin"))


def test_ctrl_c_during_a_download__exits_130_at_once_and_keeps_the_partial_file(
    plain_server: SandboxServer, root: str, tmp_path
) -> None:
    data = os.urandom(BIG)
    write(root, "big.bin", data)
    slow(plain_server, 4 << 20)
    dest = str(tmp_path)
    url = plain_server.url("ftp", "big.bin")
    code, took, shown = interrupt(dest, "get", url, dest, "--segments", "1")
    assert_interrupted_cleanly(code, took, shown, dest)
    slow(plain_server, 1 << 30)
    resumed = subprocess.run(ferryman("get", plain_server.url("ftp", "big.bin"), dest, "--resume"),
                             capture_output=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "big.bin").read_bytes() == data


def test_ctrl_c_during_a_mirror__exits_130_at_once_and_keeps_the_partial_file(
    plain_server: SandboxServer, root: str, tmp_path
) -> None:
    write(root, "tree/big.bin", os.urandom(BIG))
    write(root, "tree/small.txt", b"small")
    slow(plain_server, 4 << 20)
    dest = str(tmp_path / "copy")
    code, took, shown = interrupt(dest, "mirror", plain_server.url("ftp", "tree"), dest, "-j", "1")
    assert_interrupted_cleanly(code, took, shown, dest)


# vsftpd does not read its control connection while it sends a file: a QUIT at exit waited
# for an answer that could not come (3 s, the cap on QUIT's timeout), so it shows what a
# pyftpdlib server, which answers at once, cannot.


@pytest.fixture(scope="module")
def slow_vsftpd(pki) -> Iterator[object]:
    from tests.interop.servers import Vsftpd, missing

    reason = missing()
    if reason is not None:
        (pytest.fail if IN_CI else pytest.skip)(f"vsftpd unavailable: {reason}")

    class SlowVsftpd(Vsftpd):
        def command(self) -> list[str]:
            command = super().command()
            with open(command[1], "a", encoding="utf-8") as config:
                config.write("local_max_rate=4000000\n")  # bytes a second
            return command

    server = SlowVsftpd(TLSFiles(pki.tls.cert, pki.tls.key)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.interop
@pytest.mark.parametrize("scheme", ["ftp", "ftpes"])
def test_ctrl_c_during_a_download_from_vsftpd__exits_130_without_waiting_for_quit(
    slow_vsftpd, pki, scheme: str, tmp_path
) -> None:
    folder = slow_vsftpd.fresh_dir()
    with open(os.path.join(folder, "big.bin"), "wb") as handle:
        handle.write(os.urandom(BIG))
    url = slow_vsftpd.url(scheme, os.path.join(folder, "big.bin"))
    dest = str(tmp_path)
    code, took, shown = interrupt(
        dest, "get", url, dest, "--segments", "1", "--ca-file", pki.ca_file
    )
    assert_interrupted_cleanly(code, took, shown, dest)
