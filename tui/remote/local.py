"""Provides LocalFS: the RemoteFS interface on the local disk, so panes and transfers treat both
sides alike. Thread-safe (it keeps no state but the start directory)."""

from __future__ import annotations

import errno
import itertools
import os
import stat as stat_module
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from io import BufferedRandom, BufferedReader, BufferedWriter
from typing import Self

from tui.errors import (
    AlreadyExists,
    DiskFull,
    FerrymanError,
    IsADirectory,
    NotFound,
    NotSupported,
    PermissionDenied,
    RemoteError,
)
from tui.remote.base import Capabilities, Entry, EntryType, RemoteFS


def os_error(error: OSError, action: str) -> FerrymanError:
    """Map an OSError to the Ferryman error a user understands."""
    reason = error.strerror or str(error)
    message = f"{action}: {reason}"
    by_errno: dict[int, type[FerrymanError]] = {
        errno.ENOENT: NotFound,
        errno.ENOTDIR: NotFound,
        errno.EACCES: PermissionDenied,
        errno.EPERM: PermissionDenied,
        errno.EROFS: PermissionDenied,
        errno.ENOSPC: DiskFull,
        errno.EDQUOT: DiskFull,
        errno.EFBIG: DiskFull,
        errno.EEXIST: AlreadyExists,
        errno.ENOTEMPTY: RemoteError,
        errno.EISDIR: IsADirectory,
    }
    return by_errno.get(error.errno or 0, RemoteError)(message)


@contextmanager
def translate(action: str) -> Iterator[None]:
    """Re-raise OSErrors inside the block as Ferryman errors naming ``action``."""
    try:
        yield
    except OSError as error:
        raise os_error(error, action) from error


def open_regular(path: str) -> BufferedReader:
    """Open a local file to upload. A pipe, socket or device in a tree is refused, not
    read: opening a pipe that no one writes to waits for ever (without ``O_NONBLOCK``), and
    a device may never end.

    Raises:
        NotSupported: not a regular file. OSError: it cannot be opened, or is a folder.
    """
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    descriptor = os.open(path, os.O_RDONLY | nonblocking)
    try:
        mode = os.fstat(descriptor).st_mode
        if stat_module.S_ISDIR(mode):  # as open() says it, for translate
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat_module.S_ISREG(mode):
            raise NotSupported(f"{path} is not a regular file (a pipe, socket or device): not read")
        if nonblocking:
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def entry_from_stat(name: str, info: os.stat_result, target: str | None = None) -> Entry:
    mode = info.st_mode
    if stat_module.S_ISLNK(mode):
        kind = EntryType.LINK
    elif stat_module.S_ISDIR(mode):
        kind = EntryType.DIR
    else:
        kind = EntryType.FILE
    return Entry(
        name=name,
        type=kind,
        size=info.st_size,
        mtime=datetime.fromtimestamp(info.st_mtime, UTC),
        mtime_precision="second",
        perms=stat_module.filemode(mode)[1:],
        target=target,
    )


def check_replaceable(path: str) -> None:
    """Refuse, before any byte is fetched, to replace a file the user cannot write, as
    ``cp`` does: one whose permission bits grant no one write access (root, whom
    ``access()`` always lets write, is held to the bits too), or that ``access()`` says
    this user cannot write.

    A device or a pipe is refused too: the copy would be renamed over it, and
    ``get URL /dev/null`` run as root would leave a regular file where /dev/null was.

    Raises:
        PermissionDenied: the file is read-only. NotSupported: it is a device, pipe or
            socket.
    """
    try:
        info = os.stat(path)
    except OSError:
        return  # nothing there (or nothing to judge): the copy finds out for itself
    if stat_module.S_ISDIR(info.st_mode):
        return
    if not stat_module.S_ISREG(info.st_mode):
        raise NotSupported(
            f"Cannot replace {path}: it is not a regular file (a device, pipe or socket)"
        )
    if not info.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise PermissionDenied(f"Cannot replace {path}: it is read-only")


def flush_file(path: str) -> None:
    """Write a file's data to the disk (``fsync``) before it replaces another: renamed over
    a good file unflushed, a crash can leave an empty one there (ext4 guards only some
    cases, other file systems none)."""
    with translate(f"Cannot write {path} to the disk"):
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def keep_mode(target: str, replacement: str) -> None:
    """Give ``replacement`` the permission bits of the file it is about to replace, as
    ``cp`` keeps the mode of a file it overwrites. Nothing there: nothing to keep."""
    try:
        mode = stat_module.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return
    with translate(f"Cannot set the mode of {replacement}"):
        os.chmod(replacement, mode)


class LocalReader:
    """A local file handle as a Reader; OSErrors become Ferryman errors naming ``action``."""

    def __init__(self, handle: BufferedReader, action: str) -> None:
        self._handle = handle
        self._action = action

    def readinto(self, buffer: memoryview | bytearray) -> int:
        with translate(self._action):
            return self._handle.readinto(buffer) or 0

    def read(self, size: int = -1) -> bytes:
        with translate(self._action):
            return self._handle.read(size)

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalWriter:
    """A local file handle as a Writer; OSErrors become Ferryman errors naming ``action``."""

    def __init__(self, handle: BufferedWriter | BufferedRandom, action: str) -> None:
        self._handle = handle
        self._action = action

    def write(self, data: bytes | memoryview) -> int:
        with translate(self._action):
            return self._handle.write(data)

    def close(self) -> None:
        with translate(self._action):
            self._handle.close()

    def abort(self) -> None:
        try:
            self._handle.close()
        except OSError:
            pass  # aborting: the write already failed, and this error adds nothing

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if not exc or exc[0] is None:
            self.close()
        else:
            self.abort()


class LocalFS(RemoteFS):
    """The local disk. Paths are native strings (``os.fsdecode`` form)."""

    def __init__(self, home: str | None = None) -> None:
        self._home = os.path.abspath(home or os.getcwd())
        self.label = "local"
        self._caps = Capabilities(
            mlsd=True, resume_download=True, resume_upload=True, chmod=True, set_mtime=True
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def home(self) -> str:
        return self._home

    def resolve(self, path: str) -> str:
        return os.path.normpath(os.path.join(self._home, path))

    def iterdir(self, path: str) -> Iterator[Entry]:
        target = self.resolve(path)
        with translate(f"Cannot list {target}"):
            scan = list(os.scandir(target))
        return _entries(scan)

    def listdir(self, path: str) -> list[Entry]:
        return list(self.iterdir(path))

    def listdir_if_small(self, path: str, limit: int) -> list[Entry] | None:
        """The folder's entries when it holds at most ``limit``, else None, having read no
        more than ``limit + 1`` names (so asking about a huge folder costs little)."""
        target = self.resolve(path)
        with translate(f"Cannot list {target}"), os.scandir(target) as scan:
            items = list(itertools.islice(scan, limit + 1))
        return list(_entries(items)) if len(items) <= limit else None

    def stat(self, path: str) -> Entry:
        target = self.resolve(path)
        with translate(f"Cannot find {target}"):
            info = os.lstat(target)
            link = os.readlink(target) if stat_module.S_ISLNK(info.st_mode) else None
        return entry_from_stat(os.path.basename(target) or target, info, link)

    def mkdir(self, path: str) -> None:
        target = self.resolve(path)
        with translate(f"Cannot create {target}"):
            os.mkdir(target)

    def remove(self, path: str) -> None:
        target = self.resolve(path)
        with translate(f"Cannot delete {target}"):
            os.remove(target)

    def rmdir(self, path: str) -> None:
        target = self.resolve(path)
        with translate(f"Cannot remove directory {target}"):
            os.rmdir(target)

    def flush_to_disk(self, path: str) -> None:
        flush_file(self.resolve(path))

    def rename(self, source: str, target: str) -> None:
        old, new = self.resolve(source), self.resolve(target)
        with translate(f"Cannot rename {old} to {new}"):
            os.replace(old, new)

    def size(self, path: str) -> int:
        target = self.resolve(path)
        with translate(f"Cannot get the size of {target}"):
            return os.stat(target).st_size

    def mtime(self, path: str) -> datetime:
        target = self.resolve(path)
        with translate(f"Cannot get the time of {target}"):
            return datetime.fromtimestamp(os.stat(target).st_mtime, UTC)

    def set_mtime(self, path: str, when: datetime) -> None:
        target = self.resolve(path)
        stamp = when.timestamp()
        with translate(f"Cannot set the time of {target}"):
            os.utime(target, (stamp, stamp))

    def chmod(self, path: str, mode: int) -> None:
        target = self.resolve(path)
        with translate(f"Cannot chmod {target}"):
            os.chmod(target, mode)

    def open_read(self, path: str, offset: int = 0, *, expect: int | None = None) -> LocalReader:
        target = self.resolve(path)
        action = f"Cannot read {target}"
        with translate(action):
            handle = open_regular(target)  # a pipe would block the viewer's worker
            if offset:
                handle.seek(offset)
        return LocalReader(handle, action)

    def open_write(
        self, path: str, offset: int | None = None, *, append: bool = False
    ) -> LocalWriter:
        target = self.resolve(path)
        action = f"Cannot write {target}"
        handle: BufferedWriter | BufferedRandom
        with translate(action):
            if append:
                handle = open(target, "ab")  # noqa: SIM115 - closed by the writer
            elif offset is not None:
                if os.path.exists(target):
                    handle = open(target, "r+b")  # noqa: SIM115 - closed by the writer
                else:
                    handle = open(target, "wb")  # noqa: SIM115
                handle.seek(offset)
                handle.truncate()
            else:
                handle = open(target, "wb")  # noqa: SIM115
        return LocalWriter(handle, action)

    def keepalive(self) -> None:
        return None

    def close(self) -> None:
        return None


def _entries(items: list[os.DirEntry[str]]) -> Iterator[Entry]:
    for item in items:
        try:
            info = item.stat(follow_symlinks=False)
            link = os.readlink(item.path) if item.is_symlink() else None
        except OSError:
            continue  # vanished between listing and stat; it is simply not there now
        yield entry_from_stat(item.name, info, link)
