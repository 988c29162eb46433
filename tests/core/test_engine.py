"""The transfer engine against pyftpdlib: conflicts, faults, pause, cancel, parallel trees."""

from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import write
from tests.interop.servers import free_port
from tui.connection import ConnectionService
from tui.demo import SandboxServer
from tui.transfer.copy import IN_PLACE_LIMIT, part_name
from tui.transfer.engine import Conflict, TransferEngine
from tui.transfer.queue import Direction, Job, State, TransferQueue


def digest(path) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def engine_for(url: str, jobs: list[Job], **options) -> tuple[TransferEngine, TransferQueue]:
    service = ConnectionService(timeout=10, check_revocation=False)
    queue = TransferQueue()
    queue.add(jobs)
    options.setdefault("backoff", 0.05)
    options.setdefault("progress_interval", 0)  # every block: the tests act mid-file
    return TransferEngine(queue, lambda: service.open(url), **options), queue


def test_trees_both_ways_in_parallel(plain_server, root, tmp_path):
    for n in range(60):
        write(root, f"tree/d{n % 5}/f{n}.bin", os.urandom(1000 + n))
    engine, _ = engine_for(
        plain_server.url("ftp"),
        [Job(Direction.DOWNLOAD, "/tree", str(tmp_path / "down"), is_dir=True)],
        slots=4,
    )
    jobs = engine.run()
    assert {job.state for job in jobs} == {State.DONE} and len(jobs) == 66
    for n in range(60):
        relative = f"d{n % 5}/f{n}.bin"
        assert digest(tmp_path / "down" / relative) == digest(os.path.join(root, "tree", relative))
    engine, _ = engine_for(
        plain_server.url("ftp"),
        [Job(Direction.UPLOAD, str(tmp_path / "down"), "/back", is_dir=True)],
        slots=4,
    )
    assert {job.state for job in engine.run()} == {State.DONE}
    for n in range(60):
        relative = f"d{n % 5}/f{n}.bin"
        assert digest(os.path.join(root, "back", relative)) == digest(tmp_path / "down" / relative)


@pytest.mark.parametrize(
    ("policy", "state", "content"),
    [
        (Conflict.OVERWRITE, State.DONE, b"new version"),
        (Conflict.SKIP, State.SKIPPED, b"old"),
        (Conflict.NEWER, State.DONE, b"new version"),  # the source is newer
        (Conflict.RESUME, State.DONE, b"new version"),  # "old" is not its start: see below
        (Conflict.RENAME, State.DONE, b"old"),
    ],
)
def test_conflict_policies_on_download(plain_server, root, tmp_path, policy, state, content):
    write(root, "f.txt", b"new version")
    target = tmp_path / "f.txt"
    target.write_bytes(b"new")  # a partial copy: its bytes are the source's first three
    os.utime(target, (0, 0))
    entry_job = Job(Direction.DOWNLOAD, "/f.txt", str(target), size=11)
    from datetime import UTC, datetime

    entry_job.mtime = datetime.now(UTC)
    engine, _ = engine_for(plain_server.url("ftp"), [entry_job], conflict=policy, slots=1)
    (job,) = engine.run()
    assert job.state is state, job.reason
    if policy is Conflict.RENAME:
        assert (tmp_path / "f (1).txt").read_bytes() == b"new version"
        assert target.read_bytes() == b"new"
    elif policy is Conflict.SKIP:
        assert target.read_bytes() == b"new"
    else:
        assert target.read_bytes() == b"new version"
    if policy is Conflict.RESUME:
        assert job.done == 8  # only the bytes after the three it had


def test_newer_skips_when_the_target_is_newer_and_ask_uses_the_prompt(plain_server, root, tmp_path):
    from datetime import UTC, datetime, timedelta

    write(root, "a.txt", b"server")
    write(root, "b.txt", b"server")
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_bytes(b"local")
    old = datetime.now(UTC) - timedelta(days=3)
    jobs = [Job(Direction.DOWNLOAD, f"/{n}", str(tmp_path / n), size=6, mtime=old)
            for n in ("a.txt", "b.txt")]  # fmt: skip
    engine, _ = engine_for(plain_server.url("ftp"), jobs[:1], conflict=Conflict.NEWER, slots=1)
    assert engine.run()[0].state is State.SKIPPED
    asked = []

    def prompt(job):
        asked.append(job.target)
        return Conflict.OVERWRITE, True  # "apply to all"

    engine, _ = engine_for(plain_server.url("ftp"), jobs, conflict=Conflict.ASK, prompt=prompt,
                           slots=1)  # fmt: skip
    jobs[0].state = State.QUEUED
    assert [job.state for job in engine.run()] == [State.DONE, State.DONE]
    assert len(asked) == 1  # the second used the answer given for all
    assert (tmp_path / "b.txt").read_bytes() == b"server"


def test_a_server_restarted_mid_download_is_resumed_to_identical_bytes(root, tmp_path):
    payload = os.urandom(24 * 1024 * 1024)
    write(root, "big.bin", payload)
    server = SandboxServer(root, port=free_port()).start()  # restarted on it: not ephemeral
    port = server.port
    restarted: list[SandboxServer] = []

    def progress(job, count):
        if job.done > 4 * 1024 * 1024 and not restarted:
            restarted.append(server)
            server.stop()  # every connection dies mid-transfer
            restarted.append(SandboxServer(root, port=port).start())

    job = Job(Direction.DOWNLOAD, "/big.bin", str(tmp_path / "big.bin"), size=len(payload))
    engine, _ = engine_for(server.url("ftp"), [job], slots=1, progress=progress)
    try:
        (done,) = engine.run()
    finally:
        restarted[-1].stop() if restarted else server.stop()
    assert done.state is State.DONE and done.attempts == 1
    assert digest(tmp_path / "big.bin") == hashlib.sha256(payload).hexdigest()
    assert done.done < len(payload) + 4 * 1024 * 1024  # it resumed, not started over


def test_pause_keeps_the_partial_and_resume_completes(plain_server, root, tmp_path):
    payload = os.urandom(16 * 1024 * 1024)
    write(root, "p.bin", payload)
    job = Job(Direction.DOWNLOAD, "/p.bin", str(tmp_path / "p.bin"), size=len(payload))
    queue_box: list[TransferQueue] = []

    def progress(running, count):
        if running.done > 2 * 1024 * 1024 and running.state is State.RUNNING and not queue_box[1:]:
            queue_box.append(None)  # once
            queue_box[0].pause(running.id)

    engine, queue = engine_for(plain_server.url("ftp"), [job], slots=1, progress=progress)
    queue_box.append(queue)
    engine.run()
    assert job.state is State.PAUSED
    partial = tmp_path / part_name("p.bin")
    assert partial.exists() and not (tmp_path / "p.bin").exists()
    queue.resume(job.id)
    engine = TransferEngine(queue, engine.open_session, slots=1, resume_partials=True)
    engine.run()
    assert job.state is State.DONE and not partial.exists()
    assert digest(tmp_path / "p.bin") == hashlib.sha256(payload).hexdigest()


def test_cancel_mid_file_leaves_nothing_half_done(plain_server, root, tmp_path):
    write(root, "c.bin", os.urandom(16 * 1024 * 1024))
    local = tmp_path / "local"
    local.mkdir()
    (local / "c.bin").write_bytes(b"the good old file")
    job = Job(Direction.DOWNLOAD, "/c.bin", str(local / "c.bin"), size=16 * 1024 * 1024)
    holder: list[TransferQueue] = []

    def progress(running, count):
        if running.done > 1024 * 1024:
            holder[0].cancel(running.id)

    engine, queue = engine_for(plain_server.url("ftp"), [job], slots=1, progress=progress,
                               conflict=Conflict.OVERWRITE)  # fmt: skip
    holder.append(queue)
    engine.run()
    assert job.state is State.CANCELLED
    assert sorted(os.listdir(local)) == ["c.bin"]  # no partial, nothing renamed
    assert (local / "c.bin").read_bytes() == b"the good old file"


def test_a_full_disk_fails_clearly_and_keeps_the_good_file(plain_server, root, tmp_path):
    # RLIMIT_FSIZE stands in for a full disk: writes past it fail with EFBIG in the child.
    write(root, "big.bin", os.urandom(3 * 1024 * 1024))
    (tmp_path / "big.bin").write_bytes(b"the good old file")
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, 1024 * 1024))\n"
        "from tui.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "get", plain_server.url("ftp", "big.bin"), str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert "Disk full" in result.stderr or "too large" in result.stderr.lower()
    assert (tmp_path / "big.bin").read_bytes() == b"the good old file"
    assert (tmp_path / part_name("big.bin")).stat().st_size == 1024 * 1024  # kept for --resume


def recording(url: str, sent: list[str]):  # type: ignore[no-untyped-def]
    """A session opener whose sessions add every command they send to ``sent``."""

    def log(way: str, line: str) -> None:
        if way == ">" and line[:4] in ("STOR", "RNFR", "RNTO", "DELE"):
            sent.append(line)

    service = ConnectionService(timeout=10, check_revocation=False, log=log)
    return lambda: service.open(url)


def uploads_logged(url: str, jobs: list[Job]) -> tuple[list[Job], list[str]]:
    """Run upload jobs; return them and the STOR/RNFR/RNTO/DELE commands sent."""
    sent: list[str] = []
    queue = TransferQueue()
    queue.add(jobs)
    engine = TransferEngine(queue, recording(url, sent), slots=1, conflict=Conflict.OVERWRITE)
    return engine.run(), sent


def test_small_uploads_to_new_names_are_written_in_place(plain_server, root, tmp_path):
    local = tmp_path / "up"
    local.mkdir()
    small, large = os.urandom(5000), os.urandom(IN_PLACE_LIMIT)  # the limit is not "small"
    (local / "small.bin").write_bytes(small)
    (local / "large.bin").write_bytes(large)
    write(root, "old.bin", b"the good old file")
    jobs, sent = uploads_logged(plain_server.url("ftp"), [
        Job(Direction.UPLOAD, str(local), "/up", is_dir=True),  # a folder this run makes
        Job(Direction.UPLOAD, str(local / "small.bin"), "/new.bin", size=5000),  # absent
        Job(Direction.UPLOAD, str(local / "small.bin"), "/old.bin", size=5000),  # exists
    ])  # fmt: skip
    assert {job.state for job in jobs} == {State.DONE}
    large_part = f"/up/{part_name('large.bin')}"
    assert sent == [
        f"STOR {large_part}", f"RNFR {large_part}", "RNTO /up/large.bin",
        "STOR /up/small.bin",
        "STOR /new.bin",
        f"STOR /{part_name('old.bin')}", f"RNFR /{part_name('old.bin')}", "RNTO /old.bin",
    ]  # fmt: skip
    for name, data in (("up/small.bin", small), ("up/large.bin", large), ("new.bin", small),
                       ("old.bin", small)):  # fmt: skip
        with open(os.path.join(root, name), "rb") as handle:
            assert handle.read() == data


def test_an_in_place_upload_that_fails_leaves_nothing_behind(plain_server, root, tmp_path):
    source = tmp_path / "s.bin"
    source.write_bytes(os.urandom(IN_PLACE_LIMIT - 1))  # four blocks: cancelled after one
    holder: list[TransferQueue] = []

    def progress(running: Job, count: int) -> None:
        holder[0].cancel(running.id)

    sent: list[str] = []
    queue = TransferQueue()
    holder.append(queue)
    job = Job(Direction.UPLOAD, str(source), "/s.bin", size=IN_PLACE_LIMIT - 1)
    queue.add([job])
    TransferEngine(queue, recording(plain_server.url("ftp"), sent), slots=1, progress=progress,
                   progress_interval=0).run()  # fmt: skip
    assert job.state is State.CANCELLED
    assert sent == ["STOR /s.bin", "DELE /s.bin"]  # it was written in place, and removed
    assert os.listdir(root) == []
    # Meanwhile someone puts a file there: a retry looks again (no one to ask: skipped).
    write(root, "s.bin", b"someone else's file")
    queue.retry(job.id)
    TransferEngine(queue, recording(plain_server.url("ftp"), sent), slots=1).run()
    assert job.state is State.SKIPPED
    with open(os.path.join(root, "s.bin"), "rb") as handle:
        assert handle.read() == b"someone else's file"


def test_retries_are_bounded(tmp_path):
    service_calls = []

    def refuse():
        service_calls.append(time.monotonic())
        from tui.errors import ConnectionLost

        raise ConnectionLost("the server is gone")

    queue = TransferQueue()
    job = Job(Direction.DOWNLOAD, "/x", str(tmp_path / "x"))
    queue.add([job])
    TransferEngine(queue, refuse, slots=1, retries=2, backoff=0.01).run()
    assert job.state is State.FAILED and "after 3 tries" in job.reason
    assert len(service_calls) == 3


def test_cli_get_with_parallel_sessions_and_conflict_flag(plain_server, root, tmp_path):
    from tui.cli import main

    for n in range(20):
        write(root, f"set/f{n}.txt", f"{n}".encode())
    out = tmp_path / "out"
    assert main(["get", "-r", "-j", "4", plain_server.url("ftp", "set"), str(out)]) == 0
    assert sorted(os.listdir(out)) == sorted(f"f{n}.txt" for n in range(20))
    (out / "f1.txt").write_text("mine")
    assert main(["get", "-r", "--overwrite", "skip", plain_server.url("ftp", "set"),
                 str(tmp_path)]) == 0  # fmt: skip
    assert main(["get", "-r", "--overwrite=skip", plain_server.url("ftp", "set"), str(out)]) == 0
    assert (out / "f1.txt").read_text() == "mine"
    assert main(["get", "-j", "11", plain_server.url("ftp", "set/f1.txt")]) == 2
    threading.active_count()  # workers are daemon threads; the test ends without waiting


def test_an_unexpected_error_fails_the_job_instead_of_stranding_it(tmp_path):
    def broken():
        raise RuntimeError("a bug")

    queue = TransferQueue()
    jobs = [Job(Direction.DOWNLOAD, f"/x{n}", str(tmp_path / f"x{n}")) for n in range(3)]
    queue.add(jobs)
    TransferEngine(queue, broken, slots=1).run()
    assert [job.state for job in jobs] == [State.FAILED] * 3  # the worker went on
    assert "a bug" in jobs[0].reason


def test_queue_hands_out_jobs_in_order_after_retry_move_and_resume():
    """take() skips past finished jobs without rescanning them, yet never misses a job that
    became queued again before that point."""
    queue = TransferQueue()
    jobs = [Job(Direction.DOWNLOAD, f"/r/{n}", f"/l/{n}") for n in range(5)]
    queue.add(jobs)
    first, second = queue.take(timeout=0), queue.take(timeout=0)
    assert (first, second) == (jobs[0], jobs[1])
    queue.finish(first, State.FAILED, "broken")
    queue.pause(jobs[3].id)
    queue.retry(first.id)
    assert queue.take(timeout=0) is jobs[0]  # before the scan point, found again
    assert queue.take(timeout=0) is jobs[2]
    queue.move(jobs[4].id, -4)
    queue.resume(jobs[3].id)
    assert queue.take(timeout=0) is jobs[4]
    assert queue.take(timeout=0) is jobs[3]
    assert queue.take(timeout=0) is None
    queue.add([Job(Direction.DOWNLOAD, "/r/x", "/l/x")], first=True)
    assert queue.take(timeout=0).source == "/r/x"


@pytest.mark.parametrize("direction", [Direction.DOWNLOAD, Direction.UPLOAD])
def test_cancelling_a_paused_job_removes_its_partial_file(plain_server, root, tmp_path, direction):
    payload = os.urandom(16 * 1024 * 1024)
    if direction is Direction.DOWNLOAD:
        write(root, "p.bin", payload)
        job = Job(direction, "/p.bin", str(tmp_path / "p.bin"), size=len(payload))
        partial = tmp_path / part_name("p.bin")
    else:
        (tmp_path / "p.bin").write_bytes(payload)
        job = Job(direction, str(tmp_path / "p.bin"), "/p.bin", size=len(payload))
        partial = pathlib.Path(root) / part_name("p.bin")
    holder: list[TransferQueue] = []

    def progress(running, count):
        if running.done > 2 * 1024 * 1024 and running.state is State.RUNNING:
            holder[0].pause(running.id)

    engine, queue = engine_for(plain_server.url("ftp"), [job], slots=1, progress=progress,
                               segments=1)  # fmt: skip
    holder.append(queue)
    engine.run()
    assert job.state is State.PAUSED and partial.exists()
    queue.cancel(job.id)  # the engine has stopped: its discard still reaches the server
    assert queue.wait(timeout=10)
    assert job.state is State.CANCELLED
    assert not partial.exists()
    assert sorted(os.listdir(root)) == (["p.bin"] if direction is Direction.DOWNLOAD else [])


def test_a_paused_upload_cancelled_while_the_server_is_gone_says_what_stays(root, tmp_path):
    payload = os.urandom(16 * 1024 * 1024)
    (tmp_path / "p.bin").write_bytes(payload)
    job = Job(Direction.UPLOAD, str(tmp_path / "p.bin"), "/p.bin", size=len(payload))
    holder: list[TransferQueue] = []

    def progress(running, count):
        if running.done > 2 * 1024 * 1024 and running.state is State.RUNNING:
            holder[0].pause(running.id)

    with SandboxServer(root) as server:
        engine, queue = engine_for(server.url("ftp"), [job], slots=1, progress=progress)
        holder.append(queue)
        engine.run()
    assert job.state is State.PAUSED
    queue.cancel(job.id)  # the server is gone: its partial file cannot be removed
    assert queue.wait(timeout=20)
    assert job.state is State.CANCELLED
    assert job.reason.startswith(f"cancelled; /{part_name('p.bin')} stays on the server: ")
    assert (pathlib.Path(root) / part_name("p.bin")).exists()


def test_the_queue_sees_jobs_become_active_again_before_where_its_idle_check_got_to():
    queue = TransferQueue()
    jobs = [Job(Direction.DOWNLOAD, f"/f{n}", f"/tmp/f{n}") for n in range(4)]
    queue.add(jobs)
    for _ in jobs:
        taken = queue.take(timeout=0)
        assert taken is not None
        queue.finish(taken, State.FAILED, "refused")
    assert queue.wait(timeout=0)  # the check has passed every job
    queue.retry(jobs[1].id)  # behind where it got to
    assert not queue.wait(timeout=0)
    queue.finish(queue.take(timeout=0), State.DONE)  # type: ignore[arg-type]
    assert queue.wait(timeout=0)
    queue.add([Job(Direction.DOWNLOAD, "/d/g", "/tmp/g")], first=True)  # a folder's entry
    assert not queue.wait(timeout=0)


def test_halting_the_engine__pauses_a_running_download_and_keeps_its_partial_file(
    plain_server, root, tmp_path
):
    """What the app does when it quits with transfers it will offer again: nothing is
    cancelled, so no partial file is removed (``stop`` cancels, and its discard raced the
    next start's resume)."""
    payload = os.urandom(16 * 1024 * 1024)
    write(root, "h.bin", payload)
    job = Job(Direction.DOWNLOAD, "/h.bin", str(tmp_path / "h.bin"), size=len(payload))
    partial = tmp_path / part_name("h.bin")
    holder: list[TransferEngine] = []

    def progress(running, count):
        if running.done > 2 * 1024 * 1024 and running.state is State.RUNNING:
            holder[0].halt()

    engine, queue = engine_for(plain_server.url("ftp"), [job], slots=1, progress=progress,
                               segments=1)  # fmt: skip
    holder.append(engine)
    engine.run()
    assert job.state is State.PAUSED
    assert partial.exists() and 0 < partial.stat().st_size < len(payload)
    assert not (tmp_path / "h.bin").exists()
