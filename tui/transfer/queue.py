"""Provides Job and TransferQueue: what is to be moved, and in which state each piece is.

Thread-safe: the engine's workers take jobs while the UI or the CLI pauses, cancels, retries
and reorders them. Every change is reported through one ``on_change`` callback, called
outside the lock, from whichever thread made the change.
"""

from __future__ import annotations

import enum
import itertools
import os
import posixpath
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime


class Conflict(enum.Enum):
    """What to do when the target exists."""

    ASK = "ask"
    OVERWRITE = "always"
    NEWER = "newer"
    SKIP = "skip"
    RESUME = "resume"
    RENAME = "rename"


class State(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


FINISHED = (State.DONE, State.FAILED, State.SKIPPED, State.CANCELLED)


class Direction(enum.Enum):
    UPLOAD = "upload"
    DOWNLOAD = "download"


_ids = itertools.count(1)


@dataclass(eq=False)
class Job:
    """One file or directory to move.

    Attributes:
        source: A local path (upload) or a remote path (download).
        target: Where it goes, on the other side.
        is_dir: A directory: expanded into jobs for its entries when its turn comes, so a
            tree of any size starts at once.
        size, mtime: The source's, when known (from a listing).
        done: Bytes moved so far (for progress; resumes count from their offset).
        reason: Why it failed or was skipped, in words.
    """

    direction: Direction
    source: str
    target: str
    is_dir: bool = False
    size: int | None = None
    mtime: datetime | None = None
    state: State = State.QUEUED
    done: int = 0
    reason: str = ""
    attempts: int = 0
    fresh: bool = False  # its folder was just created: the target cannot exist yet
    replace: bool = False  # a sync plan already decided: overwrite, never ask
    in_place: bool = False  # a small upload to where nothing was: what is there now is its own
    over_nothing: bool = False  # no file was at the target: no good copy to keep safe there
    depth: int = 0  # folders between the copy's root and this job's folder
    # A folder's identity (MLSD "unique", local "device:inode") and its ancestors': a folder
    # that is one of the folders it is inside is a link loop, and is not expanded.
    unique: str | None = None
    lineage: tuple[str, ...] = ()
    id: int = field(default_factory=lambda: next(_ids))
    stop: threading.Event = field(default_factory=threading.Event, repr=False)
    stop_as: State = State.CANCELLED  # what a stopped job becomes: CANCELLED or PAUSED

    @property
    def name(self) -> str:
        path = self.source.rstrip("/")
        return (os.path.basename if self.direction is Direction.UPLOAD else posixpath.basename)(
            path
        )


class TransferQueue:
    """The queue. ``take`` blocks a worker until a job is queued or the queue is closed."""

    def __init__(self, on_change: Callable[[Job], None] | None = None) -> None:
        self.discard: Callable[[Job], None] | None = None
        """Set by the engine: removes what a paused job left (its partial file), then
        finishes it as cancelled. Without one, a cancelled paused job keeps its partial."""
        self._jobs: list[Job] = []
        self._scan_from = 0  # no job before this index is queued: take() is not O(n) each time
        self._settled = 0  # no job before this index is queued or running: idle_locked is quick
        self._lock = threading.Condition()
        self._closed = False
        self.on_change = on_change

    def _changed(self, job: Job) -> None:
        if self.on_change is not None:
            self.on_change(job)

    def add(self, jobs: Iterable[Job], *, first: bool = False) -> None:
        """Queue jobs, at the end (or, for a directory's entries, where it stood)."""
        added = list(jobs)
        with self._lock:
            if first:
                self._jobs[0:0] = added
                self._rescan_locked()
            else:
                self._jobs.extend(added)
            self._lock.notify_all()
        for job in added:
            self._changed(job)

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs)

    def take(self, timeout: float | None = None, *, until_idle: bool = False) -> Job | None:
        """The next queued job, now running; None once closed, after ``timeout``, or (with
        ``until_idle``) as soon as nothing is queued or running."""
        with self._lock:
            while True:
                job = self._next_queued_locked()
                if job is not None:
                    job.state = State.RUNNING
                    job.stop.clear()
                    break
                if self._closed or (until_idle and self.idle_locked()):
                    return None
                if not self._lock.wait(timeout):
                    return None
        self._changed(job)
        return job

    def _next_queued_locked(self) -> Job | None:
        for index in range(self._scan_from, len(self._jobs)):
            if self._jobs[index].state is State.QUEUED:
                self._scan_from = index
                return self._jobs[index]
        self._scan_from = len(self._jobs)
        return None

    def idle_locked(self) -> bool:
        """Nothing queued or running. Amortised O(1), not O(queue): the app asks after every
        burst of changes, and with 20,000 jobs a scan each time took most of the UI thread.
        The jobs before ``_settled`` are neither, and it only moves back (``_rescan_locked``)
        where one of them may have become so again."""
        jobs, index = self._jobs, self._settled
        while index < len(jobs) and jobs[index].state not in (State.QUEUED, State.RUNNING):
            index += 1
        self._settled = index
        return index == len(jobs)

    def _rescan_locked(self) -> None:
        """Jobs were inserted, reordered or made active again: look from the start."""
        self._scan_from = self._settled = 0

    def finish(self, job: Job, state: State, reason: str = "") -> None:
        with self._lock:
            job.state = state
            job.reason = reason
            self._lock.notify_all()
        self._changed(job)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running; True if that happened in time."""
        with self._lock:
            return self._lock.wait_for(self.idle_locked, timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    # --- what the user does --------------------------------------------------------------

    def _select(self, job_id: int | None) -> list[Job]:
        return [j for j in self._jobs if job_id is None or j.id == job_id]

    def pause(self, job_id: int | None = None) -> None:
        """Pause one job (or all): a running one stops and keeps its partial file."""
        self._stop(job_id, State.PAUSED)

    def cancel(self, job_id: int | None = None) -> None:
        """Cancel one job (or all): a running or paused one stops and its partial file is
        removed (a paused one's by the engine, see ``discard``)."""
        self._stop(job_id, State.CANCELLED)

    def _stop(self, job_id: int | None, as_state: State) -> None:
        changed, discarded = [], []
        discard = self.discard
        with self._lock:
            for job in self._select(job_id):
                if job.state is State.RUNNING:
                    job.stop_as = as_state
                    job.stop.set()  # the worker finishes it in that state
                elif job.state is State.PAUSED and as_state is State.CANCELLED and discard:
                    # Its partial file is still there: cancelled, it goes, as a running one's.
                    job.state, job.reason = State.RUNNING, "cancelling"
                    discarded.append(job)
                    self._rescan_locked()
                elif job.state in (State.QUEUED, State.PAUSED) and job.state is not as_state:
                    job.state = as_state
                    changed.append(job)
            self._lock.notify_all()
        for job in changed + discarded:
            self._changed(job)
        if discard is not None:
            for job in discarded:
                discard(job)

    def resume(self, job_id: int | None = None) -> None:
        self._requeue_where(job_id, (State.PAUSED,))

    def retry(self, job_id: int | None = None) -> None:
        """Queue failed or cancelled jobs again (a retry resumes from any partial file)."""
        self._requeue_where(job_id, (State.FAILED, State.CANCELLED))

    def _requeue_where(self, job_id: int | None, states: tuple[State, ...]) -> None:
        changed = []
        with self._lock:
            for job in self._select(job_id):
                if job.state in states:
                    job.state, job.reason, job.attempts = State.QUEUED, "", 0
                    changed.append(job)
            self._rescan_locked()
            self._lock.notify_all()
        for job in changed:
            self._changed(job)

    def move(self, job_id: int, offset: int) -> None:
        """Move a job up (negative) or down the queue."""
        with self._lock:
            index = next((i for i, j in enumerate(self._jobs) if j.id == job_id), None)
            if index is None:
                return
            job = self._jobs.pop(index)
            self._jobs.insert(max(0, min(len(self._jobs), index + offset)), job)
            self._rescan_locked()

    def clear_finished(self) -> None:
        with self._lock:
            self._jobs = [j for j in self._jobs if j.state not in FINISHED]
            self._rescan_locked()
