"""Provides the copying of one file between the local disk and a RemoteFS (the engine's step).

Nothing is lost: a file is written under a temporary name (``.NAME.ferryman-part``) beside
its target, checked against the expected size, and only then renamed over the target, so a
failed transfer never replaces a good file; the partial file stays for ``resume``.

One exception, as in WinSCP: a small upload to a name where the caller knows nothing
exists is written in place (``in_place=True``). There is no good file for it to replace, and
the rename's two round trips are most of what a small file costs (they made uploading a tree
of 4 KiB files about 10 % slower). If such an upload fails, its partial file is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import posixpath
import threading
from collections.abc import Callable
from typing import Protocol

from tui.errors import (
    Cancelled,
    ConnectionLost,
    FerrymanError,
    InvalidName,
    NotFound,
    NotSupported,
    RemoteError,
    TransferFailed,
)
from tui.remote.base import RemoteFS, Writer, check_name
from tui.remote.local import LocalReader, translate
from tui.transfer.disk import PartWriter

BLOCK_SIZE = 256 * 1024
IN_PLACE_LIMIT = 1024 * 1024
"""Uploads smaller than this may be written in place (module docstring): a larger partial
file is worth keeping under its temporary name for a resume."""
Progress = Callable[[int], None]
Verify = Callable[[str, str], None]
"""Called with (remote path, local path) of a complete copy; raises TransferFailed."""


def part_name(name: str) -> str:
    """The temporary name a file is written under until it is complete."""
    return f".{name}.ferryman-part"


def part_path(path: str) -> str:
    """The temporary file beside ``path`` (local or remote: both are POSIX paths here)."""
    folder, name = posixpath.split(path)
    return posixpath.join(folder, part_name(name))


def state_path(part: str) -> str:
    """The record of a segmented download's ranges, beside its partial file."""
    return part + ".segments"


def read_segments(part: str) -> tuple[object, list[tuple[int, int, int]]]:
    """The record beside a segmented partial file: the size it was for, and its ranges as
    (start, end, done), sorted.

    Raises:
        FileNotFoundError: there is no record. OSError, ValueError, KeyError, TypeError: it
            cannot be read or is damaged.
    """
    with open(state_path(part), encoding="utf-8") as handle:
        data = json.load(handle)
    return data.get("size"), sorted((int(a), int(b), int(d)) for a, b, d in data["ranges"])


def contiguous_prefix(part: str) -> int | None:
    """How many bytes from the start of a segmented partial file are known to be real (the
    rest may be preallocated holes); None when the partial was not written in segments."""
    try:
        _, ranges = read_segments(part)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0  # a damaged record: trust none of the file
    prefix = 0
    for start, end, done in ranges:
        if start != prefix:
            break
        prefix = start + max(0, min(done, end - start))
        if prefix < end:
            break
    return prefix


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
) -> int:
    """Move bytes from ``reader`` to ``writer`` through one reused buffer; returns the count."""
    buffer = bytearray(block_size)
    view = memoryview(buffer)
    total = 0
    while True:
        if cancel is not None and cancel.is_set():
            raise Cancelled("Cancelled by the user")
        count = reader.readinto(view)
        if not count:
            return total
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
) -> int:
    """Download one file to ``local_path`` through a temporary file; returns bytes received.

    ``verify(remote, local)`` checks the complete temporary file before it replaces anything.

    Raises:
        NotFound, PermissionDenied, DiskFull, TransferFailed, ConnectionLost, Cancelled.
    """
    part = part_path(os.path.abspath(local_path))
    offset = 0
    if resume and os.path.isfile(part):
        prefix = contiguous_prefix(part)  # a segmented partial: only its solid start counts
        offset = os.path.getsize(part) if prefix is None else prefix
    if expected_size is None:
        expected_size = _remote_size(fs, remote_path)
    if expected_size is not None and offset > expected_size:
        offset = 0  # the partial file is longer than the source: it is from another file
    with translate(f"Cannot write {part}"):
        descriptor = os.open(part, os.O_WRONLY | os.O_CREAT, 0o666)
    try:
        with translate(f"Cannot write {part}"):
            os.ftruncate(descriptor, offset)  # what follows the resume point is rewritten
        with contextlib.suppress(FileNotFoundError):
            os.remove(state_path(part))  # now a plain partial: its length is what it has
        local = PartWriter(descriptor, offset, f"Cannot write {part}")
        announced = None if expected_size is None else expected_size - offset
        reader = fs.open_read(remote_path, offset, expect=announced)
        try:
            received = copy_stream(reader, local, progress=progress, cancel=cancel)
        except BaseException:
            _quietly(reader.close)
            raise
        reader.close()
    finally:
        with translate(f"Cannot write {part}"):
            os.close(descriptor)
    written = os.path.getsize(part)
    if expected_size is not None and written != expected_size:
        raise TransferFailed(
            f"Download of {remote_path} is incomplete: {written} of {expected_size} bytes; "
            f"the partial file {part} is kept for --resume"
        )
    if verify is not None:
        _verified(verify, remote_path, part, lambda: os.remove(part))
    with translate(f"Cannot rename {part} to {local_path}"):
        os.replace(part, local_path)
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
) -> int:
    """Upload one file to ``remote_path`` through a temporary remote file; returns bytes sent.

    ``verify(remote, local)`` checks the complete temporary file before it replaces anything.
    ``in_place``: nothing is at ``remote_path`` (the caller checked, or made its folder), so
    a file under ``IN_PLACE_LIMIT`` is written there directly, and removed if it fails.

    Raises:
        NotFound (local file), PermissionDenied, DiskFull, TransferFailed, ConnectionLost,
        Cancelled.
    """
    with translate(f"Cannot read {local_path}"):
        source = open(local_path, "rb")  # noqa: SIM115 - closed below
        size = os.fstat(source.fileno()).st_size
    in_place = in_place and size < IN_PLACE_LIMIT
    part = remote_path if in_place else part_path(remote_path)
    try:
        with source:
            sent = _upload(fs, source, size, local_path, part, resume, progress, cancel)
        stored = _remote_size(fs, part)
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
) -> int:
    """Write ``source`` to ``part``, resuming it if asked; returns the bytes sent."""
    offset = 0
    if resume and fs.capabilities.resume_upload:
        offset = _remote_size(fs, part) or 0
        offset = offset if offset <= size else 0
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


def remove_tree(fs: RemoteFS, path: str) -> None:
    """Delete a directory and everything in it.

    A name that could point elsewhere (``..``, a separator) is never followed: the
    directory is then left non-empty and its removal fails with the server's reason.
    """
    pending = [path]
    emptied: list[str] = []
    while pending:
        current = pending.pop()
        emptied.append(current)
        for entry in fs.listdir(current):
            try:
                check_name(entry.name)
            except InvalidName:
                continue
            child = posixpath.join(current, entry.name)
            if entry.is_dir:
                pending.append(child)
            else:
                fs.remove(child)
    for directory in reversed(emptied):
        fs.rmdir(directory)


def ensure_remote_dir(fs: RemoteFS, path: str) -> bool:
    """Make a remote directory unless it exists; True when this call created it (so it is
    known to be empty)."""
    try:
        fs.mkdir(path)
    except RemoteError as error:
        # Servers word "exists" many ways (550 "Create directory operation failed").
        # The directory is fine if it is there now.
        try:
            if fs.stat(path).is_dir:
                return False
        except NotFound:
            pass
        raise error
    return True


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
