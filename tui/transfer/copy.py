"""Provides the copying of one file between the local disk and a RemoteFS (the engine's step).

Nothing is lost: a file is written under a temporary name (``.NAME.ferryman-part``) beside
its target, checked against the expected size (and the server's checksum, where it has
one), and only then renamed over the target, so a failed transfer never replaces a good
file; the partial file stays for ``resume``, which builds only on a proven prefix of the
source (partial.py: the record beside a partial file, and the overlap re-read). A download
writes no more than the size the source announced: more means it changed while it was
copied (SourceChanged), and nothing of it is kept. A read-only local target is refused,
and a replaced one keeps its permission bits, as ``cp`` does.

One exception, as in WinSCP: a small upload to a name where the caller knows nothing
exists is written in place (``in_place=True``). There is no good file for it to replace, and
the rename's two round trips are most of what a small file costs (they made uploading a tree
of 4 KiB files about 10 % slower). If such an upload fails, its partial file is removed.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from tui.errors import (
    Cancelled,
    ConnectionLost,
    FerrymanError,
    NotFound,
    NotSupported,
    RemoteError,
    SourceChanged,
    TransferFailed,
)
from tui.remote.base import RemoteFS, Writer
from tui.remote.local import (
    LocalReader,
    check_replaceable,
    flush_file,
    keep_mode,
    open_regular,
    translate,
)
from tui.transfer.disk import PartWriter
from tui.transfer.partial import (  # noqa: F401 - part of this module's interface
    Note,
    check_unchanged,
    claim,
    identity,
    is_temporary_name,
    matches,
    open_part,
    part_name,
    part_path,
    read_record,
    read_segments,
    remote_prefix_matches,
    remove_partial,
    remove_record,
    resume_point,
    solid_prefix,
    source_differs,
    source_matches,
    source_mtime,
    state_path,
    write_record,
)
from tui.transfer.ratelimit import RateLimit, paced
from tui.transfer.tree import ensure_remote_dir, remove_tree  # noqa: F401 - as before

BLOCK_SIZE = 256 * 1024
IN_PLACE_LIMIT = 1024 * 1024
RECHECK_FROM = 8 * 1024 * 1024
"""A download at least this large asks the server for the file's time (MDTM) before and
after, to catch a file rewritten in place while it was copied: two round trips that are
lost in its transfer time, and that a tree of small files is spared."""
"""Uploads smaller than this may be written in place (module docstring): a larger partial
file is worth keeping under its temporary name for a resume."""
Progress = Callable[[int], None]
Verify = Callable[[str, str], None]
"""Called with (remote path, local path) of a complete copy; raises TransferFailed."""


class _ReadsInto(Protocol):
    def readinto(self, buffer: memoryview | bytearray) -> int: ...


class _Writes(Protocol):
    def write(self, data: bytes | memoryview) -> int: ...


def copy_stream(
    reader: _ReadsInto,
    writer: _Writes,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    block_size: int = BLOCK_SIZE,
    limit: int | None = None,
    what: str = "the source",
) -> int:
    """Move bytes from ``reader`` to ``writer`` through one reused buffer; returns the count.

    ``limit``: the most bytes the source announced. Nothing past it is written: one more
    byte arriving means the source grew while it was copied.

    Raises:
        SourceChanged: more than ``limit`` bytes came. Cancelled. What reader and writer raise.
    """
    # A reader that hands out what it received (SFTP's) spares a copy through the buffer.
    chunks: Callable[[int], memoryview] | None = getattr(reader, "read_chunk", None)
    view = memoryview(bytearray(0 if chunks else block_size))
    total = 0
    while True:
        if cancel is not None and cancel.is_set():
            raise Cancelled("Cancelled by the user")
        # With a limit, ask for at most one byte past it: enough to see that more is coming.
        want = block_size if limit is None else max(1, min(block_size, limit - total + 1))
        if chunks is not None:
            view = chunks(want)
            count = len(view)
        else:
            count = reader.readinto(view[:want])
        if not count:
            return total
        if limit is not None and total + count > limit:
            raise SourceChanged(
                f"{what} changed on the server while it was copied: it has more than the "
                f"{limit} bytes announced; nothing of it was kept"
            )
        writer.write(view[:count])
        total += count
        if progress is not None:
            progress(count)


def download_file(
    fs: RemoteFS,
    remote_path: str,
    local_path: str,
    *,
    expected_size: int | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    verify: Verify | None = None,
    mtime: datetime | None = None,
    note: Note | None = None,
    limit: RateLimit | None = None,
) -> int:
    """Download one file to ``local_path`` through a temporary file; returns bytes received.

    The partial file's record (partial.py) is written before its first byte and names this
    source (``remote_path``, its size and ``mtime`` when known). ``resume`` continues a
    partial file only when its record names this source or an overlap proves it a prefix;
    else the copy starts over and ``note`` is told. ``verify(remote, local)`` checks the
    complete temporary file before it replaces anything; a target the user cannot write is
    refused, and a replaced target keeps its permission bits. ``limit``: the batch's
    shared rate cap (ratelimit.py), charged after each block.

    Raises:
        NotFound, PermissionDenied (also for a read-only target), DiskFull, TransferFailed,
        SourceChanged (more bytes came than announced: nothing is kept), ConnectionLost,
        Cancelled.
    """
    check_replaceable(local_path)
    progress = paced(progress, limit, cancel)
    part = part_path(os.path.abspath(local_path))
    with claim(part), open_part(part, os.O_WRONLY, 0o666) as descriptor:
        if expected_size is None:
            expected_size = _stored_size(fs, remote_path)
        about = identity(remote_path, expected_size, mtime)
        offset = resume_point(fs, remote_path, part, about, note) if resume else 0
        with translate(f"Cannot write {part}"):
            write_record(part, about)  # before the first byte: what this partial is part of
        watch = None
        if expected_size is not None and expected_size - offset >= RECHECK_FROM:
            watch = identity(remote_path, expected_size, source_mtime(fs, remote_path))
        try:
            received = _receive(fs, remote_path, part, descriptor, offset, expected_size,
                                progress, cancel)  # fmt: skip
            if watch is not None and watch["mtime"] is not None:
                check_unchanged(fs, remote_path, watch, grew=False)
        except SourceChanged:
            remove_partial(part)  # the bytes are of a version that is gone
            raise
        with translate(f"Cannot write {part}"):
            written = os.fstat(descriptor).st_size
        if expected_size is not None and written != expected_size:
            raise TransferFailed(
                f"Download of {remote_path} is incomplete: {written} of {expected_size} "
                f"bytes; the partial file {part} is kept for --resume"
            )
        if verify is not None:
            _verified(verify, remote_path, part, lambda: remove_partial(part))
        put_in_place(part, local_path)
    return received


def put_in_place(part: str, target: str) -> None:
    """Move a complete, verified partial file over its target (keeping the target's mode,
    as ``cp`` does; flushed to the disk first when a file is there) and drop the partial's
    record."""
    keep_mode(target, part)
    if os.path.lexists(target):
        flush_file(part)
    with translate(f"Cannot rename {part} to {target}"):
        os.replace(part, target)
    remove_record(part)


def _receive(
    fs: RemoteFS,
    remote_path: str,
    part: str,
    descriptor: int,
    offset: int,
    size: int | None,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> int:
    """Fetch ``remote_path`` from ``offset`` into the open partial file; returns the bytes."""
    with translate(f"Cannot write {part}"):
        # What follows the resume point is rewritten. Only when there is something to cut:
        # ext4 takes a truncate to zero for a "replace" and flushes the whole file to disk
        # at close (auto_da_alloc), 0.45 s per GiB measured here, for a file just made empty.
        if os.fstat(descriptor).st_size != offset:
            os.ftruncate(descriptor, offset)
    local = PartWriter(descriptor, offset, f"Cannot write {part}")
    announced = None if size is None else size - offset
    reader = fs.open_read(remote_path, offset, expect=announced)
    try:
        received = copy_stream(reader, local, progress=progress, cancel=cancel,
                               limit=announced, what=remote_path)  # fmt: skip
    except BaseException:
        _quietly(reader.close)
        raise
    reader.close()
    return received


def upload_file(
    fs: RemoteFS,
    local_path: str,
    remote_path: str,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    verify: Verify | None = None,
    in_place: bool = False,
    replaces: bool = True,
    note: Note | None = None,
    limit: RateLimit | None = None,
) -> int:
    """Upload one file to ``remote_path`` through a temporary remote file; returns bytes sent.

    ``resume`` continues the remote partial file only when the server's checksum of it, or
    its last bytes re-read, prove it the start of the local file; else the upload starts
    over and ``note`` is told. The stored size (SIZE, else the listing's) must equal the
    local file's, and ``verify(remote, local)`` checks the complete temporary file, before
    it replaces anything.
    ``in_place``: nothing is at ``remote_path`` (the caller checked, or made its folder), so
    a file under ``IN_PLACE_LIMIT`` is written there directly, and removed if it fails.
    ``replaces``: a file may be at ``remote_path`` (the default). The complete copy is then
    flushed to the server's disk before it takes that file's place (``flush_to_disk``), so a
    crash there never leaves an empty file where a good one was; over nothing, a crash can
    cost only the new copy, whose source is still here, and the flush is not paid.
    ``limit``: the batch's shared rate cap (ratelimit.py), charged after each block.

    Raises:
        NotFound (local file), PermissionDenied, DiskFull, TransferFailed, ConnectionLost,
        Cancelled.
    """
    with translate(f"Cannot read {local_path}"):
        source = open_regular(local_path)
        size = os.fstat(source.fileno()).st_size
    in_place = in_place and size < IN_PLACE_LIMIT
    progress = paced(progress, limit, cancel)
    part = remote_path if in_place else part_path(remote_path)
    with claim(part, fs):
        return _upload_through(fs, source, size, local_path, part, remote_path, in_place,
                               (resume, progress, cancel, verify, note, replaces))  # fmt: skip


def _upload_through(
    fs: RemoteFS,
    source: io.BufferedReader,
    size: int,
    local_path: str,
    part: str,
    remote_path: str,
    in_place: bool,
    options: tuple[bool, Progress | None, threading.Event | None, Verify | None, Note | None, bool],
) -> int:
    resume, progress, cancel, verify, note, replaces = options
    try:
        with source:
            sent = _upload(fs, source, size, local_path, part, resume, progress, cancel, note)
        stored = _stored_size(fs, part)
        if stored is not None and stored != size:
            kept = "it was removed" if in_place else f"the partial file {part} is kept for --resume"
            raise TransferFailed(
                f"Upload of {local_path} is incomplete on the server: {stored} of {size} "
                f"bytes; {kept}"
            )
        if verify is not None:
            _verified(verify, part, local_path, lambda: fs.remove(part))
    except BaseException:
        if in_place:
            _quietly(lambda: fs.remove(part))  # ours: a failed copy in place leaves nothing
        raise
    if not in_place:
        if replaces:
            fs.flush_to_disk(part)
        _replace_remote(fs, part, remote_path)
    return sent


def _upload(
    fs: RemoteFS,
    source: io.BufferedReader,
    size: int,
    local_path: str,
    part: str,
    resume: bool,
    progress: Progress | None,
    cancel: threading.Event | None,
    note: Note | None,
) -> int:
    """Write ``source`` to ``part``, resuming it if asked and proven; returns the bytes sent."""
    offset = 0
    if resume and fs.capabilities.resume_upload:
        there = _remote_size(fs, part) or 0
        if there and there <= size and remote_prefix_matches(fs, part, there, local_path):
            offset = there
        elif there and note is not None:
            note(f"the partial file {part} on the server is not a prefix of {local_path}: "
                 "started over")  # fmt: skip
    writer, offset = _open_upload(fs, part, offset)
    source.seek(offset)
    try:
        sent = copy_stream(
            LocalReader(source, f"Cannot read {local_path}"),
            writer,
            progress=progress,
            cancel=cancel,
        )
    except BaseException:
        _quietly(writer.abort)
        raise
    writer.close()
    return sent


def _verified(verify: Verify, remote: str, local: str, discard: Callable[[], None]) -> None:
    """Run the check; on a mismatch the copy is discarded, so a retry starts clean."""
    try:
        verify(remote, local)
    except TransferFailed:
        try:
            discard()
        except (OSError, FerrymanError):
            pass  # the mismatch is the error worth reporting
        raise


def _open_upload(fs: RemoteFS, part: str, offset: int) -> tuple[Writer, int]:
    """Open the upload at ``offset``: REST + STOR, else APPE onto the partial file, else
    (a server that allows neither, like ProFTPD without AllowStoreRestart) from the start.
    Returns the writer and the offset it really writes from."""
    if offset:
        for append in (False, True):
            try:
                if append:
                    return fs.open_write(part, append=True), offset
                return fs.open_write(part, offset), offset
            except ConnectionLost:
                raise
            except (RemoteError, TransferFailed):
                continue  # refused: the next way, and in the end the whole file again
    return fs.open_write(part), 0


def _replace_remote(fs: RemoteFS, part: str, target: str) -> None:
    try:
        fs.rename(part, target)
    except RemoteError as error:
        # Some servers (IIS, some pure-ftpd set-ups) refuse to rename over a file:
        # delete the old one only now that the new one is complete, then rename.
        try:
            fs.remove(target)
        except NotFound:
            raise error from None  # nothing was in the way: the rename failed for its reason
        fs.rename(part, target)


def verify_checksum(fs: RemoteFS) -> Verify:
    """A Verify that compares the server's checksum (HASH, XSHA256 …) with the local file's."""

    def verify(remote: str, local: str) -> None:
        found = fs.checksum(remote)
        if found is None:
            return  # the server computes none for this file
        algorithm, expected = found
        with translate(f"Cannot read {local}"), open(local, "rb") as handle:
            digest = hashlib.file_digest(handle, algorithm)
        if digest.hexdigest().lower() != expected.lower():
            raise TransferFailed(
                f"{remote}: the {algorithm.upper()} checksums differ (server {expected}, "
                f"here {digest.hexdigest()}); the copy was discarded"
            )

    return verify


def _stored_size(fs: RemoteFS, path: str) -> int | None:
    """The size of a file on the server: SIZE, else its listing entry's; None if neither."""
    size = _remote_size(fs, path)
    if size is None:
        try:
            size = fs.stat(path).size
        except (NotFound, NotSupported):
            return None
    return size


def _remote_size(fs: RemoteFS, path: str) -> int | None:
    try:
        return fs.size(path)
    except (NotFound, NotSupported):
        return None


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except FerrymanError:
        pass  # already failing for a better reason; this one would only hide it
