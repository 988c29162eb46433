"""Resuming onto bytes that are not a prefix of the source: a partial file or a target that
Ferryman did not write (or wrote for another version of the file) is continued only when an
overlap re-read from the source proves it; otherwise the copy starts over, and says so."""

from __future__ import annotations

import json
import os
import threading

import pytest

from tests.conftest import write
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import Cancelled
from tui.transfer.copy import download_file, part_path
from tui.transfer.copy import state_path as record_path
from tui.transfer.engine import TransferEngine
from tui.transfer.queue import Direction, Job, State, TransferQueue

MiB = 1024 * 1024


def _open(server):  # type: ignore[no-untyped-def]
    service = ConnectionService(timeout=10, check_revocation=False)
    return lambda: service.open(server.url("ftp"))


@pytest.mark.parametrize("extra", [[], ["--segments", "1"]], ids=["default", "one-segment"])
def test_get_resume_onto_a_foreign_partial__starts_over(
    plain_server, root, tmp_path, capsys, extra
):
    payload = os.urandom(2 * MiB)
    write(root, "f.bin", payload)
    target = tmp_path / "f.bin"
    with open(part_path(str(target)), "wb") as handle:  # another file's bytes, no record
        handle.write(os.urandom(MiB))
    code = main(["get", "--resume", *extra, plain_server.url("ftp", "f.bin"), str(target)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert target.read_bytes() == payload
    assert "started over" in err
    assert not os.path.exists(part_path(str(target)))
    assert not os.path.exists(record_path(part_path(str(target))))


def test_get_resume_with_a_different_file_at_the_target__keeps_the_real_partial(
    plain_server, root, tmp_path, capsys
):
    payload = os.urandom(2 * MiB)
    write(root, "g.bin", payload)
    target = tmp_path / "g.bin"
    target.write_bytes(os.urandom(MiB // 2))  # some other file, shorter than the source
    with open(part_path(str(target)), "wb") as handle:  # the real partial of this source
        handle.write(payload[:MiB])
    assert main(["get", "--resume", plain_server.url("ftp", "g.bin"), str(target)]) == 0
    assert target.read_bytes() == payload
    assert not os.path.exists(part_path(str(target)))


def test_get_resume_onto_a_different_target_and_no_partial__starts_over(
    plain_server, root, tmp_path, capsys
):
    payload = os.urandom(2 * MiB)
    write(root, "h.bin", payload)
    target = tmp_path / "h.bin"
    target.write_bytes(os.urandom(MiB))
    assert main(["get", "--resume", plain_server.url("ftp", "h.bin"), str(target)]) == 0
    assert target.read_bytes() == payload
    assert "started over" in capsys.readouterr().err


def test_get_resume_onto_a_target_that_is_a_prefix__continues_it(plain_server, root, tmp_path):
    payload = os.urandom(2 * MiB)
    write(root, "p.bin", payload)
    target = tmp_path / "p.bin"
    target.write_bytes(payload[: MiB + 5])  # e.g. from wget: a real prefix, no record
    session = _open(plain_server)
    with session() as fs:
        received = download_file(fs, "/p.bin", str(target), resume=True)
    assert target.read_bytes() == payload
    # The target is not a partial file: download_file replaces it; the engine's resume
    # path makes it the partial first (next test).
    assert received == len(payload)


def test_our_own_interrupted_partial__continues_from_its_record(plain_server, root, tmp_path):
    payload = os.urandom(4 * MiB)
    write(root, "o.bin", payload)
    target = tmp_path / "o.bin"
    part = part_path(str(target))
    cancel = threading.Event()
    moved = [0]

    def progress(count: int) -> None:
        moved[0] += count
        if moved[0] >= MiB:
            cancel.set()

    session = _open(plain_server)
    with session() as fs, pytest.raises(Cancelled):
        download_file(fs, "/o.bin", str(target), progress=progress, cancel=cancel)
    with open(record_path(part), encoding="utf-8") as handle:
        record = json.load(handle)
    assert record["size"] == len(payload) and record["source"] == "/o.bin"
    kept = os.path.getsize(part)
    with session() as fs:
        received = download_file(fs, "/o.bin", str(target), resume=True)
    assert received == len(payload) - kept
    assert target.read_bytes() == payload
    assert not os.path.exists(part) and not os.path.exists(record_path(part))


def test_a_partial_recorded_for_another_version__continues_only_with_proof(
    plain_server, root, tmp_path
):
    """The source grew by an append since the partial was made: the record's size differs,
    but an overlap re-read proves the partial is still a prefix; it is continued."""
    payload = os.urandom(3 * MiB)
    write(root, "v.bin", payload)
    target = tmp_path / "v.bin"
    part = part_path(str(target))
    with open(part, "wb") as handle:
        handle.write(payload[:MiB])
    with open(record_path(part), "w", encoding="utf-8") as handle:
        json.dump({"source": "/v.bin", "size": 2 * MiB, "mtime": None}, handle)
    session = _open(plain_server)
    with session() as fs:
        received = download_file(fs, "/v.bin", str(target), resume=True)
    assert received == 2 * MiB
    assert target.read_bytes() == payload


def test_our_record_but_other_bytes_at_the_overlap__starts_over(plain_server, root, tmp_path):
    """The record names this source (a listing's time can be as coarse as a minute), but
    the bytes before the resume point are not the source's: the bytes win."""
    payload = os.urandom(2 * MiB)
    write(root, "r.bin", payload)
    target = tmp_path / "r.bin"
    part = part_path(str(target))
    with open(part, "wb") as handle:
        handle.write(os.urandom(MiB))
    with open(record_path(part), "w", encoding="utf-8") as handle:
        json.dump({"source": "/r.bin", "size": len(payload), "mtime": None}, handle)
    notes: list[str] = []
    with _open(plain_server)() as fs:
        received = download_file(fs, "/r.bin", str(target), resume=True, note=notes.append)
    assert received == len(payload) and target.read_bytes() == payload
    assert "started over" in notes[0]


def test_segmented_resume_onto_a_foreign_partial__starts_over(plain_server, root, tmp_path):
    payload = os.urandom(4 * MiB)
    write(root, "s.bin", payload)
    target = tmp_path / "s.bin"
    with open(part_path(str(target)), "wb") as handle:
        handle.write(os.urandom(4 * MiB))  # the right size, the wrong bytes, no record
    queue = TransferQueue()
    job = Job(Direction.DOWNLOAD, "/s.bin", str(target), size=len(payload))
    queue.add([job])
    TransferEngine(queue, _open(plain_server), slots=1, segments=3, segment_threshold=MiB,
                   resume_partials=True).run()  # fmt: skip
    assert job.state is State.DONE, job.reason
    assert target.read_bytes() == payload
    assert "started over" in job.reason


def test_put_resume_onto_a_foreign_remote_partial__starts_over(
    plain_server, root, tmp_path, capsys
):
    payload = os.urandom(2 * MiB)
    source = tmp_path / "u.bin"
    source.write_bytes(payload)
    write(root, ".u.bin.ferryman-part", os.urandom(MiB))  # not a prefix of ours
    code = main(["put", "--resume", str(source), plain_server.url("ftp", "u.bin")])
    err = capsys.readouterr().err
    assert code == 0, err
    with open(os.path.join(root, "u.bin"), "rb") as handle:
        assert handle.read() == payload
    assert "started over" in err


def test_put_resume_onto_a_real_remote_partial__continues(plain_server, root, tmp_path, capsys):
    payload = os.urandom(2 * MiB)
    source = tmp_path / "w.bin"
    source.write_bytes(payload)
    write(root, ".w.bin.ferryman-part", payload[:MiB])
    assert main(["put", "--resume", str(source), plain_server.url("ftp", "w.bin")]) == 0
    assert "started over" not in capsys.readouterr().err
    with open(os.path.join(root, "w.bin"), "rb") as handle:
        assert handle.read() == payload


def test_put_resume_onto_a_different_remote_target__starts_over(
    plain_server, root, tmp_path, capsys
):
    payload = os.urandom(2 * MiB)
    source = tmp_path / "t.bin"
    source.write_bytes(payload)
    write(root, "t.bin", os.urandom(MiB))
    assert main(["put", "--resume", str(source), plain_server.url("ftp", "t.bin")]) == 0
    with open(os.path.join(root, "t.bin"), "rb") as handle:
        assert handle.read() == payload
    assert "started over" in capsys.readouterr().err


def test_get_resume_onto_a_different_file_of_the_same_size__replaces_it(
    plain_server, root, tmp_path, capsys
):
    """ "Already complete" is a claim about the bytes, not the length."""
    payload = os.urandom(MiB)
    write(root, "same.bin", payload)
    target = tmp_path / "same.bin"
    target.write_bytes(os.urandom(MiB))
    assert main(["get", "--resume", plain_server.url("ftp", "same.bin"), str(target)]) == 0
    assert target.read_bytes() == payload
    assert "started over" in capsys.readouterr().err


def test_get_resume_onto_the_complete_copy__skips_it(plain_server, root, tmp_path, capsys):
    payload = os.urandom(MiB)
    write(root, "done.bin", payload)
    target = tmp_path / "done.bin"
    target.write_bytes(payload)
    assert main(["get", "--resume", plain_server.url("ftp", "done.bin"), str(target)]) == 0
    assert "already complete" in capsys.readouterr().err


def test_put_resume_onto_a_different_remote_file_of_the_same_size__replaces_it(
    plain_server, root, tmp_path, capsys
):
    payload = os.urandom(MiB)
    source = tmp_path / "same.bin"
    source.write_bytes(payload)
    write(root, "same.bin", os.urandom(MiB))
    assert main(["put", "--resume", str(source), plain_server.url("ftp", "same.bin")]) == 0
    with open(os.path.join(root, "same.bin"), "rb") as handle:
        assert handle.read() == payload
    assert "started over" in capsys.readouterr().err
