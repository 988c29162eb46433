"""Provides TransferEngine: a pool of sessions (one control connection per slot) working
through a TransferQueue.

- Directories are expanded when their turn comes, so a tree of any size starts at once;
  names from the server are checked before they become local paths, and entries named
  like Ferryman's own temporary files are skipped (partial.py says why).
- A target that exists is handled by the conflict policy (or asked about).
- A dropped connection (421, reset, timeout) reconnects with backoff and resumes from the
  partial file, a bounded number of times, then fails the job with the reason. A source
  that changed while it was copied fails at once: a retry would chase a moving file.
- Disk full, permission denied and the like fail the job at once, keeping the partial file.
- Modification times are preserved where the server allows (MFMT; MDTM from listings).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from tui.errors import (
    Cancelled,
    ConnectionLost,
    FerrymanError,
    NotFound,
    NotSupported,
    ProtocolError,
    SourceChanged,
    TLSError,
    TransferFailed,
)
from tui.remote.base import RemoteFS
from tui.transfer.conflicts import free_name, nothing_there, resume_target, target_info
from tui.transfer.copy import download_file, upload_file, verify_checksum
from tui.transfer.partial import part_path, remove_partial
from tui.transfer.queue import Conflict, Direction, Job, State, TransferQueue
from tui.transfer.ratelimit import RateLimit
from tui.transfer.segments import DEFAULT_SEGMENTS, SEGMENT_THRESHOLD, download_segmented
from tui.transfer.walk import MAX_DEPTH, expand

# Errors after which a new connection may well succeed.
RETRYABLE = (ConnectionLost, TLSError, TransferFailed, ProtocolError)


ConflictPrompt = Callable[[Job], tuple[Conflict, bool]]
"""Asked about a job whose target exists; returns the choice and "apply to all"."""

SessionFactory = Callable[[], RemoteFS]


class Throttle:
    """Passes on progress at most ten times a second (and always the last bytes)."""

    def __init__(self, report: Callable[[int], None], interval: float = 0.1) -> None:
        self._clock = time.monotonic
        self.report = report
        self.interval = interval
        self.pending = 0
        self.last = 0.0

    def __call__(self, count: int) -> None:
        self.pending += count
        now = self._clock()
        if now - self.last >= self.interval:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        if self.pending:
            self.report(self.pending)
            self.pending = 0
        self.last = now if now is not None else self._clock()


class TransferEngine:
    """Runs a queue with ``slots`` parallel sessions.

    Args:
        queue: The jobs.
        open_session: Makes a new logged-in session (``ConnectionService.open`` for a site).
        slots: Parallel sessions, 1 to 10.
        conflict: The policy for existing targets; ``ASK`` calls ``prompt``.
        prompt: Answers conflicts when the policy is ASK (the CLI asks on a terminal, the
            app shows a modal); without one, ASK skips and says so.
        retries: How many times a dropped connection is re-made for one job.
        backoff: Seconds before the first retry; doubled each time.
        progress: Called with (job, bytes) about ten times a second per job.
        preserve_times: Give the copy the source's modification time where possible.
        resume_partials: Continue from partial files an earlier run left (``--resume``).
        progress_interval: Seconds between progress calls for one job.
        persistent: Workers wait for new jobs instead of ending when the queue is empty
            (the app); an idle worker closes its session after ``idle_close`` seconds.
        segments: Streams for one large download (1: never segmented). Each extra stream
            is a session of its own, opened for that file and closed after it.
        segment_threshold: The size from which a download is segmented.
        max_depth: Folders this deep below a copied folder fail as an endless tree (a link
            loop, or a server that invents folders forever) instead of being expanded.
        limit: One rate cap for every stream of the engine, up and down (``--limit-rate``;
            the app passes one whose rate its key changes); ``None``: no cap.
    """

    def __init__(
        self,
        queue: TransferQueue,
        open_session: SessionFactory,
        *,
        slots: int = 2,
        conflict: Conflict = Conflict.ASK,
        prompt: ConflictPrompt | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        progress: Callable[[Job, int], None] | None = None,
        preserve_times: bool = True,
        resume_partials: bool = False,
        progress_interval: float = 0.1,
        persistent: bool = False,
        idle_close: float = 30.0,
        segments: int = DEFAULT_SEGMENTS,
        segment_threshold: int = SEGMENT_THRESHOLD,
        max_depth: int = MAX_DEPTH,
        limit: RateLimit | None = None,
    ) -> None:
        if not 1 <= slots <= 10:
            raise ValueError("slots must be 1 to 10")
        self.queue = queue
        self.open_session = open_session
        self.slots = slots
        self.conflict = conflict
        self.prompt = prompt
        self.retries = retries
        self.backoff = backoff
        self.progress = progress
        self.preserve_times = preserve_times
        self.resume_partials = resume_partials
        self.progress_interval = progress_interval
        self.persistent = persistent
        self.idle_close = idle_close
        self.segments = max(1, min(segments, 16))
        self.segment_threshold = segment_threshold
        self.max_depth = max_depth
        self.limit = limit
        self._prompt_lock = threading.Lock()  # one question at a time
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- running -------------------------------------------------------------------------

    def start(self) -> TransferEngine:
        self.queue.discard = self._discard
        for slot in range(self.slots):
            thread = threading.Thread(target=self._worker, name=f"transfer-{slot}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def join(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def stop(self) -> None:
        """Cancel what is queued or running and let the workers end (within half a second).
        The queue stays usable: another engine may take it over."""
        self._stopping.set()
        self.queue.cancel()

    def halt(self) -> None:
        """Stop without losing anything: what is running pauses at its next block and keeps
        its partial file, nothing is cancelled or discarded, and the workers end. For an
        app that quits with transfers it will offer again (``stop`` cancels them)."""
        self._stopping.set()
        self.queue.pause()

    def run(self) -> list[Job]:
        """Start, wait until the queue is done, and return the jobs."""
        self.start()
        self.join()
        return self.queue.jobs()

    def _worker(self) -> None:
        session: RemoteFS | None = None
        idle_since = time.monotonic()
        try:
            while not self._stopping.is_set():
                job = self.queue.take(timeout=0.5, until_idle=not self.persistent)
                if job is None:
                    if not self.persistent and self.queue.wait(timeout=0):
                        return  # nothing queued or running: done
                    if session is not None and time.monotonic() - idle_since > self.idle_close:
                        session.close()  # no idle connection kept open for nothing
                        session = None
                    continue
                try:
                    session = self._attempt(job, session)
                except Exception as error:  # noqa: BLE001 - a bug must not strand the job
                    # Without this the thread would end and the job stay "running" forever.
                    self.queue.finish(job, State.FAILED, f"internal error: {error!r}")
                    session = None
                idle_since = time.monotonic()
        finally:
            if session is not None:
                session.close()

    def _attempt(self, job: Job, session: RemoteFS | None) -> RemoteFS | None:
        """Run one job, re-making the session as needed; returns the session to keep."""
        while True:
            try:
                if session is None:
                    session = self.open_session()
                self._run(job, session)
                return session
            except Cancelled:
                self._stopped(job, session)
                return session
            except SourceChanged as error:  # a retry would copy a moving file again
                self.queue.finish(job, State.FAILED, str(error))
                return session
            except RETRYABLE as error:
                if session is not None:
                    session.close()
                session = None
                job.attempts += 1
                if job.attempts > self.retries or self._stopping.is_set():
                    self.queue.finish(job, State.FAILED, f"{error} (after {job.attempts} tries)")
                    return None
                delay = self.backoff * 2 ** (job.attempts - 1)
                job.reason = f"retrying in {delay:g} s: {error}"
                if job.stop.wait(delay):  # a cancel during the wait ends it at once
                    self._stopped(job, None)
                    return None
            except FerrymanError as error:
                self.queue.finish(job, State.FAILED, str(error))
                return session

    def _stopped(self, job: Job, session: RemoteFS | None) -> None:
        if job.stop_as is State.CANCELLED:
            self._remove_partial(job, session)
            self.queue.finish(job, State.CANCELLED, "cancelled")
        else:
            self.queue.finish(job, State.PAUSED, "paused: the partial file is kept")

    def _discard(self, job: Job) -> None:
        """A paused job was cancelled: remove its partial file, in the background (an upload's
        is on the server, and asking there must not hold up the screen)."""
        threading.Thread(target=self._discard_now, args=(job,), name="discard", daemon=True).start()

    def _discard_now(self, job: Job) -> None:
        session, reason = None, "cancelled"
        try:
            if job.direction is Direction.UPLOAD and not job.in_place:
                session = self.open_session()
            self._remove_partial(job, session)
        except FerrymanError as error:  # the server cannot be reached: say what stays
            reason = f"cancelled; {part_path(job.target)} stays on the server: {error}"
        finally:
            if session is not None:
                session.close()
            self.queue.finish(job, State.CANCELLED, reason)

    def _remove_partial(self, job: Job, session: RemoteFS | None) -> None:
        try:
            if job.direction is Direction.DOWNLOAD:
                remove_partial(part_path(os.path.abspath(job.target)))
            elif session is not None and not job.in_place:  # in place: upload_file removed it
                session.remove(part_path(job.target))
        except (OSError, FerrymanError):
            pass  # nothing arrived yet, or the session is gone: there is no partial to remove

    # --- one job ---------------------------------------------------------------------------

    def _run(self, job: Job, session: RemoteFS) -> None:
        if job.is_dir:
            self._expand(job, session)
            return
        notes: list[str] = []
        choice = self._resolve(job, session, notes.append)
        if choice is Conflict.SKIP:
            self.queue.finish(job, State.SKIPPED, job.reason or "the target exists")
            return
        report = Throttle(lambda count: self._progress(job, count), self.progress_interval)
        resume = job.attempts > 0 or choice is Conflict.RESUME or self.resume_partials
        verify = verify_checksum(session) if session.capabilities.hashes else None
        if job.direction is Direction.DOWNLOAD and self._segmented(job, session):
            assert job.size is not None
            download_segmented(
                session, self.open_session, job.source, job.target, size=job.size,
                segments=self.segments, resume=resume, progress=report,
                cancel=job.stop, verify=verify, note=notes.append, limit=self.limit,
            )  # fmt: skip
        elif job.direction is Direction.DOWNLOAD:
            download_file(
                session, job.source, job.target, expected_size=job.size, resume=resume,
                progress=report, cancel=job.stop, verify=verify, mtime=job.mtime,
                note=notes.append, limit=self.limit,
            )  # fmt: skip
        else:
            upload_file(session, job.source, job.target, resume=resume, progress=report,
                        cancel=job.stop, verify=verify, in_place=job.in_place,
                        replaces=not job.over_nothing, note=notes.append,
                        limit=self.limit)  # fmt: skip

        report.flush()
        self._keep_time(job, session)
        self.queue.finish(job, State.DONE, "; ".join(notes))

    def _segmented(self, job: Job, session: RemoteFS) -> bool:
        """Whether to fetch this file over several sessions: large, and the server can
        start a transfer at an offset."""
        if self.segments < 2 or not session.capabilities.resume_download:
            return False
        if job.size is None:
            try:
                job.size = session.size(job.source)
            except (NotFound, NotSupported):
                return False
        return job.size >= self.segment_threshold

    def _progress(self, job: Job, count: int) -> None:
        job.done += count
        if self.progress is not None:
            self.progress(job, count)

    def _expand(self, job: Job, session: RemoteFS) -> None:
        """A directory: make the target folder, queue its entries where it stood (see
        ``walk.expand``: a folder too deep, in a loop, or whose listing failed fails)."""
        self.queue.add(expand(job, session, self.max_depth), first=True)
        self.queue.finish(job, State.DONE, job.reason)

    def _resolve(self, job: Job, session: RemoteFS, note: Callable[[str], None]) -> Conflict:
        """Decide what to do about an existing target."""
        if job.replace or (job.in_place and job.attempts > 0):
            # The plan decided, or this is a retry and what is there is this job's own
            # partial upload. (Paused or retried by the user, a job checks again.)
            return Conflict.OVERWRITE
        job.in_place = job.over_nothing = False
        if job.fresh and job.attempts == 0:
            return nothing_there(job)  # a folder this run created: a round trip saved
        existing = target_info(job, session)
        if existing is None:
            return nothing_there(job)
        choice = self.conflict
        if choice is Conflict.ASK:
            with self._prompt_lock:
                choice = self.conflict  # another worker may have answered "to all" meanwhile
                if choice is Conflict.ASK:
                    if self.prompt is None:
                        job.reason = "the target exists (no one to ask: use --overwrite)"
                        return Conflict.SKIP
                    choice, for_all = self.prompt(job)
                    if for_all:
                        self.conflict = choice
        size, mtime = existing
        if choice is Conflict.NEWER:
            if job.mtime is None or mtime is None or job.mtime > mtime:
                return Conflict.OVERWRITE
            job.reason = "the target is as new or newer"
            return Conflict.SKIP
        if choice is Conflict.RENAME:
            job.target = free_name(job, session)
            return nothing_there(job)
        if choice is Conflict.RESUME:
            return resume_target(job, session, size, note)
        return choice

    def _keep_time(self, job: Job, session: RemoteFS) -> None:
        if not self.preserve_times:
            return
        try:
            if job.direction is Direction.DOWNLOAD and job.mtime is not None:
                stamp = job.mtime.timestamp()
                os.utime(job.target, (stamp, stamp))
            elif job.direction is Direction.UPLOAD and session.capabilities.set_mtime:
                when = datetime.fromtimestamp(os.stat(job.source).st_mtime, UTC)
                session.set_mtime(job.target, when)
        except (OSError, FerrymanError):
            pass  # the file is complete; a time the server will not set is no failure
