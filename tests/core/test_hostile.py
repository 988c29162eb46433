"""Broken and hostile servers: each gets one clear error line, the right exit code, and
nothing on the user's disk or terminal it should not have."""

from __future__ import annotations

import json
import os

import pytest

from tests.core.scripted import Script, ScriptedServer
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import ConnectFailed, ConnectionLost, ProtocolError, TLSError, TransferFailed
from tui.remote.base import EntryType
from tui.transfer.copy import download_file, part_name

UNIX_LINE = b"-rw-r--r--   1 owner group %d Jan 02  2024 %s\r\n"


def unix_line(name: bytes, size: int = 4) -> bytes:
    return UNIX_LINE % (size, name)


def open_fs(server: ScriptedServer, timeout: float = 5):
    return ConnectionService(timeout=timeout).open(server.url())


def test_pasv_address_is_ignored_in_favour_of_the_control_peer():
    script = Script(epsv=False, listing=unix_line(b"ok.txt"))
    with ScriptedServer(script) as server, open_fs(server) as fs:
        assert [entry.name for entry in fs.listdir("/")] == ["ok.txt"]
    assert b"PASV" in server.received


def test_connection_dropped_mid_listing(capsys):
    listing = b"".join(unix_line(b"file%03d.txt" % n) for n in range(200))
    with ScriptedServer(Script(listing=listing, drop_mid_listing=True)) as server:
        with open_fs(server) as fs, pytest.raises(ConnectionLost, match="lost"):
            fs.listdir("/")
        assert main(["ls", server.url(), "--timeout", "5"]) == 3
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Connection lost" in error


def test_listing_lines_that_make_no_sense_stay_visible(capsys):
    listing = unix_line(b"good.txt") + b"this is not a listing line\r\n\x00\xff\xfe junk\r\n"
    with ScriptedServer(Script(listing=listing)) as server:
        assert main(["ls", server.url(), "--json"]) == 0
        entries = json.loads(capsys.readouterr().out)
        assert main(["ls", server.url()]) == 0
        text = capsys.readouterr().out
    kinds = sorted(entry["type"] for entry in entries)
    assert kinds == ["file", "unknown", "unknown"]
    assert "this is not a listing line" in text
    assert "\x00" not in text and "\\x00" in text  # shown escaped, never raw


def test_hostile_names_never_escape_the_target_folder(tmp_path, capsys):
    names = [
        b"../escape.txt",
        b"../../etc/evil",
        b"sub/inner.txt",
        b"..",
        b"\x1b]0;pwned\x07.txt",
        b"safe.txt",
    ]
    listing = b"".join(unix_line(name) for name in names)
    files = {
        b"safe.txt": b"safe",
        b"escape.txt": b"evil",
        b"inner.txt": b"evil",
        b"evil": b"evil",
        b"\x1b]0;pwned\x07.txt": b"evil",
    }
    target = tmp_path / "inside" / "copy"
    with ScriptedServer(Script(listing=listing, files=files)) as server:
        code = main(["get", "-r", server.url("dir"), str(target)])
    assert code == 0
    written = sorted(
        os.path.relpath(os.path.join(folder, name), tmp_path)
        for folder, _, found in os.walk(tmp_path)
        for name in found
    )
    assert written == [os.path.join("inside", "copy", "safe.txt")]
    error = capsys.readouterr().err
    assert "skipped" in error and "\x1b" not in error and "\\x1b]0;pwned\\x07" in error


def test_names_are_sent_back_byte_for_byte(tmp_path):
    raw = b"caf\xe9 \xff.txt"  # not UTF-8
    script = Script(listing=unix_line(raw, 5), files={raw: b"bytes"})
    with ScriptedServer(script) as server, open_fs(server) as fs:
        (entry,) = fs.listdir("/")
        assert entry.type is EntryType.FILE
        download_file(fs, "/" + entry.name, str(tmp_path / "out"))
    assert b"RETR /" + raw in server.received
    assert (tmp_path / "out").read_bytes() == b"bytes"


def test_download_cut_off_keeps_the_good_file_and_the_partial(tmp_path):
    payload = os.urandom(400_000)
    good = tmp_path / "data.bin"
    good.write_bytes(b"the previous good version")
    script = Script(files={b"data.bin": payload}, drop_mid_file=True)
    with ScriptedServer(script) as server, open_fs(server) as fs:
        with pytest.raises(TransferFailed, match="426"):
            download_file(fs, "/data.bin", str(good))
    assert good.read_bytes() == b"the previous good version"
    assert (tmp_path / part_name("data.bin")).stat().st_size == len(payload) // 2


@pytest.mark.parametrize(
    ("greeting", "error", "words"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n", ProtocolError, "does not speak FTP"),
        (b"", ConnectFailed, "closed the connection before greeting"),
        (b"421 Too many connections, try later\r\n", ConnectFailed, "Too many connections"),
    ],
    ids=["http", "closed", "421"],
)
def test_bad_greetings(greeting, error, words, capsys):
    with ScriptedServer(Script(greeting=greeting)) as server:
        with pytest.raises(error, match=words):
            open_fs(server)
        assert main(["ls", server.url()]) == 3
    assert words in capsys.readouterr().err


def test_a_silent_server_times_out():
    with ScriptedServer(Script(silent=True)) as server:
        with pytest.raises(ConnectFailed, match="within 1 s"):
            open_fs(server, timeout=1)


def test_active_mode_accepts_only_the_server():
    script = Script(listing=unix_line(b"real.txt"), active_intruder=True)
    with ScriptedServer(script) as server:
        with ConnectionService(timeout=5, passive=False).open(server.url()) as fs:
            assert [entry.name for entry in fs.listdir("/")] == ["real.txt"]
    assert server.intruder_refused is True
    assert any(line.startswith(b"EPRT |1|127.0.0.1|") for line in server.received)


def test_a_data_connection_with_another_certificate_is_refused(pki, tmp_path, capsys):
    import ssl

    from tests.certs import make_ca, make_leaf

    def server_context(cert, key):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context

    # Both certificates are valid for 127.0.0.1 and signed by a trusted CA: only the swap
    # between control and data connection is wrong (an interceptor on the data path).
    ca = make_ca("Swap CA")
    ca_file, _ = ca.write(str(tmp_path), "swap-ca")
    first = make_leaf(ca).write(str(tmp_path), "first")
    second = make_leaf(ca).write(str(tmp_path), "second")
    script = Script(
        listing=unix_line(b"secret.txt"),
        tls_control=server_context(*first),
        tls_data=server_context(*second),
    )
    with ScriptedServer(script) as server:
        service = ConnectionService(timeout=5, ca_file=ca_file, check_revocation=False)
        with service.open(server.url(scheme="ftpes")) as fs:
            assert fs.tls.verified
            with pytest.raises(TLSError, match="different certificate"):
                fs.listdir("/")
        assert main(["ls", server.url(scheme="ftpes"), "--ca-file", ca_file]) == 3
    assert "different certificate" in capsys.readouterr().err


def test_a_checksum_mismatch_fails_and_keeps_the_good_file(tmp_path):
    from tui.transfer.engine import Conflict, TransferEngine
    from tui.transfer.queue import Direction, Job, State, TransferQueue

    good = tmp_path / "data.bin"
    good.write_bytes(b"the previous good version")
    script = Script(files={b"data.bin": b"what arrived"}, hash_digest="ab" * 32)
    with ScriptedServer(script) as server:
        queue = TransferQueue()
        job = Job(Direction.DOWNLOAD, "/data.bin", str(good), size=12)
        queue.add([job])
        service = ConnectionService(timeout=5)
        TransferEngine(queue, lambda: service.open(server.url()), slots=1, retries=1,
                       backoff=0.01, conflict=Conflict.OVERWRITE).run()  # fmt: skip
    assert job.state is State.FAILED and "checksums differ" in job.reason
    assert good.read_bytes() == b"the previous good version"
    assert sorted(os.listdir(tmp_path)) == ["data.bin"]  # the bad copy was discarded
