"""The SFTP v3 wire parsers: whatever bytes a server sends become a packet or the project's
ProtocolError, never another exception; attributes round-trip; names decode without raising
and keep their bytes."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.errors import (
    AlreadyExists,
    ConnectionLost,
    DiskFull,
    NotFound,
    NotSupported,
    PermissionDenied,
    ProtocolError,
    RemoteError,
)
from tui.remote import sftpwire as wire
from tui.textsafe import printable

BOUNDED = settings(max_examples=200, deadline=None)
u32s = st.integers(0, 0xFFFFFFFF)
optional_u32 = st.none() | u32s


def _parse_any(payload: bytes) -> None:
    kind, _rid, cursor = wire.parse_reply(payload)
    if kind == wire.STATUS:
        wire.parse_status(cursor)
    elif kind == wire.NAME:
        wire.parse_names(cursor)
    elif kind == wire.ATTRS:
        wire.read_attrs(cursor)
        cursor.end()
    elif kind == wire.HANDLE:
        wire.parse_handle(cursor)
    elif kind == wire.DATA:
        wire.parse_data(cursor, 32768)


@BOUNDED
@given(st.binary(max_size=300))
def test_any_reply_bytes__parse_or_raise_protocol_error_only(payload):
    try:
        _parse_any(payload)
    except ProtocolError:
        pass


@BOUNDED
@given(st.sampled_from(sorted(wire.REPLY_TYPES)), u32s, st.binary(max_size=300))
def test_any_body_of_every_reply_type__parses_or_raises_protocol_error_only(kind, rid, body):
    try:
        _parse_any(bytes([kind]) + struct.pack(">I", rid) + body)
    except ProtocolError:
        pass


@BOUNDED
@given(st.binary(max_size=200))
def test_any_version_packet__parses_or_raises_protocol_error_only(payload):
    for candidate in (payload, b"\x02\x00\x00\x00\x03" + payload):
        try:
            wire.parse_version(candidate)
        except ProtocolError:
            pass


@BOUNDED
@given(st.binary(min_size=4, max_size=4))
def test_any_packet_header__is_a_bounded_length_or_protocol_error(header):
    try:
        length = wire.packet_length(header)
    except ProtocolError:
        return
    assert 1 <= length <= wire.MAX_PACKET


@BOUNDED
@given(st.none() | st.integers(0, 2**64 - 1), optional_u32, optional_u32, optional_u32,
       optional_u32, optional_u32)  # fmt: skip
def test_attributes__round_trip(size, uid, gid, permissions, atime, mtime):
    both_ids = uid is not None and gid is not None
    both_times = atime is not None and mtime is not None
    attrs = wire.Attrs(size, uid if both_ids else None, gid if both_ids else None, permissions,
                       atime if both_times else None, mtime if both_times else None)  # fmt: skip
    cursor = wire.Cursor(attrs.encode())
    assert wire.read_attrs(cursor) == attrs
    cursor.end()


@BOUNDED
@given(st.binary(max_size=100), st.sampled_from(["utf-8", "latin-1", "cp1252", "no-such"]))
def test_names__decode_without_raising_and_keep_their_bytes(raw, encoding):
    name = wire.decode_name(raw, encoding)
    assert wire.encode_name(name, encoding) == raw


@BOUNDED
@given(st.binary(max_size=100))
def test_status_messages__come_out_printable(message):
    body = struct.pack(">II", wire.FAILURE, len(message)) + message + b"\0\0\0\0"
    status = wire.parse_status(wire.Cursor(body))
    assert printable(status.message) == status.message  # nothing left to escape
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in status.message)


def test_a_name_count_larger_than_its_packet__is_a_protocol_error_at_once():
    with pytest.raises(ProtocolError, match="cannot fit"):
        wire.parse_names(wire.Cursor(struct.pack(">I", 0xFFFFFFFF)))


def test_a_string_longer_than_its_packet__is_a_protocol_error():
    with pytest.raises(ProtocolError, match="truncated"):
        wire.parse_handle(wire.Cursor(struct.pack(">I", 200) + b"x"))


def test_a_handle_over_256_bytes__is_a_protocol_error():
    with pytest.raises(ProtocolError, match="300-byte field"):
        wire.parse_handle(wire.Cursor(struct.pack(">I", 300) + b"x" * 300))


def test_data_longer_than_asked__is_a_protocol_error():
    with pytest.raises(ProtocolError, match="11 bytes where 10"):
        wire.parse_data(wire.Cursor(struct.pack(">I", 11) + b"x" * 11), 10)


def test_limits_and_statvfs_replies__parse():
    assert wire.parse_limits(struct.pack(">4Q", 1, 2, 3, 4)) == (1, 2, 3, 4)
    free, total = wire.parse_statvfs(struct.pack(">11Q", 4096, 1024, 100, 50, 40, *[0] * 6))
    assert (free, total) == (40 * 1024, 100 * 1024)


@pytest.mark.parametrize(("code", "message", "error"), [
    (wire.NO_SUCH_FILE, "No such file", NotFound),
    (wire.PERMISSION_DENIED, "Permission denied", PermissionDenied),
    (wire.OP_UNSUPPORTED, "Operation unsupported", NotSupported),
    (wire.CONNECTION_LOST, "", ConnectionLost),
    (wire.BAD_MESSAGE, "Bad message", ProtocolError),
    (wire.FAILURE, "No space left on device", DiskFull),
    (wire.FAILURE, "File exists", AlreadyExists),
    (wire.FAILURE, "Failure", RemoteError),
])  # fmt: skip
def test_status_codes__become_ferryman_errors_naming_the_action(code, message, error):
    found = wire.error_for_status(wire.Status(code, message), "Cannot do it")
    assert type(found) is error and str(found).startswith("Cannot do it")
    assert found.reply is not None and found.reply.startswith(f"SFTP status {code}")
