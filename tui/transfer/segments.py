"""Provides segmented downloads: one large file fetched over several sessions at once.

Each session asks for a range (REST to its start, stop after its share) and writes it into
place in one temporary file, sized (and its space checked) before the first byte. What each
range has received is recorded in a small state file beside it
(``.NAME.ferryman-part.segments``), so an interrupted download resumes every range where it
stopped. The copy is checked and renamed over the target only
when every range is complete, exactly as a single-stream download is.

A session that cannot be opened (a server limiting connections per address) only means
fewer streams: the ranges it would have fetched are taken by the others.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui.errors import (
    Cancelled,
    ConnectionLost,
    DiskFull,
    FerrymanError,
    SourceChanged,
    TransferFailed,
)
from tui.remote.base import Reader, RemoteFS
from tui.remote.local import check_replaceable, translate
from tui.transfer.copy import BLOCK_SIZE, Note, Progress, Verify, put_in_place
from tui.transfer.disk import reserve, write_at
from tui.transfer.partial import (
    check_unchanged,
    claim,
    identity,
    matches,
    open_part,
    part_path,
    read_record,
    read_segments,
    remove_partial,
    solid_prefix,
    source_differs,
    source_matches,
    source_mtime,
    state_path,
    write_record,
)
from tui.transfer.ratelimit import RateLimit

SEGMENT_THRESHOLD = 64 * 1024 * 1024
"""Files at least this large are fetched in segments (when the server can start at an
offset); below it, opening extra sessions costs more than it saves."""

DEFAULT_SEGMENTS = 4
_SAVE_EVERY = 32 * 1024 * 1024  # bytes between state-file updates (and always at the end)


@dataclass
class Range:
    start: int
    end: int  # exclusive
    done: int = 0  # bytes received from ``start``
    taken: bool = False

    @property
    def position(self) -> int:
        return self.start + self.done

    @property
    def complete(self) -> bool:
        return self.position >= self.end


def plan(size: int, segments: int) -> list[Range]:
    """Split ``size`` bytes into ``segments`` ranges of nearly equal length."""
    segments = max(1, min(segments, size // BLOCK_SIZE or 1))
    edges = [size * n // segments for n in range(segments + 1)]
    return [Range(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


def load_state(part: str, size: int) -> list[Range] | None:
    """The ranges an earlier run recorded for a file of ``size`` bytes, if they fit it."""
    try:
        if os.path.getsize(part) != size:
            return None  # not the sized file the record describes
        recorded, found = read_segments(part)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    ranges = [Range(start, end, done) for start, end, done in found]
    contiguous = all(a.end == b.start for a, b in zip(ranges, ranges[1:], strict=False))
    if recorded != size or not ranges or ranges[0].start != 0 or ranges[-1].end != size:
        return None
    if not contiguous or any(not 0 <= r.done <= r.end - r.start for r in ranges):
        return None
    return ranges


def _save_state(part: str, about: dict[str, Any], ranges: list[Range]) -> None:
    """Write the record atomically; it never claims bytes that were not written."""
    write_record(part, about, [[r.start, r.end, r.done] for r in ranges])


def download_segmented(
    fs: RemoteFS,
    open_session: Callable[[], RemoteFS],
    remote_path: str,
    local_path: str,
    *,
    size: int,
    segments: int = DEFAULT_SEGMENTS,
    resume: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    verify: Verify | None = None,
    note: Note | None = None,
    limit: RateLimit | None = None,
) -> int:
    """Download ``remote_path`` (``size`` bytes) over up to ``segments`` sessions: ``fs``
    (the caller's, left open) and ones made by ``open_session`` (closed again here).
    Returns the bytes received.

    The record names the source (its size, and its MDTM where the server has one); a
    resume keeps the recorded ranges only when the source is still that, else only a
    start an overlap proves (partial.py). Before the rename the source is checked again:
    one that changed while it was copied fails, and nothing of the copy is kept.

    Raises:
        Like ``download_file``: NotFound, PermissionDenied (also for a read-only target),
        DiskFull, TransferFailed, SourceChanged, ConnectionLost, Cancelled. The partial
        file and its record stay for a resume, except after SourceChanged.
    """
    check_replaceable(local_path)
    part = part_path(os.path.abspath(local_path))
    with claim(part), open_part(part, os.O_RDWR, 0o644) as descriptor:
        about = identity(remote_path, size, source_mtime(fs, remote_path))
        ranges = _resumable(fs, remote_path, part, about, segments, resume, note)
        with translate(f"Cannot write {part}"):
            _save_state(part, about, ranges)  # before the file grows: a hole is never "received"
            _preallocate(descriptor, size, part)
        run = _Run(fs, open_session, remote_path, part, about, descriptor, ranges,
                   progress, cancel)  # fmt: skip
        run.limit = limit  # one budget with every other stream of the batch
        received = run.go(segments)
        try:
            check_unchanged(fs, remote_path, about, grew=run.grew)
        except SourceChanged:
            remove_partial(part)
            raise
        if verify is not None:
            try:
                verify(remote_path, part)
            except TransferFailed:
                remove_partial(part)
                raise
        put_in_place(part, local_path)
    return received


def _resumable(
    fs: RemoteFS,
    remote: str,
    part: str,
    about: dict[str, Any],
    segments: int,
    resume: bool,
    note: Note | None,
) -> list[Range]:
    """The ranges to fetch: an earlier run's, when its record names this very source;
    else a fresh plan, crediting a partial's solid start only when an overlap proves it."""
    size = about["size"]
    if not resume or not os.path.isfile(part):
        return plan(size, segments)
    prefix = solid_prefix(part)
    trusted = matches(read_record(part), about)
    if prefix > size:
        proven = False
    elif trusted:  # the record names this source; the bytes, where they can be had, agree
        proven = not (prefix and source_differs(fs, remote, part, prefix))
    else:
        proven = prefix > 0 and source_matches(fs, remote, part, prefix)
    if proven and trusted and (recorded := load_state(part, size)) is not None:
        # The overlap above proves the solid start only; a source replaced by one of the
        # same size and time can differ in the ranges beyond it: re-read each one's tail.
        if not any(item.done and item.position > prefix
                   and source_differs(fs, remote, part, item.position, floor=item.start)
                   for item in recorded):  # fmt: skip
            return recorded
        proven = False
    ranges = plan(size, segments)
    if proven and prefix:
        _credit_prefix(ranges, prefix)
    elif prefix and note is not None:
        note(f"the partial file {part} is not a proven prefix of the source: started over")
    return ranges


def _credit_prefix(ranges: list[Range], length: int) -> None:
    for item in ranges:
        item.done = max(0, min(length, item.end) - item.start)


def _preallocate(descriptor: int, size: int, part: str) -> None:
    """Size the file for every range, and fail now, before any byte is fetched, when the
    disk has no room for it (``disk.reserve``: its blocks are allocated where the file
    system can, else the file stays sparse)."""
    have = os.fstat(descriptor)
    if have.st_size == size:
        return
    room = os.statvfs(part)
    free = room.f_bavail * room.f_frsize + have.st_blocks * 512
    if free < size:
        raise DiskFull(f"Not enough space for {part}: {size} bytes are needed, {free} are free")
    reserve(descriptor, size)


class _Run:
    """One segmented download in progress: workers take ranges until none is left."""

    def __init__(
        self,
        fs: RemoteFS,
        open_session: Callable[[], RemoteFS],
        remote_path: str,
        part: str,
        about: dict[str, Any],
        descriptor: int,
        ranges: list[Range],
        progress: Progress | None,
        cancel: threading.Event | None,
    ) -> None:
        self.fs, self.open_session = fs, open_session
        self.remote_path, self.part, self.about = remote_path, part, about
        self.size: int = about["size"]
        self.grew = False  # the stream of the last range went on past the size
        self.descriptor = descriptor
        self.ranges = ranges
        self.progress = progress
        self.cancel = cancel or threading.Event()
        self.lock = threading.Lock()
        self.failed = threading.Event()  # one stream's failure stops the others
        self.errors: list[BaseException] = []
        self.received = 0
        self.unsaved = 0
        self.limit: RateLimit | None = None

    def go(self, segments: int) -> int:
        helpers = [
            threading.Thread(target=self._helper, name=f"segment-{n}", daemon=True)
            for n in range(1, min(segments, len(self.ranges)))
        ]
        for thread in helpers:
            thread.start()
        try:
            self._work(self.fs)
        except BaseException as error:  # noqa: BLE001 - reported below, after the others stop
            self._fail(error)
        for thread in helpers:
            thread.join()
        if not self.fs.connected:  # the server hung up on the last early stop
            with contextlib.suppress(FerrymanError):
                self.fs.reconnect()  # the caller gets a working session back if it can
        with translate(f"Cannot write {self.part}"):
            _save_state(self.part, self.about, self.ranges)
        if self.errors:
            raise self._worst()
        missing = [r for r in self.ranges if not r.complete]
        if missing:
            raise TransferFailed(
                f"Download of {self.remote_path} is incomplete: {len(missing)} segment(s) "
                f"missing; the partial file {self.part} is kept for --resume"
            )
        return self.received

    def _worst(self) -> BaseException:
        """The error to report: a cancel first, then the first real failure."""
        for error in self.errors:
            if isinstance(error, Cancelled):
                return error
        return self.errors[0]

    def _fail(self, error: BaseException) -> None:
        with self.lock:
            self.errors.append(error)
        self.failed.set()

    def _helper(self) -> None:
        """A stream with its own session. If the session cannot be opened, the others take
        its ranges; if none can, the first stream fetches everything."""
        try:
            session = self.open_session()
        except FerrymanError:
            return
        try:
            self._work(session)
        except BaseException as error:  # noqa: BLE001 - handed to go()
            self._fail(error)
        finally:
            session.close()

    def _take(self) -> Range | None:
        with self.lock:
            for item in self.ranges:
                if not item.taken and not item.complete:
                    item.taken = True
                    return item
        return None

    def _work(self, session: RemoteFS) -> None:
        while not self.failed.is_set():
            if self.cancel.is_set():
                raise Cancelled("Cancelled by the user")
            item = self._take()
            if item is None:
                return
            try:
                self._fetch(session, item)
            finally:
                item.taken = False

    def _fetch(self, session: RemoteFS, item: Range) -> None:
        buffer = bytearray(BLOCK_SIZE)
        view = memoryview(buffer)
        reader = self._open(session, item)
        finished = False
        try:
            while not item.complete:
                if self.cancel.is_set():
                    raise Cancelled("Cancelled by the user")
                if self.failed.is_set():
                    return
                want = min(BLOCK_SIZE, item.end - item.position)
                count = reader.readinto(view[:want])
                if not count:
                    raise TransferFailed(
                        f"{self.remote_path} ended at {item.position} bytes, before the "
                        f"{self.size} it had when the download began"
                    )
                with translate(f"Cannot write {self.part}"):
                    write_at(self.descriptor, view[:count], item.position)
                self._advance(item, count)
                if self.limit is not None:  # outside the lock: the other streams go on
                    self.limit.take(count, self.cancel)
            if item.end == self.size:
                finished = reader.readinto(view[:1]) == 0  # the server's end, then its 226
                self.grew = self.grew or not finished  # more than the size: it is growing
        finally:
            if finished:
                reader.close()
            else:
                self._abandon(reader)

    def _open(self, session: RemoteFS, item: Range) -> Reader:
        share = item.end - item.position  # the stream goes on; the range stops reading there
        try:
            return session.open_read(self.remote_path, item.position, expect=share)
        except ConnectionLost as lost:
            # A stream stopped early can cost the whole session: ProFTPD hangs up when the
            # stop races its write ("unexpected OpenSSL error, disconnecting"). Nothing of
            # this range has moved yet, so connect again, once, and go on. If the server
            # is really gone, the loss is what to report (the engine retries on it).
            try:
                session.reconnect()
            except FerrymanError:
                raise lost from None
            return session.open_read(self.remote_path, item.position, expect=share)

    def _abandon(self, reader: Reader) -> None:
        """Stop a transfer before its end: the server answers 426, which is expected."""
        with contextlib.suppress(FerrymanError, OSError):
            reader.close()

    def _advance(self, item: Range, count: int) -> None:
        with self.lock:
            item.done += count
            self.received += count
            self.unsaved += count
            save = self.unsaved >= _SAVE_EVERY
            if save:
                self.unsaved = 0
                with translate(f"Cannot write {state_path(self.part)}"):
                    _save_state(self.part, self.about, self.ranges)
            if self.progress is not None:
                self.progress(count)
