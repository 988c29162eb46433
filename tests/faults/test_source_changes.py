"""The source changes under the copy, and targets that must not be replaced: a file that grew
after its size was taken fails clearly and keeps nothing wrong (segmented or not, and no
more than the announced size is written); a read-only target is refused, as cp does, and a
writable one keeps its permission bits."""

from __future__ import annotations

import os
import stat

import pytest

from tests.conftest import write
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import TransferFailed
from tui.transfer.copy import download_file, part_path, state_path
from tui.transfer.engine import TransferEngine
from tui.transfer.queue import Direction, Job, State, TransferQueue

MiB = 1024 * 1024


def _open(server):  # type: ignore[no-untyped-def]
    service = ConnectionService(timeout=10, check_revocation=False)
    return lambda: service.open(server.url("ftp"))


def _grow_on_first_progress(path: str, extra: bytes):  # type: ignore[no-untyped-def]
    grown: list[bool] = []

    def progress(job: object, count: int) -> None:
        if not grown:
            grown.append(True)
            with open(path, "ab") as handle:
                handle.write(extra)

    return progress


def test_a_file_that_grew_after_size__segmented__fails_and_keeps_nothing(
    plain_server, root, tmp_path
):
    payload = os.urandom(4 * MiB)
    served = write(root, "grow.bin", payload)
    target = tmp_path / "grow.bin"
    queue = TransferQueue()
    job = Job(Direction.DOWNLOAD, "/grow.bin", str(target), size=len(payload))  # as listed
    queue.add([job])
    TransferEngine(queue, _open(plain_server), slots=1, segments=3, segment_threshold=MiB,
                   progress=_grow_on_first_progress(served, os.urandom(MiB)),
                   progress_interval=0).run()  # fmt: skip
    assert job.state is State.FAILED
    assert "changed on the server while it was copied" in job.reason
    assert not target.exists()
    assert not os.path.exists(part_path(str(target)))
    assert not os.path.exists(state_path(part_path(str(target))))


def test_a_file_removed_while_a_segmented_download_ran__fails_and_keeps_nothing(
    plain_server, root, tmp_path
):
    served = write(root, "gone.bin", os.urandom(4 * MiB))
    target = tmp_path / "gone.bin"
    removed: list[bool] = []

    def progress(job: Job, count: int) -> None:
        if not removed and job.done >= 3 * MiB:  # both streams are reading by now
            removed.append(True)
            os.remove(served)  # the streams already open still read the old file

    queue = TransferQueue()
    job = Job(Direction.DOWNLOAD, "/gone.bin", str(target), size=4 * MiB)
    queue.add([job])
    TransferEngine(queue, _open(plain_server), slots=1, segments=2, segment_threshold=MiB,
                   progress=progress, progress_interval=0).run()  # fmt: skip
    assert job.state is State.FAILED
    assert "removed from the server while it was copied" in job.reason, job.reason
    assert not target.exists() and not os.path.exists(part_path(str(target)))


def test_a_file_that_grew_after_size__single_stream__writes_no_more_than_announced(
    plain_server, root, tmp_path
):
    """SIZE said 2 MiB; by the RETR the file has 5 MiB, and the server sends all of it."""
    payload = os.urandom(2 * MiB)
    served = write(root, "more.bin", payload)
    with open(served, "ab") as handle:
        handle.write(os.urandom(3 * MiB))
    target = tmp_path / "more.bin"
    part = part_path(str(target))
    largest = [0]

    def progress(count: int) -> None:
        largest[0] = max(largest[0], os.path.getsize(part))

    with _open(plain_server)() as fs, pytest.raises(TransferFailed, match="changed on the server"):
        download_file(fs, "/more.bin", str(target), expected_size=len(payload), progress=progress)
    assert 0 < largest[0] <= len(payload)
    assert not target.exists() and not os.path.exists(part)


def test_a_large_file_rewritten_in_place_while_copied__single_stream__fails(
    plain_server, root, tmp_path
):
    """Same size, other bytes, another time: only the MDTM after the copy can tell."""
    payload = os.urandom(9 * MiB)
    served = write(root, "same.bin", payload)
    os.utime(served, (1_700_000_000, 1_700_000_000))
    target = tmp_path / "same.bin"
    rewritten: list[bool] = []

    def progress(count: int) -> None:
        if not rewritten:
            rewritten.append(True)
            with open(served, "r+b") as handle:
                handle.write(os.urandom(MiB))  # in place: the size stays

    with _open(plain_server)() as fs, pytest.raises(TransferFailed, match="changed on the server"):
        download_file(fs, "/same.bin", str(target), expected_size=len(payload), progress=progress)
    assert not target.exists() and not os.path.exists(part_path(str(target)))


def test_a_file_that_grew_after_size__the_cli__exits_5_without_retrying(
    plain_server, root, tmp_path, capsys
):
    """SIZE said 1 MiB when the job was made; the file has 2 MiB when the data comes."""
    served = write(root, "late.bin", os.urandom(MiB))
    queue = TransferQueue()
    job = Job(Direction.DOWNLOAD, "/late.bin", str(tmp_path / "late.bin"), size=MiB)
    with open(served, "ab") as handle:
        handle.write(os.urandom(MiB))
    queue.add([job])
    TransferEngine(queue, _open(plain_server), slots=1, backoff=0.01).run()
    assert job.state is State.FAILED and job.attempts == 0, job.reason
    assert "changed on the server while it was copied" in job.reason


@pytest.mark.parametrize("segments", ["1", "3"])
def test_a_read_only_target__is_refused_and_kept(plain_server, root, tmp_path, capsys, segments):
    write(root, "ro.bin", os.urandom(2 * MiB))
    target = tmp_path / "ro.bin"
    target.write_bytes(b"keep me")
    target.chmod(0o444)
    code = main(["get", "--segments", segments, plain_server.url("ftp", "ro.bin"), str(target)])
    err = capsys.readouterr().err
    assert code == 5
    assert "read-only" in err and err.strip().count("\n") == 0
    assert target.read_bytes() == b"keep me"
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    assert not os.path.exists(part_path(str(target)))


def test_a_writable_target__is_replaced_and_keeps_its_mode(plain_server, root, tmp_path):
    payload = os.urandom(MiB)
    write(root, "rw.bin", payload)
    target = tmp_path / "rw.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)
    assert main(["get", plain_server.url("ftp", "rw.bin"), str(target)]) == 0
    assert target.read_bytes() == payload
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
