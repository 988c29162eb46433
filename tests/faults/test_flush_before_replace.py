"""A copy that takes a good file's place reaches the disk first; a copy to a new name does
not pay for it.

Renamed over a file before its data is on the disk, a copy can leave an empty file where a
good one was if the machine crashes (ext4 guards some of these renames, XFS and others
none). So the complete copy is flushed first: on an SFTP server by ``fsync@openssh.com``
(the server's own log shows the order of requests), on this machine by ``fsync``. Over
nothing, a crash can cost only the new copy, whose source is still there, so the flush
(0.5 s and more per GiB on these machines) is skipped, as OpenSSH's ``sftp`` skips it
without ``-f``.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.sftp_local import SFTP_SERVER, LocalChannel, local_site
from tui.remote.sftp import SFTPFS
from tui.transfer.copy import IN_PLACE_LIMIT, download_file, upload_file
from tui.transfer.engine import TransferEngine
from tui.transfer.queue import Conflict, Direction, Job, State, TransferQueue

pytestmark = pytest.mark.skipif(SFTP_SERVER is None, reason="sftp-server is not installed")

BIG = IN_PLACE_LIMIT + 1  # large enough to go through the temporary name and a rename


class LoggedChannel(LocalChannel):
    """Keeps what the server logged when it is closed (the engine closes its sessions)."""

    def __init__(self, command: list[str]) -> None:
        super().__init__(command)
        self.said = ""

    def log(self) -> str:
        if not self._errors.closed:
            self._errors.seek(0)
            self.said = self._errors.read().decode(errors="replace")
        return self.said

    def close(self) -> None:
        self.log()
        super().close()


class LoggedServer:
    """OpenSSH's sftp-server in ``folder``, logging every request it carries out."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.channels: list[LoggedChannel] = []

    def channel(self) -> LoggedChannel:
        assert SFTP_SERVER is not None
        channel = LoggedChannel([SFTP_SERVER, "-d", self.folder, "-e", "-l", "VERBOSE"])
        self.channels.append(channel)
        return channel

    def session(self) -> SFTPFS:
        return SFTPFS(local_site(), self.channel(), timeout=10, reopen=self.channel)

    def requests(self) -> list[str]:
        """What the server did, in order, over every session so far."""
        said = [line for channel in self.channels for line in channel.log().splitlines()]
        return [line for line in said if re.match(r"(fsync|rename|posix-rename|open|close) ", line)]


@pytest.fixture
def server(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    return LoggedServer(str(folder))


def _flushes_then_renames(requests: list[str], name: str) -> tuple[list[str], list[str]]:
    flushed = [line for line in requests if line.startswith("fsync ") and name in line]
    renamed = [line for line in requests if re.match(r"(posix-)?rename ", line) and name in line]
    return flushed, renamed


def test_an_sftp_upload_over_a_file__is_flushed_on_the_server_before_it_replaces_it(
    server, tmp_path
):
    target = os.path.join(server.folder, "report.bin")
    with open(target, "wb") as handle:
        handle.write(b"the good old copy")
    source = tmp_path / "report.bin"
    source.write_bytes(os.urandom(BIG))
    with server.session() as fs:
        upload_file(fs, str(source), target)
        requests = server.requests()
    flushed, renamed = _flushes_then_renames(requests, ".report.bin.ferryman-part")
    assert len(flushed) == 1 and len(renamed) == 1
    assert requests.index(flushed[0]) < requests.index(renamed[0])
    assert open(target, "rb").read() == source.read_bytes()


def test_the_engine_uploading_to_a_new_name__does_not_flush_but_over_a_file_does(server, tmp_path):
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(BIG))
    queue = TransferQueue()
    engine = TransferEngine(queue, server.session, slots=1, conflict=Conflict.OVERWRITE)
    fresh = os.path.join(server.folder, "new.bin")
    over = os.path.join(server.folder, "old.bin")
    with open(over, "wb") as handle:
        handle.write(b"an older copy")
    queue.add([Job(Direction.UPLOAD, str(source), fresh, size=BIG),
               Job(Direction.UPLOAD, str(source), over, size=BIG)])  # fmt: skip
    jobs = engine.run()
    requests = server.requests()
    assert [job.state for job in jobs] == [State.DONE, State.DONE], [j.reason for j in jobs]
    assert _flushes_then_renames(requests, ".new.bin.ferryman-part")[0] == []
    flushed, renamed = _flushes_then_renames(requests, ".old.bin.ferryman-part")
    assert len(flushed) == 1 and requests.index(flushed[0]) < requests.index(renamed[0])
    for path in (fresh, over):
        assert open(path, "rb").read() == source.read_bytes()


def test_a_download_over_a_local_file__is_flushed_to_the_disk_before_it_replaces_it(
    server, tmp_path, monkeypatch
):
    with open(os.path.join(server.folder, "remote.bin"), "wb") as handle:
        handle.write(os.urandom(BIG))
    flushed: list[str] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    new, old = tmp_path / "new.bin", tmp_path / "old.bin"
    old.write_bytes(b"the good old copy")
    with server.session() as fs:
        download_file(fs, "remote.bin", str(new), expected_size=BIG)
        download_file(fs, "remote.bin", str(old), expected_size=BIG)
    assert [os.path.basename(path) for path in flushed] == [".old.bin.ferryman-part"]
    assert (
        old.read_bytes()
        == new.read_bytes()
        == open(os.path.join(server.folder, "remote.bin"), "rb").read()
    )
