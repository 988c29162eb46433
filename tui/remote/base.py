"""Provides the interface every backend (local disk, FTP/FTPS, later SFTP) implements.

:class:`RemoteFS` is a connected file system; :class:`Session` is what a backend's factory
(declared in ``tui.backends``) returns for the connection service: it connects, or fetches
the server's identity without logging in. :class:`Security` is a session's protection in
backend-neutral words, for the status bar.

Paths are POSIX strings. Names that are not valid in the site's charset keep their bytes as
lone surrogates (``surrogateescape``), exactly like ``os.fsdecode`` on Linux, so a name read
from a server can be sent back or written to disk byte for byte.
"""

from __future__ import annotations

import abc
import enum
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol, Self

from tui.errors import InvalidName, NotFound, NotSupported
from tui.identity import IdentityDecider, PeerIdentity, verified_only

if TYPE_CHECKING:
    from tui.sites import Site


class EntryType(enum.Enum):
    """What a directory entry is. ``UNKNOWN`` holds a listing line nobody could parse."""

    FILE = "file"
    DIR = "dir"
    LINK = "link"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Entry:
    """One directory entry.

    Attributes:
        name: The entry's name (no slash), or the whole line for an unparseable listing line.
        type: File, directory, symbolic link, or unknown.
        size: Size in bytes, when the server said.
        mtime: Modification time, timezone-aware; UTC unless the server says otherwise.
        mtime_precision: ``"second"``, ``"minute"`` or ``"day"``: how exact ``mtime`` is
            (MLSD gives seconds, LIST gives minutes for recent files and days for old ones).
        perms: Permissions as ``ls`` shows them (``"rwxr-xr-x"``), or the MLSD ``perm`` fact.
        target: The link target, for symbolic links that report one.
        raw: The listing line, kept when it could not be parsed (``type`` is ``UNKNOWN``).
        unique: What identifies the file on the server (MLSD's ``unique`` fact, a local
            ``device:inode``): a walk that meets a folder it is already inside is in a loop.
    """

    name: str
    type: EntryType
    size: int | None = None
    mtime: datetime | None = None
    mtime_precision: str | None = None
    perms: str | None = None
    target: str | None = None
    raw: str | None = None
    unique: str | None = None

    @property
    def is_dir(self) -> bool:
        return self.type is EntryType.DIR

    @property
    def is_file(self) -> bool:
        return self.type is EntryType.FILE


@dataclass(slots=True)
class Capabilities:
    """What a connected backend can do; the UI greys out what it cannot.

    Attributes:
        mlsd: Machine-readable listings (MLSD/MLST) are available.
        resume_download: Reading from an offset works (REST STREAM).
        resume_upload: Writing at an offset or appending works (REST+STOR or APPE).
        chmod: Permissions can be changed (None: not tried yet).
        set_mtime: Modification times can be set (MFMT).
        hashes: Checksum algorithms the server computes (HASH/XSHA256/XMD5), upper case.
        utf8: The server declared UTF-8 names.
        features: Everything else the server announced (FEAT), name to argument.
    """

    mlsd: bool = False
    resume_download: bool = False
    resume_upload: bool = False
    chmod: bool | None = None
    set_mtime: bool = False
    hashes: list[str] = field(default_factory=list)
    utf8: bool = False
    features: dict[str, str] = field(default_factory=dict)


class Reader(Protocol):
    """A stream of a file's bytes from some offset. Close it (or use ``with``) when done."""

    def readinto(self, buffer: memoryview | bytearray) -> int: ...

    def read(self, size: int = -1) -> bytes: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class Writer(Protocol):
    """A stream into a file. ``close()`` completes the write and raises if it failed;
    ``abort()`` gives up and leaves whatever arrived."""

    def write(self, data: bytes | memoryview) -> int: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


ProgressCallback = Callable[[int], None]
"""Called with the number of bytes moved since the last call."""


class Security(NamedTuple):  # NamedTuples here: cheaper than dataclasses at start-up
    """How a session is protected, in words every backend can fill in (the status bar's
    badge reads this, never a backend's own attributes).

    Attributes:
        encrypted: The session's traffic is encrypted.
        protocol: What protects it, as the protocol names itself (``"TLSv1.3"``, ``"SSH-2.0"``),
            or what it is when nothing does (``"plain FTP"``).
        badge: The status bar's words (``"TLS 1.3"``).
        identity: The kind of the identity that was judged (``tui.identity``), or None.
    """

    encrypted: bool
    protocol: str = ""
    badge: str = ""
    identity: str | None = None


INSECURE = Security(encrypted=False, protocol="unencrypted", badge="unencrypted")

LoginGate = Callable[["Site", bool], None]
"""Called with the site and whether the connection is secured, once the identity is
accepted and before any credential is sent: it may refuse (raise, e.g. a TLS downgrade) and
fills in the site's credentials, which are only then looked up or asked for."""

LogCallback = Callable[[str, str], None]
"""Receives a session's protocol conversation: a direction (``>``, ``<``, ``*``) and a line,
passwords masked."""


@dataclass(frozen=True)
class MinimumProgress:
    """The minimum-progress rule for data connections: fewer than ``min_bytes`` moved in
    ``seconds`` is a stall, which ends the transfer.

    Attributes:
        min_bytes: 0 turns the rule off (each read and write still has its timeout).
        seconds: The window; None means the session's timeout. The default, 1 KiB in a
            whole timeout (30 s unless set), is far below any real link.
    """

    min_bytes: int = 1024
    seconds: float | None = None

    @classmethod
    def from_speed(cls, speed_limit: float, speed_time: float) -> MinimumProgress:
        """The rule as curl states it: below ``speed_limit`` bytes a second for
        ``speed_time`` seconds is a stall (``speed_limit`` 0 turns it off)."""
        return cls(min_bytes=max(0, round(speed_limit * speed_time)), seconds=speed_time)

    def describe(self, timeout: float) -> str:
        seconds = self.seconds or timeout
        amount = (
            f"{self.min_bytes // 1024} KiB"
            if self.min_bytes % 1024 == 0
            else (f"{self.min_bytes} bytes")
        )
        return f"less than {amount} in {seconds:g} s"


OTHER_HOST_PROMPT = "On the way (another host): "
"""Starts the text of a prompt that a host other than the site asks (``SessionSettings.ask``)."""


class SessionSettings(NamedTuple):
    """What the connection service gives every backend's session factory.

    Attributes:
        timeout: Seconds for connecting and for each operation.
        ca_file: Extra trusted CA certificates (PEM), for backends that use X.509.
        decider: Judges the identity the server presents in each handshake.
        log: Receives the protocol conversation, or None.
        before_login: The login gate, or None.
        min_progress: When a data stream counts as stalled (None: the default rule).
        ask: Answers a prompt the transport meets while logging in (ssh's password,
            key passphrase or one-time code): called with the prompt's text and whether
            the answer may be shown as it is typed; returns the answer, or None to cancel.
            None: nobody can answer, and such a prompt fails the login. A prompt from
            another host than the site's (a ProxyJump host) starts with
            :data:`OTHER_HOST_PROMPT`: the site's own password must never answer it.
    """

    timeout: float = 30.0
    ca_file: str | None = None
    decider: IdentityDecider = verified_only
    log: LogCallback | None = None
    before_login: LoginGate | None = None
    min_progress: MinimumProgress | None = None
    ask: Callable[[str, bool], str | None] | None = None


class Session(Protocol):
    """A backend's not-yet-connected session for one site (one use, one thread)."""

    def connect(self) -> RemoteFS:
        """Connect, judge the server's identity (the decider), log in.

        Raises:
            ConnectFailed, CertificateNotTrusted, AuthFailed, ConnectionLost, ProtocolError,
            and the backend's own ``FerrymanError`` subclasses.
        """
        ...

    def fetch_identity(self) -> PeerIdentity:
        """Handshake, describe the server's identity, disconnect without logging in.

        Raises:
            UsageError: the site has no identity to fetch (plain FTP); ConnectFailed, …
        """
        ...


SessionFactory = Callable[["Site", SessionSettings], Session]
"""What ``tui.backends.Backend.session`` names."""


class RemoteFS(abc.ABC):
    """A file system reached over one connection.

    Not thread-safe: one connection serves one thread at a time (DESIGN.md). Every method
    raises a :class:`tui.errors.FerrymanError` subclass: ``NotFound``, ``PermissionDenied``,
    ``DiskFull``, ``NotSupported``, ``InvalidName``, ``RemoteError`` for other refusals, and
    ``ConnectionLost`` when the connection broke (the object is then unusable).
    """

    #: A short label for messages and the status line, e.g. ``"ftpes://user@host:21"``.
    label: str = ""

    @property
    def security(self) -> Security:
        """How this session is protected (the status bar's badge). Unencrypted unless the
        backend says otherwise."""
        return INSECURE

    @property
    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """What this backend can do."""

    @property
    @abc.abstractmethod
    def home(self) -> str:
        """The absolute directory the session started in."""

    @abc.abstractmethod
    def resolve(self, path: str) -> str:
        """Make ``path`` absolute and normal; relative paths start at ``home``."""

    @abc.abstractmethod
    def listdir(self, path: str) -> list[Entry]:
        """List a directory (without ``.`` and ``..``).

        Raises:
            NotFound: ``path`` does not exist or is not a directory.
        """

    def iterdir(self, path: str) -> Iterator[Entry]:
        """Iterate a directory; backends may stream it."""
        return iter(self.listdir(path))

    @abc.abstractmethod
    def stat(self, path: str) -> Entry:
        """Describe one path. Links are reported as the server reports them.

        Raises:
            NotFound: ``path`` does not exist.
        """

    def exists(self, path: str) -> bool:
        """Whether ``path`` exists (any type)."""
        try:
            self.stat(path)
        except NotFound:
            return False
        return True

    @abc.abstractmethod
    def mkdir(self, path: str) -> None:
        """Create one directory. Raises ``RemoteError`` if it exists or cannot be made."""

    @abc.abstractmethod
    def remove(self, path: str) -> None:
        """Delete a file (or link). Raises ``NotFound`` / ``PermissionDenied``."""

    @abc.abstractmethod
    def rmdir(self, path: str) -> None:
        """Delete an empty directory."""

    @abc.abstractmethod
    def rename(self, source: str, target: str) -> None:
        """Rename or move ``source`` to ``target`` (replacing a file where the server allows)."""

    def flush_to_disk(self, path: str) -> None:
        """Ask the server to write a complete file to its disk before it replaces another
        (SFTP ``fsync@openssh.com``), so a crash there cannot leave an empty file where a
        good one was. A protocol with no such request (FTP) does nothing."""
        del path  # nothing to ask for

    @abc.abstractmethod
    def size(self, path: str) -> int:
        """A file's size in bytes."""

    @abc.abstractmethod
    def mtime(self, path: str) -> datetime:
        """A file's modification time (aware, UTC)."""

    def set_mtime(self, path: str, when: datetime) -> None:
        """Set a file's modification time. Raises ``NotSupported`` where it cannot."""
        raise NotSupported("Setting modification times is not supported here")

    def checksum(self, path: str) -> tuple[str, str] | None:
        """The server's checksum of a file as (hashlib name, hex), or None if it offers none."""
        return None

    def chmod(self, path: str, mode: int) -> None:
        """Change permissions. Raises ``NotSupported`` where the server cannot."""
        raise NotSupported("Changing permissions is not supported here")

    @abc.abstractmethod
    def open_read(self, path: str, offset: int = 0, *, expect: int | None = None) -> Reader:
        """Open a file for reading from ``offset``. ``expect``: how many bytes the caller
        expects from there (it knows the size); a hint for reading efficiently, not a
        limit.

        Raises:
            NotFound: the file does not exist.
            NotSupported: ``offset`` > 0 and the server cannot resume.
        """

    @abc.abstractmethod
    def open_write(self, path: str, offset: int | None = None, *, append: bool = False) -> Writer:
        """Open a file for writing.

        Args:
            path: The file to write.
            offset: ``None`` truncates or creates; an integer writes from that offset
                (resume), keeping the bytes before it.
            append: Append to the end (APPE) instead.
        """

    @abc.abstractmethod
    def keepalive(self) -> None:
        """Keep an idle connection open (FTP: NOOP). Raises ``ConnectionLost``."""

    @property
    def connected(self) -> bool:
        """False once the connection is known to be lost (the server hung up)."""
        return True

    def reconnect(self) -> None:
        """Connect again after the server hung up, with the same site and trust.

        Raises:
            NotSupported: this file system has no connection to make again; or what
            connecting raises (``ConnectFailed``, ``CertificateNotTrusted`` …).
        """
        raise NotSupported("This file system cannot reconnect")

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection politely; never raises."""

    def __enter__(self) -> RemoteFS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def join(base: str, name: str) -> str:
    """Join a directory path and an entry name, POSIX style."""
    if base.endswith("/"):
        return base + name
    return f"{base}/{name}"


def check_name(name: str) -> str:
    """Return ``name`` if it is safe as a single path component, else raise ``InvalidName``.

    A name from a server is data: it must not climb out of a folder, point at an absolute
    path, or carry bytes a file system or terminal would act on.
    """
    if name in ("", ".", ".."):
        raise InvalidName(f"Unsafe name {name!r}")
    if "/" in name or "\\" in name or "\x00" in name:
        raise InvalidName(f"Unsafe name {name!r}: it contains a path separator or NUL")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise InvalidName(f"Unsafe name {name!r}: it contains control characters")
    return name


def local_child(folder: str, name: str) -> str:
    """The local path for a server's entry ``name`` inside the local ``folder``.

    The one road from a name a server sent to a place on the local disk: the CLI, the
    transfer engine and the app all take it, so a name such as ``..``, ``x/..`` or
    ``/etc/x`` can never put a file outside the folder the user chose.

    Raises:
        InvalidName: ``name`` is not one safe path component (``check_name``).
    """
    return os.path.join(folder, check_name(name))
