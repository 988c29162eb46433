"""Segmented downloads against pyftpdlib: several sessions per file, resumable per range."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading

import pytest

from tests.conftest import write
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import Cancelled, ConnectionLost, TransferFailed
from tui.transfer.copy import download_file, part_path, state_path
from tui.transfer.engine import TransferEngine
from tui.transfer.queue import Direction, Job, State, TransferQueue
from tui.transfer.segments import _Run, download_segmented, plan

MiB = 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Sessions:
    """Opens real sessions to the test server and remembers them."""

    def __init__(self, url: str) -> None:
        self.service = ConnectionService(timeout=10, check_revocation=False)
        self.url = url
        self.opened = 0

    def __call__(self):
        self.opened += 1
        return self.service.open(self.url)


def test_plan_covers_the_file_without_overlap():
    for size, segments in [(10 * MiB + 7, 4), (MiB, 16), (100, 4), (5 * MiB, 1)]:
        ranges = plan(size, segments)
        assert ranges[0].start == 0 and ranges[-1].end == size
        assert all(a.end == b.start for a, b in zip(ranges, ranges[1:], strict=False))
    assert len(plan(100, 4)) == 1  # smaller than a block: one range, one stream


def test_a_file_is_fetched_over_several_sessions_to_identical_bytes(plain_server, root, tmp_path):
    payload = os.urandom(6 * MiB + 12345)
    write(root, "big.bin", payload)
    sessions = Sessions(plain_server.url("ftp"))
    target = tmp_path / "big.bin"
    seen: list[int] = []
    with sessions() as fs:
        received = download_segmented(fs, sessions, "/big.bin", str(target), size=len(payload),
                                      segments=4, progress=seen.append)  # fmt: skip
    assert received == len(payload) == sum(seen)
    assert sha(target.read_bytes()) == sha(payload)
    assert sessions.opened == 4  # the caller's and three more
    assert sorted(os.listdir(tmp_path)) == ["big.bin", "served"]  # no partial, no record


def test_the_streams_do_not_wait_for_each_other_to_write(plain_server, root, tmp_path, monkeypatch):
    """Each stream writes its own 32 KiB pieces when they arrive. (A lock that made them take
    turns, against the kernel's spinning on the inode lock with 256 KiB writes, cost about
    0.05 s per GiB once the pieces were small and that spinning was gone.)"""
    import tui.transfer.segments as segments

    payload = os.urandom(4 * MiB)
    write(root, "turns.bin", payload)
    inside, most = [0], [0]
    count = threading.Lock()
    real = os.pwrite

    def slow_pwrite(fd, data, offset):
        with count:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            threading.Event().wait(0.002)  # a slow disk: any overlap shows
            return real(fd, data, offset)
        finally:
            with count:
                inside[0] -= 1

    monkeypatch.setattr(segments.os, "pwrite", slow_pwrite)
    sessions = Sessions(plain_server.url("ftp"))
    with sessions() as fs:
        download_segmented(fs, sessions, "/turns.bin", str(tmp_path / "turns.bin"),
                           size=len(payload), segments=4)  # fmt: skip
    assert sha((tmp_path / "turns.bin").read_bytes()) == sha(payload)
    assert sessions.opened == 4 and most[0] > 1


def test_an_interrupted_download_resumes_every_range_where_it_stopped(plain_server, root, tmp_path):
    payload = os.urandom(8 * MiB)
    write(root, "r.bin", payload)
    sessions = Sessions(plain_server.url("ftp"))
    target = tmp_path / "r.bin"
    cancel = threading.Event()
    moved = [0]

    def progress(count: int) -> None:
        moved[0] += count
        if moved[0] >= 3 * MiB:
            cancel.set()

    with sessions() as fs, pytest.raises(Cancelled):
        download_segmented(fs, sessions, "/r.bin", str(target), size=len(payload), segments=4,
                           progress=progress, cancel=cancel)  # fmt: skip
    part = part_path(str(target))
    with open(state_path(part)) as handle:
        record = json.load(handle)
    done = [d for _, _, d in record["ranges"]]
    assert len(done) == 4 and sum(done) >= 3 * MiB and sum(done) < len(payload)
    assert sum(1 for d in done if d > 0) >= 2  # several ranges had started: not one stream
    assert not target.exists()

    with sessions() as fs:
        received = download_segmented(fs, sessions, "/r.bin", str(target), size=len(payload),
                                      segments=4, resume=True)  # fmt: skip
    assert received == len(payload) - sum(done)  # only what was missing
    assert sha(target.read_bytes()) == sha(payload)
    assert not os.path.exists(part) and not os.path.exists(state_path(part))


def test_a_single_stream_resume_keeps_only_the_solid_start_of_a_segmented_partial(
    plain_server, root, tmp_path
):
    """The partial file of a segmented run has holes; a one-stream resume (for a server that
    no longer allows several sessions, say) must not take the holes for data."""
    payload = os.urandom(4 * MiB)
    write(root, "h.bin", payload)
    target = tmp_path / "h.bin"
    part = part_path(str(target))
    with open(part, "wb") as handle:
        handle.write(payload[:MiB])  # range 0 complete
        handle.seek(2 * MiB)
        handle.write(payload[2 * MiB : 2 * MiB + 1000])  # range 2 started
        handle.truncate(4 * MiB)
    with open(state_path(part), "w") as handle:
        ranges = [[0, MiB, MiB], [MiB, 2 * MiB, 0], [2 * MiB, 3 * MiB, 1000], [3 * MiB, 4 * MiB, 0]]
        json.dump({"size": 4 * MiB, "ranges": ranges}, handle)
    sessions = Sessions(plain_server.url("ftp"))
    with sessions() as fs:
        received = download_file(fs, "/h.bin", str(target), resume=True)
    assert received == 3 * MiB
    assert sha(target.read_bytes()) == sha(payload)
    assert not os.path.exists(state_path(part))


def test_sessions_that_cannot_be_opened_leave_their_ranges_to_the_others(
    plain_server, root, tmp_path
):
    payload = os.urandom(5 * MiB)
    write(root, "one.bin", payload)
    sessions = Sessions(plain_server.url("ftp"))

    def refused():
        raise ConnectionLost("421 Too many connections from this address")

    with sessions() as fs:
        download_segmented(fs, refused, "/one.bin", str(tmp_path / "one.bin"),
                           size=len(payload), segments=4)  # fmt: skip
    assert sha((tmp_path / "one.bin").read_bytes()) == sha(payload)


def test_a_session_the_server_hangs_up_after_an_early_stop_is_made_again(
    plain_server, root, tmp_path, monkeypatch
):
    """ProFTPD sometimes drops the whole session when a stream stops at the end of its
    range; the stream connects again and fetches its next range."""
    payload = os.urandom(5 * MiB + 7)
    write(root, "h.bin", payload)
    sessions = Sessions(plain_server.url("ftp"))
    abandon = _Run._abandon
    hung_up: list[object] = []

    def abandon_then_hang_up(self: _Run, reader) -> None:  # type: ignore[no-untyped-def]
        reader._fs.control.sock.shutdown(socket.SHUT_RDWR)  # the server's answer: it hangs up
        hung_up.append(reader)
        abandon(self, reader)  # which finds the session gone instead of a 426

    def refused():
        raise ConnectionLost("421 Too many connections from this address")

    monkeypatch.setattr(_Run, "_abandon", abandon_then_hang_up)
    with sessions() as fs:  # one stream: it fetches every range in turn, stopping early
        received = download_segmented(fs, refused, "/h.bin", str(tmp_path / "h.bin"),
                                      size=len(payload), segments=4)  # fmt: skip
        assert fs.size("/h.bin") == len(payload)  # the caller's session works again
        assert len(hung_up) == 3 and received == len(payload)
        assert sha((tmp_path / "h.bin").read_bytes()) == sha(payload)
        # Cancelled mid-range, the server hangs up on the stop: the caller still gets its
        # session back, working.
        cancel = threading.Event()
        with pytest.raises(Cancelled):
            download_segmented(fs, refused, "/h.bin", str(tmp_path / "again.bin"),
                               size=len(payload), segments=4, cancel=cancel,
                               progress=lambda count: cancel.set())  # fmt: skip
        assert len(hung_up) == 4 and fs.connected
        assert fs.size("/h.bin") == len(payload)


def test_a_file_that_shrank_on_the_server_fails_and_is_kept_for_resume(
    plain_server, root, tmp_path
):
    write(root, "s.bin", os.urandom(3 * MiB))
    sessions = Sessions(plain_server.url("ftp"))
    target = tmp_path / "s.bin"
    with sessions() as fs, pytest.raises(TransferFailed, match="ended at"):
        download_segmented(fs, sessions, "/s.bin", str(target), size=4 * MiB, segments=4)
    assert not target.exists()
    assert os.path.exists(state_path(part_path(str(target))))


def test_the_engine_segments_large_files_only_and_reports_the_whole_file(
    plain_server, root, tmp_path
):
    big, small = os.urandom(6 * MiB), os.urandom(100_000)
    write(root, "tree/big.bin", big)
    write(root, "tree/small.bin", small)
    sessions = Sessions(plain_server.url("ftp"))
    queue = TransferQueue()
    queue.add([Job(Direction.DOWNLOAD, "/tree", str(tmp_path / "tree"), is_dir=True)])
    progress: dict[str, int] = {}

    def report(job: Job, count: int) -> None:
        progress[job.name] = progress.get(job.name, 0) + count

    engine = TransferEngine(queue, sessions, slots=1, segments=3, segment_threshold=MiB,
                            progress=report, progress_interval=0)  # fmt: skip
    jobs = engine.run()
    assert all(job.state is State.DONE for job in jobs)
    assert sha((tmp_path / "tree" / "big.bin").read_bytes()) == sha(big)
    assert (tmp_path / "tree" / "small.bin").read_bytes() == small
    assert progress == {"big.bin": len(big), "small.bin": len(small)}
    assert sessions.opened == 1 + 2  # the slot's session, and two more for big.bin only


def test_cli_get_segments_large_files_and_checks_the_option(plain_server, root, tmp_path, capsys):
    payload = os.urandom(64 * MiB + 1)  # just over the threshold
    write(root, "large.bin", payload)
    url = plain_server.url("ftp", "large.bin")
    assert main(["get", "-v", "--segments", "3", url, str(tmp_path / "out.bin")]) == 0
    log = capsys.readouterr().err
    assert log.count("Connecting to") == 3  # one session per segment
    assert sha((tmp_path / "out.bin").read_bytes()) == sha(payload)
    assert main(["get", "--segments", "0", url, str(tmp_path / "x.bin")]) == 2
    assert "--segments takes 1 to 16" in capsys.readouterr().err
