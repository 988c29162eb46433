"""Round trips against vsftpd, ProFTPD and pure-ftpd in every mode they serve.

The matrix: server × mode (plain, explicit FTPS, implicit FTPS) × operation (list, upload,
download, resume, rename, delete, active mode, non-UTF-8 names, CLI ls/get/put), each
checked with checksums on the server's real disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time

import pytest

from tests.conftest import files_under
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import Cancelled, NotFound
from tui.remote.base import EntryType
from tui.remote.ftpio import BATCH
from tui.transfer.copy import download_file, part_name, upload_file
from tui.transfer.segments import download_segmented


def sha256_file(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def open_fs(target, **options):
    service = ConnectionService(ca_file=target.ca_file, timeout=15, **options)
    return service.open(target.url())


def test_session_security_matches_the_mode(target):
    with open_fs(target) as fs:
        if target.scheme == "ftp":
            assert fs.tls is None
        else:
            assert fs.tls is not None and fs.tls.verified
            assert fs.control.data_context is not None  # PROT P: data is encrypted too
        assert fs.home  # PWD parsed


def test_api_round_trip(target, tmp_path):
    payload = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "source.bin"
    source.write_bytes(payload)
    remote_dir = target.folder + "/dir"
    with open_fs(target) as fs:
        fs.mkdir(remote_dir)
        upload_file(fs, str(source), remote_dir + "/up.bin")
        entries = {entry.name: entry for entry in fs.listdir(remote_dir)}
        assert entries["up.bin"].type is EntryType.FILE
        assert entries["up.bin"].size == len(payload)
        assert part_name("up.bin") not in entries  # the temporary name was renamed away
        assert fs.stat(remote_dir + "/up.bin").size == len(payload)
        assert fs.stat(remote_dir).type is EntryType.DIR
        assert fs.mtime(remote_dir + "/up.bin").year >= 2025

        download_file(fs, remote_dir + "/up.bin", str(tmp_path / "down.bin"))
        assert sha256_file(str(tmp_path / "down.bin")) == hashlib.sha256(payload).hexdigest()

        fs.rename(remote_dir + "/up.bin", remote_dir + "/renamed.bin")
        with pytest.raises(NotFound):
            fs.stat(remote_dir + "/up.bin")
        fs.remove(remote_dir + "/renamed.bin")
        fs.rmdir(remote_dir)
    assert os.listdir(target.folder) == []


def test_resume_download_and_upload(target, tmp_path):
    payload = os.urandom(2 * 1024 * 1024)
    on_server = os.path.join(target.folder, "data.bin")
    with open(on_server, "wb") as handle:
        handle.write(payload)
    # An interrupted download left the first 700,000 bytes in the partial file.
    local = tmp_path / "data.bin"
    (tmp_path / part_name("data.bin")).write_bytes(payload[:700_000])
    with open_fs(target) as fs:
        received = download_file(fs, on_server, str(local), resume=True)
        assert received == len(payload) - 700_000
        assert local.read_bytes() == payload

        # An interrupted upload left 1 MiB on the server: REST + STOR sends only the rest.
        source = tmp_path / "upload.bin"
        source.write_bytes(payload)
        with fs.open_write(target.folder + "/" + part_name("up.bin")) as writer:
            writer.write(payload[: 1024 * 1024])
        sent = upload_file(fs, str(source), target.folder + "/up.bin", resume=True)
        assert sent == len(payload) - 1024 * 1024

        with fs.open_write(target.folder + "/up.bin", append=True) as writer:
            writer.write(b"appended")
    with open(os.path.join(target.folder, "up.bin"), "rb") as handle:
        assert handle.read() == payload + b"appended"


def test_segmented_download_stops_ranges_early_and_resumes_them(target, tmp_path):
    """Each stream abandons its transfer at the end of its range: every server must answer
    that (426/450/451) and go on serving the session; a resume fetches only the gaps."""
    payload = os.urandom(6 * 1024 * 1024 + 4321)
    on_server = os.path.join(target.folder, "seg.bin")
    with open(on_server, "wb") as handle:
        handle.write(payload)
    service = ConnectionService(ca_file=target.ca_file, timeout=15)
    local = tmp_path / "seg.bin"
    cancel = threading.Event()
    moved = [0]

    def progress(count: int) -> None:
        moved[0] += count
        if moved[0] >= 2 * 1024 * 1024:
            cancel.set()

    with service.open(target.url()) as fs:
        with pytest.raises(Cancelled):
            download_segmented(fs, lambda: service.open(target.url()), on_server, str(local),
                               size=len(payload), segments=4, progress=progress,
                               cancel=cancel)  # fmt: skip
        received = download_segmented(
            fs, lambda: service.open(target.url()), on_server, str(local), size=len(payload),
            segments=4, resume=True,
        )  # fmt: skip
        assert fs.listdir(target.folder)  # the session still works after the early stops
    assert 0 < received <= len(payload) - 2 * 1024 * 1024
    assert sha256_file(str(local)) == hashlib.sha256(payload).hexdigest()


def read_to_end(reader) -> bytes:
    received = bytearray()
    buffer = bytearray(256 * 1024)
    while count := reader.readinto(buffer):
        received += buffer[:count]
    return bytes(received)


# A batched read that went on waiting for its last bytes would stall for a whole timeout:
# vsftpd sends its last record and then waits for the client's close_notify.
SHORT_TIMEOUT = 3


def test_a_batched_download_takes_its_last_bytes_without_waiting(target):
    payload = os.urandom(3 * 1024 * 1024 + 4321)
    on_server = os.path.join(target.folder, "batched.bin")
    with open(on_server, "wb") as handle:
        handle.write(payload)
    service = ConnectionService(ca_file=target.ca_file, timeout=SHORT_TIMEOUT)
    with service.open(target.url()) as fs:
        started = time.monotonic()
        with fs.open_read(on_server, expect=len(payload)) as reader:
            assert read_to_end(reader) == payload
        assert time.monotonic() - started < SHORT_TIMEOUT


def test_a_file_shorter_than_announced_is_read_to_its_real_end(target):
    """The file shrank after its size was asked: the batch it waits for never fills, and
    the reader takes what came instead of failing on the timeout."""
    payload = os.urandom(20_000)  # all of it, close_notify too, is less than one batch
    on_server = os.path.join(target.folder, "shrunk.bin")
    with open(on_server, "wb") as handle:
        handle.write(payload)
    service = ConnectionService(ca_file=target.ca_file, timeout=SHORT_TIMEOUT)
    assert len(payload) < BATCH // 2
    with service.open(target.url()) as fs:
        with fs.open_read(on_server, expect=len(payload) + 8 * 1024 * 1024) as reader:
            assert read_to_end(reader) == payload
        assert fs.size(on_server) == len(payload)  # the session goes on


def test_active_mode_lists_and_downloads(target, tmp_path):
    with open(os.path.join(target.folder, "active.txt"), "wb") as handle:
        handle.write(b"over an active data connection\n")
    with open_fs(target, passive=False) as fs:
        assert [entry.name for entry in fs.listdir(target.folder)] == ["active.txt"]
        download_file(fs, target.folder + "/active.txt", str(tmp_path / "a.txt"))
    assert (tmp_path / "a.txt").read_bytes() == b"over an active data connection\n"


def test_non_utf8_and_unusual_names_round_trip(target, tmp_path):
    names = [b"caf\xe9 latin-1.txt", "naïve ünïcode.txt".encode(), b"spaces  and [brackets]*.txt"]
    folder = os.fsencode(target.folder)
    for index, raw in enumerate(names):
        with open(os.path.join(folder, raw), "wb") as handle:
            handle.write(bytes([index]) * 10)
    with open_fs(target) as fs:
        listed = {os.fsencode(entry.name) for entry in fs.listdir(target.folder)}
        assert listed == set(names)
        for index, raw in enumerate(names):
            remote = target.folder + "/" + os.fsdecode(raw)
            local = os.path.join(os.fsencode(str(tmp_path)), raw)
            download_file(fs, remote, os.fsdecode(local))
            with open(local, "rb") as handle:
                assert handle.read() == bytes([index]) * 10


def test_cli_put_ls_get_tree(target, tmp_path, capsys):
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    files = {
        "top.txt": b"top\n",
        "sub/mid.bin": os.urandom(200_000),
        "sub/deeper/leaf.txt": b"leaf\n" * 1000,
        "sub/empty.txt": b"",
    }
    for relative, data in files.items():
        (tree / relative).write_bytes(data)
    common = ["--ca-file", target.ca_file, "--timeout", "15"]

    assert main(["put", "-r", str(tree), target.url() + "/", *common]) == 0
    for relative, data in files.items():
        with open(os.path.join(target.folder, "tree", relative), "rb") as handle:
            assert handle.read() == data

    capsys.readouterr()
    assert main(["ls", target.url("tree/sub"), "--json", *common]) == 0
    listing = json.loads(capsys.readouterr().out)
    by_name = {entry["name"]: entry for entry in listing}
    assert by_name["deeper"]["type"] == "dir"
    assert by_name["mid.bin"] == by_name["mid.bin"] | {"type": "file", "size": 200_000}
    assert by_name["mid.bin"]["mtime"].endswith("Z")

    out = tmp_path / "copy"
    assert main(["get", "-r", target.url("tree"), str(out), *common]) == 0
    for relative, data in files.items():
        assert (out / relative).read_bytes() == data

    assert main(["get", target.url("tree/top.txt"), str(tmp_path), *common]) == 0
    assert (tmp_path / "top.txt").read_bytes() == b"top\n"


def test_cli_errors_have_the_contract_exit_codes(target, tmp_path, capsys):
    common = ["--ca-file", target.ca_file, "--timeout", "15"]
    assert main(["ls", target.url(secret="wrong-password"), *common]) == 3
    assert "Login failed" in capsys.readouterr().err
    assert main(["get", target.url("missing.txt"), str(tmp_path), *common]) == 5
    error = capsys.readouterr().err
    assert "missing.txt" in error and "550" in error
    assert main(["ls", target.url("missing-dir"), *common]) == 1
    if target.scheme != "ftp":
        # Without --ca-file the test CA is unknown: refused with exit 4 and the fingerprint.
        assert main(["ls", target.url(), "--timeout", "15"]) == 4
        assert "SHA-256 fingerprint" in capsys.readouterr().err


def _plan(args: list[str], capsys) -> dict[str, str]:
    assert main(["mirror", *args, "--dry-run", "--json"]) == 0
    return {item["path"]: item["action"] for item in json.loads(capsys.readouterr().out)["items"]}


COPIES = {"new", "newer", "size differs", "different"}


def test_mirror_converges_both_ways(target, tmp_path, capsys):
    local = tmp_path / "site"
    files = {"index.html": b"<h1>home</h1>\n", "docs/read me.txt": b"spaces\n",
             "docs/\u00fcber.txt": b"non-ASCII\n", "img/logo.bin": os.urandom(70_000)}  # fmt: skip
    for relative, data in files.items():
        (local / relative).parent.mkdir(parents=True, exist_ok=True)
        (local / relative).write_bytes(data)
    common = ["--ca-file", target.ca_file]
    up = [str(local), target.url("www"), *common]

    planned = _plan(up, capsys)
    assert {p for p, a in planned.items() if a == "new"} == {*files, "docs", "img"}
    assert main(["mirror", *up]) == 0
    assert files_under(os.path.join(target.folder, "www")) == files  # the plan, done
    assert not COPIES & set(_plan(up, capsys).values())  # a second run copies nothing

    (local / "index.html").write_bytes(b"<h1>home, edited</h1>\n")
    (local / "docs" / "read me.txt").unlink()
    (local / "new.txt").write_bytes(b"added\n")
    planned = _plan([*up, "--delete"], capsys)
    assert {p: a for p, a in planned.items() if a in COPIES or a == "delete"} == {
        "index.html": "size differs", "new.txt": "new", "docs/read me.txt": "delete"}  # fmt: skip
    assert main(["mirror", *up, "--delete"]) == 0
    expected = files_under(str(local))
    assert files_under(os.path.join(target.folder, "www")) == expected

    down = [target.url("www"), str(tmp_path / "back"), *common, "-j", "3"]
    assert main(["mirror", *down]) == 0
    assert files_under(str(tmp_path / "back")) == expected
    assert not COPIES & set(_plan(down, capsys).values())


def test_mirror_checksum_mode_finds_what_times_miss_where_the_server_hashes(
    target, tmp_path, capsys
):
    """Where the server hashes (ProFTPD's mod_digest), --checksum finds equal-size files
    with different bytes; elsewhere it falls back to size and time, and says nothing new."""
    with open_fs(target) as fs:
        hashes = bool(fs.capabilities.hashes)
    with open(os.path.join(target.folder, "f.txt"), "wb") as handle:
        handle.write(b"server copy")
    (tmp_path / "l").mkdir()
    (tmp_path / "l" / "f.txt").write_bytes(b"local copy!")  # same size
    stamp = os.stat(os.path.join(target.folder, "f.txt")).st_mtime
    os.utime(tmp_path / "l" / "f.txt", (stamp, stamp))
    args = [str(tmp_path / "l"), target.url(), "--ca-file", target.ca_file]
    assert _plan(args, capsys) == {}
    assert _plan([*args, "--checksum"], capsys) == ({"f.txt": "different"} if hashes else {})
    assert hashes == (target.server.name == "proftpd")  # the servers are as documented
