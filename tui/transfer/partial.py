"""Provides partial files: their names, the record beside each, and the proof that one is a
prefix of its source before a copy builds on it.

A file is written as ``.NAME.ferryman-part`` until it is complete. A download's partial has
a record beside it (``.NAME.ferryman-part.segments``, JSON), written before its first byte
and removed with it: the source it is part of (path, size, modification time) and, for a
segmented download, which ranges have arrived. A resume trusts a partial whose record names
the same source; anything else (no record, another size or time, a target some other tool
left) is continued only when the bytes just before the resume point equal the source's
there (``OVERLAP`` re-read from the source, or the server's checksum of an upload's
partial); otherwise the copy starts over and says so. The check catches a different file,
not a file edited in the middle; the size and the server's checksum at the end (where it
has one) are what prove the whole copy.

A source that changed while it was copied (``check_unchanged``: another size or MDTM at
the end than at the start) leaves nothing behind: its bytes are of a version that is gone.

These names are Ferryman's alone: a tree copy skips every entry that looks like one
(``is_temporary_name``), as rsync skips its own partial folder, so a leftover never becomes
another job's temporary file; and within one process a temporary path is written by one
transfer at a time (``claim``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import posixpath
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from tui.errors import (
    ConnectionLost,
    FerrymanError,
    NotFound,
    NotSupported,
    PermissionDenied,
    ProtocolError,
    RemoteError,
    SourceChanged,
    TransferFailed,
)
from tui.remote.base import RemoteFS
from tui.remote.local import translate

PART_SUFFIX = ".ferryman-part"
RECORD_SUFFIX = ".segments"  # the name segmented downloads always used: old records still match
Note = Callable[[str], None]
"""Told what the user should know about a copy that still succeeds (it started over)."""
OVERLAP = 64 * 1024
"""Bytes before the resume point re-read from the source to prove a partial file is its
prefix."""


def part_name(name: str) -> str:
    """The temporary name a file is written under until it is complete."""
    return f".{name}{PART_SUFFIX}"


def part_path(path: str) -> str:
    """The temporary file beside ``path`` (local or remote: both are POSIX paths here)."""
    folder, name = posixpath.split(path)
    return posixpath.join(folder, part_name(name))


def state_path(part: str) -> str:
    """The record beside a partial file."""
    return part + RECORD_SUFFIX


def is_temporary_name(name: str) -> bool:
    """Whether ``name`` is one Ferryman writes for itself: a partial file, its record, or
    the record's own temporary file. Such entries are never copied as files."""
    if not name.startswith(".") or len(name) <= 1 + len(PART_SUFFIX):
        return False
    return name.endswith((PART_SUFFIX, PART_SUFFIX + RECORD_SUFFIX,
                          PART_SUFFIX + RECORD_SUFFIX + ".new"))  # fmt: skip


# --- the record ----------------------------------------------------------------------------


def identity(source: str, size: int | None, mtime: datetime | None) -> dict[str, Any]:
    """What a record says its partial file is part of."""
    return {"source": source, "size": size, "mtime": None if mtime is None else mtime.isoformat()}


def write_record(part: str, about: dict[str, Any], ranges: list[list[int]] | None = None) -> None:
    """Write the record atomically (a crash leaves the old one or the new one, whole).

    Raises:
        OSError: it cannot be written.
    """
    path = state_path(part)
    temporary = path + ".new"
    data = dict(about)
    if ranges is not None:
        data["ranges"] = ranges
    # Made anew (O_EXCL), never opened through whatever is at that name: a link planted
    # there would have this JSON written into the file it points at.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temporary, path)


def read_record(part: str) -> dict[str, Any] | None:
    """The record beside ``part``, or None when there is none or it is damaged."""
    try:
        with open(state_path(part), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove_record(part: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(state_path(part))


def remove_partial(part: str) -> None:
    """The partial file and its record: what a failure that kept nothing must leave."""
    with contextlib.suppress(OSError):
        os.remove(part)
    remove_record(part)


def matches(record: dict[str, Any] | None, about: dict[str, Any]) -> bool:
    """Whether the record says its partial is part of exactly this source: same path, same
    known size, and the same time (or none on both sides)."""
    if record is None or about["size"] is None:
        return False
    if record.get("source") != about["source"] or record.get("size") != about["size"]:
        return False
    return record.get("mtime") == about["mtime"]  # unknown matches only unknown


def read_segments(part: str) -> tuple[object, list[tuple[int, int, int]]]:
    """The record beside a segmented partial file: the size it was for, and its ranges as
    (start, end, done), sorted.

    Raises:
        FileNotFoundError: there is no record. OSError, ValueError, KeyError, TypeError: it
            cannot be read or is damaged (a single-stream record has no ranges: KeyError).
    """
    with open(state_path(part), encoding="utf-8") as handle:
        data = json.load(handle)
    ranges = data["ranges"]
    if not isinstance(ranges, list) or not all(
        isinstance(item, list) and len(item) == 3 for item in ranges
    ):
        raise ValueError("the record's ranges are not triples")
    return data.get("size"), sorted((_whole(a), _whole(b), _whole(d)) for a, b, d in ranges)


def _whole(value: object) -> int:
    """A count from a record: a JSON integer, not negative (not a float, true, or text)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"not a byte count: {value!r}")
    return value


def solid_prefix(part: str) -> int:
    """How many bytes from the start of a partial file are real: its length, or for a
    segmented partial (preallocated, with holes) the ranges its record says arrived."""
    try:
        length = os.path.getsize(part)
    except OSError:
        return 0
    record = read_record(part)
    if record is None or "ranges" not in record:
        return length
    try:
        _, ranges = read_segments(part)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0  # a damaged record: trust none of the file
    prefix = 0
    for start, end, done in ranges:
        if start != prefix:
            break
        prefix = start + max(0, min(done, end - start))
        if prefix < end:
            break
    return min(prefix, length)


# --- proof ---------------------------------------------------------------------------------


def source_matches(fs: RemoteFS, remote: str, local: str, offset: int) -> bool:
    """Whether the ``OVERLAP`` bytes of the local file before ``offset`` equal the remote
    file's at the same place (re-read from the server). A server that cannot start at an
    offset proves nothing. The session is usable afterwards (made again if the early stop
    cost it)."""
    return _overlap(fs, remote, local, offset) is True


def source_differs(fs: RemoteFS, remote: str, local: str, offset: int, floor: int = 0) -> bool:
    """Whether the overlap before ``offset`` (not before ``floor``: where a segment's bytes
    begin) was re-read and found different: the check a partial file with a matching record
    still passes (a record's time can be as coarse as a listing's minute), where bytes that
    cannot be had prove nothing either way."""
    return _overlap(fs, remote, local, offset, floor) is False


def _overlap(fs: RemoteFS, remote: str, local: str, offset: int, floor: int = 0) -> bool | None:
    """True: the overlap is equal; False: it differs; None: it could not be compared."""
    start = max(floor, offset - OVERLAP)
    try:
        with open(local, "rb") as handle:
            handle.seek(start)
            mine = handle.read(offset - start)
    except OSError:
        return None
    if len(mine) != offset - start:
        return False
    theirs = _remote_bytes(fs, remote, start, len(mine))
    return None if theirs is None else theirs == mine


def remote_prefix_matches(fs: RemoteFS, remote: str, length: int, local: str) -> bool:
    """Whether the remote file (``length`` bytes long) is the start of the local file: by
    the server's checksum of it where the server has one, else by re-reading its last
    ``OVERLAP`` bytes; False when neither is possible."""
    try:
        with open(local, "rb") as handle:
            if fs.capabilities.hashes:
                found = fs.checksum(remote)
                if found is not None:
                    algorithm, expected = found
                    digest = hashlib.new(algorithm)
                    left = length
                    while left > 0 and (block := handle.read(min(left, 1 << 20))):
                        digest.update(block)
                        left -= len(block)
                    return left == 0 and digest.hexdigest().lower() == expected.lower()
            start = max(0, length - OVERLAP)
            handle.seek(start)
            mine = handle.read(length - start)
    except OSError:
        return False
    except (RemoteError, TransferFailed, ProtocolError):
        return False  # the checksum was refused or unreadable: no proof
    if len(mine) != length - start:
        return False
    return _remote_bytes(fs, remote, start, len(mine)) == mine


def resume_point(
    fs: RemoteFS, remote: str, part: str, about: dict[str, Any], note: Note | None
) -> int:
    """Where a download can continue its partial file: the end of its solid start when the
    record names this source (and the overlap, where it can be re-read, agrees) or when an
    overlap re-read from the source proves it; else 0, and ``note`` is told."""
    offset = solid_prefix(part)
    if offset == 0:
        return 0
    if about["size"] is not None and offset > about["size"]:
        reason = "is longer than the source"
    elif matches(read_record(part), about):
        if not source_differs(fs, remote, part, offset):
            return offset
        reason = "does not match the source its record names"
    elif source_matches(fs, remote, part, offset):
        return offset
    else:
        reason = "is not a proven prefix of the source"
    if note is not None:
        note(f"the partial file {part} {reason}: started over")
    return 0


def _remote_bytes(fs: RemoteFS, remote: str, start: int, count: int) -> bytes | None:
    """``count`` bytes of the remote file from ``start``; None when they cannot be had."""
    if start and not fs.capabilities.resume_download:
        return None
    try:
        reader = fs.open_read(remote, start, expect=count)
    except (NotSupported, RemoteError, TransferFailed):
        return None
    except ConnectionLost:
        _reconnect(fs)
        return None
    buffer = bytearray(count)
    view = memoryview(buffer)
    got = 0
    try:
        while got < count and (n := reader.readinto(view[got:])):
            got += n
    except FerrymanError:
        got = -1
    finally:
        with contextlib.suppress(FerrymanError, OSError):
            reader.close()  # before its end: the server's 426 is expected
    if not fs.connected:
        _reconnect(fs)  # some servers hang up on an early stop (segments.py says which)
    return bytes(buffer) if got == count else None


def _reconnect(fs: RemoteFS) -> None:
    with contextlib.suppress(FerrymanError):
        fs.reconnect()


def source_mtime(fs: RemoteFS, path: str) -> datetime | None:
    """The server's MDTM of ``path``; None where it has none."""
    try:
        return fs.mtime(path)
    except (NotFound, NotSupported):
        return None


def check_unchanged(fs: RemoteFS, remote: str, about: dict[str, Any], *, grew: bool) -> None:
    """Check the source is still what was copied: its size (and its MDTM, where the
    server has one) as when the download began; ``grew``: more bytes were seen past it.

    Raises:
        SourceChanged: it is not.
    """
    size = about["size"]
    try:
        now = fs.size(remote)
    except NotSupported:
        now = size + 1 if grew else size
    except NotFound:
        raise SourceChanged(
            f"{remote} was removed from the server while it was copied; nothing of it was kept"
        ) from None
    mtime = source_mtime(fs, remote) if about["mtime"] is not None else None
    changed = now != size or grew
    if mtime is not None and mtime.isoformat() != about["mtime"]:
        changed = True
    if changed:
        how = (f"{size} bytes when the download began, {now} now" if now != size
               else "it grew past its size" if grew else "its modification time moved")  # fmt: skip
        raise SourceChanged(
            f"{remote} changed on the server while it was copied ({how}); nothing of it was kept"
        )


# --- one writer per temporary path ---------------------------------------------------------

_claimed: set[tuple[str, str]] = set()
_claims = threading.Lock()


@contextlib.contextmanager
def claim(part: str, where: RemoteFS | None = None) -> Iterator[None]:
    """Hold ``part`` (a local path, or one on the server of ``where``) for one transfer: a
    second transfer to the same temporary path in this process is refused instead of
    writing into, or renaming away, the first's file.

    Raises:
        TransferFailed: another transfer holds it.
    """
    site = getattr(where, "site", None)
    server = "" if where is None else str(getattr(site, "key", None) or id(where))
    key = (server, part)
    with _claims:
        if key in _claimed:
            raise TransferFailed(f"{part} is already being written by another transfer")
        _claimed.add(key)
    try:
        yield
    finally:
        with _claims:
            _claimed.discard(key)


@contextlib.contextmanager
def open_part(part: str, flags: int, mode: int) -> Iterator[int]:
    """Open (creating) a local partial file and hold an exclusive ``flock`` on it until the
    block ends, which is after its rename: another Ferryman process that would write the
    same partial file is refused instead of truncating it under this one. A file system
    without locks (some NFS set-ups) is only guarded by ``claim``.

    Raises:
        TransferFailed: another process holds it. PermissionDenied, DiskFull...: it cannot
            be opened.
    """
    # O_NOFOLLOW: a link at the partial name is not Ferryman's partial file; written
    # through, it would overwrite the file it points at, then be renamed over the target.
    try:
        descriptor = os.open(part, flags | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), mode)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise PermissionDenied(  # not retried: it stays a link until someone acts
                f"{part} is a link, not a partial file of Ferryman; not followed (remove it)"
            ) from None
        with translate(f"Cannot write {part}"):
            raise
    try:
        _lock(descriptor, part)
        yield descriptor
    finally:
        os.close(descriptor)


def _lock(descriptor: int, part: str) -> None:
    try:
        import fcntl
    except ImportError:  # not POSIX: the in-process claim is all there is
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise TransferFailed(
                f"{part} is already being written by another Ferryman process"
            ) from None
        # ENOLCK, EOPNOTSUPP...: this file system cannot lock; go on without
