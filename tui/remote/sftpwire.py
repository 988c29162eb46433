"""Provides the SFTP version 3 wire format: packet framing, requests, replies, attributes.

The protocol is draft-ietf-secsh-filexfer-02 (what OpenSSH speaks) plus OpenSSH's
extensions. Everything a server sends is data and is checked here before anything else
reads it: a packet's length is bounded (``MAX_PACKET``), every string's length must fit in
its packet, counts are bounded by the bytes that could hold them, and whatever does not
parse raises :class:`tui.errors.ProtocolError`, never another exception. Names travel as
bytes; :func:`decode_name` turns them into ``str`` with ``surrogateescape`` like FTP names
(``tui.remote.base``), so the bytes go back to the server unchanged.

Nothing here does I/O: ``tui.remote.sftpclient`` frames, sends and matches.
"""

from __future__ import annotations

import stat as statmod
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from tui.errors import (
    AlreadyExists,
    ConnectionLost,
    DiskFull,
    FerrymanError,
    InvalidName,
    NotFound,
    NotSupported,
    PermissionDenied,
    ProtocolError,
    RemoteError,
)
from tui.textsafe import printable

VERSION = 3

# Packet types (filexfer-02, section 3).
INIT, VERSION_REPLY, OPEN, CLOSE, READ, WRITE, LSTAT, FSTAT = 1, 2, 3, 4, 5, 6, 7, 8
SETSTAT, FSETSTAT, OPENDIR, READDIR, REMOVE, MKDIR, RMDIR = 9, 10, 11, 12, 13, 14, 15
REALPATH, STAT, RENAME, READLINK, SYMLINK = 16, 17, 18, 19, 20
STATUS, HANDLE, DATA, NAME, ATTRS = 101, 102, 103, 104, 105
EXTENDED, EXTENDED_REPLY = 200, 201
REPLY_TYPES = frozenset({STATUS, HANDLE, DATA, NAME, ATTRS, EXTENDED_REPLY})

# Status codes.
OK, EOF, NO_SUCH_FILE, PERMISSION_DENIED, FAILURE = 0, 1, 2, 3, 4
BAD_MESSAGE, NO_CONNECTION, CONNECTION_LOST, OP_UNSUPPORTED = 5, 6, 7, 8

# Open flags (pflags).
O_READ, O_WRITE, O_APPEND, O_CREAT, O_TRUNC, O_EXCL = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

# Attribute flags.
A_SIZE, A_UIDGID, A_PERMISSIONS, A_ACMODTIME, A_EXTENDED = 0x1, 0x2, 0x4, 0x8, 0x80000000

MAX_PACKET = 512 * 1024
"""The longest packet accepted from a server (OpenSSH's own limit is 256 KiB of payload)."""
MAX_HANDLE = 256  # filexfer-02: a handle is at most 256 bytes
MAX_NAME = 64 * 1024  # one file name, or one status message, in bytes
MAX_EXTENSIONS = 64

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_HEADER = struct.Struct(">IBI")  # length, type, request id


class Cursor:
    """Reads the fields of one packet's payload; any overrun is a ProtocolError."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str = "packet") -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def _take(self, count: int) -> bytes:
        end = self.pos + count
        if count < 0 or end > len(self.data):
            raise ProtocolError(f"The server sent a truncated {self.what}")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u8(self) -> int:
        return self._take(1)[0]

    def u32(self) -> int:
        value: int = _U32.unpack(self._take(4))[0]
        return value

    def u64(self) -> int:
        value: int = _U64.unpack(self._take(8))[0]
        return value

    def string(self, limit: int = MAX_PACKET) -> bytes:
        length = self.u32()
        if length > limit:
            raise ProtocolError(f"The server sent a {self.what} with a {length}-byte field")
        return self._take(length)

    def view(self, limit: int = MAX_PACKET) -> memoryview:
        """A string field as a view of the packet (no copy: a DATA reply's bytes)."""
        length = self.u32()
        if length > limit:
            raise ProtocolError(f"The server sent a {self.what} with a {length}-byte field")
        start, end = self.pos, self.pos + length
        if end > len(self.data):
            raise ProtocolError(f"The server sent a truncated {self.what}")
        self.pos = end
        return memoryview(self.data)[start:end]

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def end(self) -> None:
        """Nothing may follow the last field (OpenSSH never sends trailing bytes)."""
        if self.pos != len(self.data):
            raise ProtocolError(f"The server sent {self.left} stray bytes after a {self.what}")


def u32(value: int) -> bytes:
    return _U32.pack(value)


def u64(value: int) -> bytes:
    return _U64.pack(value)


def string(value: bytes) -> bytes:
    return _U32.pack(len(value)) + value


def packet(kind: int, request_id: int, body: bytes = b"") -> bytes:
    """One request: length, type, id, body."""
    return _HEADER.pack(len(body) + 5, kind, request_id) + body


def init_packet() -> bytes:
    return _U32.pack(5) + bytes([INIT]) + _U32.pack(VERSION)


def packet_length(header: bytes) -> int:
    """The payload length announced by a 4-byte header (type byte included), checked.

    Raises:
        ProtocolError: zero, or longer than ``MAX_PACKET``.
    """
    length: int = _U32.unpack(header)[0]
    if length < 1 or length > MAX_PACKET:
        raise ProtocolError(f"The server announced a {length}-byte packet (the limit is "
                            f"{MAX_PACKET}): it does not speak SFTP, or lies")  # fmt: skip
    return length


# --- attributes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attrs:
    """A file's attributes as SFTP v3 carries them (each None when the server left it out)."""

    size: int | None = None
    uid: int | None = None
    gid: int | None = None
    permissions: int | None = None
    atime: int | None = None
    mtime: int | None = None

    def encode(self) -> bytes:
        flags, body = 0, b""
        if self.size is not None:
            flags |= A_SIZE
            body += u64(self.size)
        if self.uid is not None and self.gid is not None:
            flags |= A_UIDGID
            body += u32(self.uid) + u32(self.gid)
        if self.permissions is not None:
            flags |= A_PERMISSIONS
            body += u32(self.permissions)
        if self.atime is not None and self.mtime is not None:
            flags |= A_ACMODTIME
            body += u32(self.atime) + u32(self.mtime)
        return u32(flags) + body

    @property
    def is_dir(self) -> bool:
        return self.permissions is not None and statmod.S_ISDIR(self.permissions)

    @property
    def is_link(self) -> bool:
        return self.permissions is not None and statmod.S_ISLNK(self.permissions)

    @property
    def is_file(self) -> bool:
        return self.permissions is not None and statmod.S_ISREG(self.permissions)

    @property
    def modified(self) -> datetime | None:
        return None if self.mtime is None else datetime.fromtimestamp(self.mtime, UTC)

    @property
    def mode_text(self) -> str | None:
        """``rwxr-xr-x`` (the type letter left out, as ``Entry.perms`` holds it)."""
        return None if self.permissions is None else statmod.filemode(self.permissions)[1:]


def read_attrs(cursor: Cursor) -> Attrs:
    flags = cursor.u32()
    size = cursor.u64() if flags & A_SIZE else None
    uid = gid = None
    if flags & A_UIDGID:
        uid, gid = cursor.u32(), cursor.u32()
    permissions = cursor.u32() if flags & A_PERMISSIONS else None
    atime = mtime = None
    if flags & A_ACMODTIME:
        atime, mtime = cursor.u32(), cursor.u32()
    if flags & A_EXTENDED:
        count = cursor.u32()
        if count > cursor.left // 8:  # each pair is at least two empty strings
            raise ProtocolError("The server sent attributes with an impossible count")
        for _ in range(count):
            cursor.string(MAX_NAME)
            cursor.string()
    return Attrs(size, uid, gid, permissions, atime, mtime)


# --- replies ----------------------------------------------------------------------------


class Status(NamedTuple):
    code: int
    message: str


class Name(NamedTuple):
    """One entry of a NAME reply: the name as sent, the ``ls -l`` line, the attributes."""

    raw: bytes
    longname: bytes
    attrs: Attrs


class Version(NamedTuple):
    version: int
    extensions: dict[bytes, bytes]


def parse_version(payload: bytes) -> Version:
    """The server's VERSION packet (type byte first, no request id).

    Raises:
        ProtocolError: not a VERSION packet, a version other than 3, malformed extensions.
    """
    cursor = Cursor(payload, "VERSION packet")
    if cursor.u8() != VERSION_REPLY:
        raise ProtocolError("The server did not answer the SFTP greeting with its version")
    version = cursor.u32()
    if version != VERSION:
        raise ProtocolError(f"The server speaks SFTP version {version}; Ferryman speaks 3")
    extensions: dict[bytes, bytes] = {}
    while cursor.left:
        if len(extensions) >= MAX_EXTENSIONS:
            raise ProtocolError("The server announced too many SFTP extensions")
        name = cursor.string(MAX_NAME)
        extensions[name] = cursor.string(MAX_NAME)
    return Version(version, extensions)


def parse_status(cursor: Cursor) -> Status:
    code = cursor.u32()
    message = b""
    if cursor.left:  # some old servers send the code alone
        message = cursor.string(MAX_NAME)
        if cursor.left:
            cursor.string(MAX_NAME)  # language tag
    cursor.end()
    return Status(code, printable(message.decode("utf-8", "replace")))


def parse_names(cursor: Cursor) -> list[Name]:
    count = cursor.u32()
    if count > cursor.left // 12:  # two empty strings and empty attrs at the least
        raise ProtocolError(f"The server announced {count} names that cannot fit its packet")
    names = [Name(cursor.string(MAX_NAME), cursor.string(MAX_NAME), read_attrs(cursor))
             for _ in range(count)]  # fmt: skip
    cursor.end()
    return names


def parse_handle(cursor: Cursor) -> bytes:
    handle = cursor.string(MAX_HANDLE)
    cursor.end()
    return handle


def parse_data(cursor: Cursor, asked: int) -> memoryview:
    data = cursor.view()
    cursor.end()
    if len(data) > asked:
        raise ProtocolError(f"The server sent {len(data)} bytes where {asked} were asked for")
    return data


def is_eof(cursor: Cursor) -> bool:
    """Whether a STATUS reply is EOF (the cursor is left where it was otherwise)."""
    start = cursor.pos
    if cursor.left >= 4 and cursor.u32() == EOF:
        return True
    cursor.pos = start
    return False


def parse_reply(payload: bytes) -> tuple[int, int, Cursor]:
    """Split a reply packet's payload into (type, request id, cursor over the rest).

    Raises:
        ProtocolError: too short, or a type no server may send.
    """
    cursor = Cursor(payload, "reply")
    kind = cursor.u8()
    if kind not in REPLY_TYPES:
        raise ProtocolError(f"The server sent a packet of type {kind}, which is not a reply")
    return kind, cursor.u32(), cursor


def parse_limits(data: bytes) -> tuple[int, int, int, int]:
    """``limits@openssh.com``'s reply: max packet, read, write lengths and open handles
    (0 means no limit)."""
    cursor = Cursor(data, "limits reply")
    limits = (cursor.u64(), cursor.u64(), cursor.u64(), cursor.u64())
    cursor.end()
    return limits


def parse_statvfs(data: bytes) -> tuple[int, int]:
    """``statvfs@openssh.com``'s reply as (bytes free to the user, bytes in total)."""
    cursor = Cursor(data, "statvfs reply")
    bsize, frsize, blocks, _bfree, bavail = (cursor.u64() for _ in range(5))
    for _ in range(6):  # files, ffree, favail, fsid, flag, namemax
        cursor.u64()
    cursor.end()
    unit = frsize or bsize
    return bavail * unit, blocks * unit


def decode_name(raw: bytes, encoding: str = "utf-8") -> str:
    """A name from the server as ``str``, undecodable bytes kept as lone surrogates."""
    try:
        return raw.decode(encoding, "surrogateescape")
    except LookupError:  # an unknown charset in a saved site: the bytes still round-trip
        return raw.decode("utf-8", "surrogateescape")


def encode_name(name: str, encoding: str = "utf-8") -> bytes:
    try:
        return name.encode(encoding, "surrogateescape")
    except LookupError:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as error:
        raise InvalidName(f"{printable(name)!r} cannot be written in {encoding}") from error


def error_for_status(status: Status, action: str) -> FerrymanError:
    """The Ferryman error for a status other than OK, naming the action and the server's
    words (already made printable)."""
    said = f" ({status.message})" if status.message else ""
    reply = f"SFTP status {status.code}{said}"
    text = f"{action}{said}"
    if status.code == NO_SUCH_FILE:
        return NotFound(f"{action}: no such file or folder{said}", reply=reply)
    if status.code == PERMISSION_DENIED:
        return PermissionDenied(f"{action}: permission denied{said}", reply=reply)
    if status.code == OP_UNSUPPORTED:
        return NotSupported(f"{action}: the server does not support it{said}", reply=reply)
    if status.code in (NO_CONNECTION, CONNECTION_LOST):
        return ConnectionLost(f"{action}: the server lost its connection{said}", reply=reply)
    if status.code == BAD_MESSAGE:
        return ProtocolError(f"{action}: the server called the request malformed{said}",
                             reply=reply)  # fmt: skip
    lowered = status.message.lower()
    if "no space" in lowered or "quota" in lowered:
        return DiskFull(text, reply=reply)
    if "exists" in lowered:
        return AlreadyExists(text, reply=reply)
    return RemoteError(text, reply=reply)
