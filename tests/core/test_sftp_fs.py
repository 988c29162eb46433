"""SFTPFS against OpenSSH's own sftp-server on pipes (the real server, without ssh): listings,
links, names that are not UTF-8, pipelined reads and writes with offsets, the atomic replace,
refusals as Ferryman's errors, a server that dies, and a cancel that stops at once."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime

import pytest

from tests.sftp_local import SFTP_SERVER, LocalChannel, local_site, open_local, server_channel
from tui.errors import (
    AlreadyExists,
    Cancelled,
    ConnectionLost,
    NotFound,
    PermissionDenied,
    RemoteError,
)
from tui.remote.base import EntryType
from tui.remote.sftp import SFTPFS
from tui.transfer.copy import copy_stream, download_file, upload_file

pytestmark = pytest.mark.skipif(SFTP_SERVER is None, reason="sftp-server is not installed")


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    return str(folder)


@pytest.fixture
def fs(served):
    with open_local(served) as session:
        yield session


def pattern(size: int, seed: int = 1) -> bytes:
    return (bytes(range(seed, 256)) + bytes(range(seed))) * (size // 256) + b"z" * (size % 256)


def test_a_folder__lists_files_folders_and_links_with_their_targets(fs, served):
    with open(os.path.join(served, "a.txt"), "wb") as handle:
        handle.write(b"hello")
    os.mkdir(os.path.join(served, "sub"))
    os.symlink("a.txt", os.path.join(served, "link"))
    os.symlink("sub", os.path.join(served, "dirlink"))
    entries = {entry.name: entry for entry in fs.listdir("")}
    assert sorted(entries) == ["a.txt", "dirlink", "link", "sub"]
    assert (entries["a.txt"].type, entries["a.txt"].size) == (EntryType.FILE, 5)
    assert entries["a.txt"].perms == "rw-r--r--" and entries["a.txt"].mtime_precision == "second"
    assert entries["sub"].type is EntryType.DIR
    assert (entries["link"].type, entries["link"].target) == (EntryType.LINK, "a.txt")
    # Links are shown as links and followed when opened, as the FTP backend does.
    assert fs.stat("link").type is EntryType.LINK and fs.size("link") == 5
    assert fs.open_read("link").read() == b"hello"
    assert fs.listdir("dirlink") == []
    assert fs.home == served and fs.resolve("sub/../a.txt") == served + "/a.txt"
    assert fs.security.badge == "SSH" and fs.security.identity == "ssh-host-key"


def test_a_name_that_is_not_utf8__lists_and_is_read_back_byte_for_byte(fs, served):
    with open(os.path.join(served.encode(), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"latin")
    (entry,) = fs.listdir(served)
    assert entry.name == "caf\udce9.txt"
    assert fs.open_read(entry.name).read() == b"latin"
    fs.rename(entry.name, "cafe.txt")
    assert os.listdir(served) == ["cafe.txt"]


def test_a_large_file__is_read_whole_and_from_any_offset_with_or_without_a_size_hint(fs, served):
    data = pattern(3_000_017)
    with open(os.path.join(served, "big"), "wb") as handle:
        handle.write(data)
    assert fs.client.read_size == 261120  # the server's limits@openssh.com
    assert fs.client.write_size == 131072  # the largest power of two within them
    assert fs.open_read("big").read() == data
    assert fs.open_read("big", 1_234_567, expect=len(data) - 1_234_567).read() == data[1_234_567:]
    # A hint that is too small (the file grew) is only a hint: everything comes.
    assert fs.open_read("big", 10, expect=100).read() == data[10:]
    assert fs.open_read("big", len(data) + 5).read() == b""


def test_uploads__truncate_resume_at_an_offset_and_append(fs, served):
    path = os.path.join(served, "up")
    data = pattern(2_500_000, seed=3)
    with fs.open_write("up") as writer:
        writer.write(data)
    assert open(path, "rb").read() == data
    with fs.open_write("up", 1000) as writer:  # resume: the tail past the offset is dropped
        writer.write(b"NEW")
    assert open(path, "rb").read() == data[:1000] + b"NEW"
    with fs.open_write("up", append=True) as writer:
        writer.write(b"+more")
    assert open(path, "rb").read() == data[:1000] + b"NEW+more"
    with fs.open_write("up") as writer:
        writer.write(b"short")
    assert open(path, "rb").read() == b"short"


def test_rename_onto_an_existing_file__replaces_it_atomically(fs, served):
    for name, text in (("a", b"new"), ("b", b"old")):
        with open(os.path.join(served, name), "wb") as handle:
            handle.write(text)
    fs.rename("a", "b")
    assert os.listdir(served) == ["b"] and open(os.path.join(served, "b"), "rb").read() == b"new"


def test_a_server_without_posix_rename__still_renames_onto_a_free_name(served):
    channel = server_channel(served, "-P", "posix-rename")
    with SFTPFS(local_site(), channel) as fs:
        fs.mkdir("x")
        fs.rename("x", "y")
        assert os.listdir(served) == ["y"]


def test_refusals__are_ferryman_errors_that_keep_the_session(fs, served):
    with pytest.raises(NotFound, match="no such file"):
        fs.stat("missing")
    with pytest.raises(NotFound):
        fs.open_read("missing")
    with pytest.raises(NotFound):
        fs.listdir("missing")
    fs.mkdir("d")
    with pytest.raises((AlreadyExists, RemoteError)):
        fs.mkdir("d")
    fs.rmdir("d")
    assert fs.connected and fs.listdir("") == []


def test_a_read_only_server__refuses_writes_as_permission_denied(served):
    with SFTPFS(local_site(), server_channel(served, "-R")) as fs:
        with pytest.raises(PermissionDenied):
            fs.open_write("x")
        with pytest.raises(PermissionDenied):
            fs.mkdir("x")


def test_times_modes_and_free_space__are_set_and_read(fs, served):
    with fs.open_write("f") as writer:
        writer.write(b"x")
    when = datetime(2020, 5, 6, 7, 8, 9, tzinfo=UTC)
    fs.set_mtime("f", when)
    assert fs.mtime("f") == when and os.stat(os.path.join(served, "f")).st_mtime == when.timestamp()
    fs.chmod("f", 0o600)
    assert os.stat(os.path.join(served, "f")).st_mode & 0o777 == 0o600
    assert (fs.free_space("") or 0) > 0 and fs.checksum("f") is None


def test_a_server_that_dies__is_connection_lost_and_a_reconnect_works(fs, served):
    fs.client.channel.process.kill()  # type: ignore[attr-defined]
    with pytest.raises(ConnectionLost, match="ended the session"):
        fs.listdir("")
    assert not fs.connected
    with pytest.raises(ConnectionLost):
        fs.stat("")
    fs.reconnect()
    assert fs.connected and fs.listdir("") == []


def test_many_files_open_at_once__are_read_and_written_in_one_session(fs, served):
    writers = [fs.open_write(f"f{i}") for i in range(20)]
    for i, writer in enumerate(writers):
        writer.write(pattern(70_000 + i))
    for writer in writers:
        writer.close()
    readers = [fs.open_read(f"f{i}", expect=70_000 + i) for i in range(20)]
    assert [reader.read() for reader in readers] == [pattern(70_000 + i) for i in range(20)]


def test_a_cancelled_download__stops_within_0_3_s_and_the_session_goes_on(fs, served, tmp_path):
    with open(os.path.join(served, "huge"), "wb") as handle:
        handle.truncate(1 << 30)  # sparse: 1 GiB the server reads fast
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def progress(_count: int) -> None:
        if not cancel.is_set():
            cancelled_at.append(time.monotonic())
            cancel.set()

    with pytest.raises(Cancelled):
        download_file(fs, "huge", str(tmp_path / "huge"), progress=progress, cancel=cancel)
    assert time.monotonic() - cancelled_at[0] < 0.3
    assert fs.listdir("")[0].name == "huge"  # the dropped replies did not upset the session


def test_the_transfer_engine_copies__download_and_upload_through_sftp(fs, served, tmp_path):
    source = tmp_path / "local.bin"
    source.write_bytes(pattern(1_000_003, seed=9))
    upload_file(fs, str(source), "remote.bin")
    assert open(os.path.join(served, "remote.bin"), "rb").read() == source.read_bytes()
    download_file(fs, "remote.bin", str(tmp_path / "back.bin"), expected_size=1_000_003)
    assert (tmp_path / "back.bin").read_bytes() == source.read_bytes()


def test_an_upload_while_many_reads_are_in_flight__gets_every_byte_right(fs, served):
    """Replies to 80 MiB of reads arrive while 12 MiB of writes go out on the same session:
    every reply reaches its reader, every write its offset. (A client that wrote without
    reading would deadlock once sftp-server holds 128 MiB of untaken replies, after which it
    stops reading requests; the client's one poll loop for both pipes never waits on one
    alone.)"""
    for i in range(10):
        with open(os.path.join(served, f"r{i}"), "wb") as handle:
            handle.write(b"head")
            handle.truncate(9_000_000)  # sparse: cheap to serve
    readers = [fs.open_read(f"r{i}") for i in range(10)]
    for reader in readers:
        assert reader.read(4) == b"head"  # each has its whole window in flight now
    upload = pattern(12_000_000, seed=7)
    with fs.open_write("up") as writer:
        writer.write(upload)
    assert open(os.path.join(served, "up"), "rb").read() == upload
    assert all(reader.read() == bytes(8_999_996) for reader in readers)


def test_a_folder_of_many_entries__lists_whole_over_several_replies(fs, served):
    for i in range(450):  # sftp-server sends at most 100 names a reply
        open(os.path.join(served, f"n{i:03}"), "w").close()
    assert sorted(entry.name for entry in fs.listdir("")) == [f"n{i:03}" for i in range(450)]
    assert fs.listdir("") and fs.connected


def test_a_folder_of_thousands_of_links__lists_them_all_with_their_targets():
    # A short path (as /usr/bin's): thousands of small READLINK requests go out at once,
    # more than one writev may carry (IOV_MAX, 1024).
    folder = tempfile.mkdtemp(prefix="l", dir="/tmp")
    try:
        for i in range(3000):
            os.symlink(f"t{i}", os.path.join(folder, f"{i}"))
        with open_local(folder) as fs:
            entries = fs.listdir("")
            assert len(entries) == 3000 and all(e.type is EntryType.LINK for e in entries)
            assert {e.name: e.target for e in entries}["2999"] == "t2999"
    finally:
        shutil.rmtree(folder)


# ssh's way of reading a session's input: 32 KiB at a time, as it comes.
SSH_LIKE_READER = """
import os, subprocess, sys
server = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE)
while chunk := os.read(0, 32 * 1024):
    server.stdin.write(chunk)
    server.stdin.flush()
server.stdin.close()
server.wait()
"""


def test_an_upload__writes_each_request_whole_once_the_pipe_has_room(served, monkeypatch):
    """ssh reads the request pipe 32 KiB at a time, and each read of a full pipe woke the
    client to top it up: ~28,000 wake-ups and writes per GiB. A WRITE now waits for replies
    until the pipe takes it whole: about one write per request."""
    assert SFTP_SERVER is not None
    command = [sys.executable, "-c", SSH_LIKE_READER, SFTP_SERVER, "-d", served, "-e"]
    calls = []
    writev = os.writev

    def counted(fd, parts):
        calls.append(fd)
        return writev(fd, parts)

    data = pattern(32 << 20, seed=5)
    with SFTPFS(local_site(), LocalChannel(command), timeout=10) as session:
        monkeypatch.setattr(os, "writev", counted)
        with session.open_write("paced.bin") as writer:
            for start in range(0, len(data), 256 << 10):
                writer.write(data[start : start + (256 << 10)])
        requests = len(data) // session.client.write_size
    assert len(calls) <= requests * 1.25, (len(calls), requests)
    assert open(os.path.join(served, "paced.bin"), "rb").read() == data


def test_a_download__hands_the_replies_to_the_copy_loop_without_copying_them(fs, served, tmp_path):
    """The copy loop writes what each READ brought straight to the file (``read_chunk``)
    instead of copying it through a buffer first; pieces of any size still come in order."""
    data = pattern(3_000_001, seed=11)
    with open(os.path.join(served, "chunks.bin"), "wb") as handle:
        handle.write(data)
    with fs.open_read("chunks.bin", expect=len(data)) as reader:
        got = [bytes(reader.read_chunk(7))]
        buffer = bytearray(100_000)
        count = reader.readinto(buffer)
        got.append(bytes(buffer[:count]))
        while piece := reader.read_chunk(1 << 20):
            assert len(piece) <= 1 << 20 and isinstance(piece, memoryview)
            got.append(bytes(piece))
    assert b"".join(got) == data and len(got[0]) == 7
    calls = []
    with fs.open_read("chunks.bin", expect=len(data)) as reader:
        real = reader.read_chunk
        reader.read_chunk = lambda size: calls.append(size) or real(size)  # type: ignore[method-assign]
        reader.readinto = None  # type: ignore[assignment]  # the loop must not need it
        with open(tmp_path / "copy.bin", "wb") as out:
            assert copy_stream(reader, out, limit=len(data)) == len(data)
    assert calls and (tmp_path / "copy.bin").read_bytes() == data
