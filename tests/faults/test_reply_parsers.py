"""Parsers of server text on the control connection, against arbitrary input: reply framing,
EPSV/PASV ports, SIZE, MDTM, FEAT, digests, and the command-line check. Each either returns
a valid value or raises the project's own error, and never holds more than its bound."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from tui.errors import InvalidName, ProtocolError, UsageError
from tui.remote.ftpcontrol import Control
from tui.remote.ftpreply import ReplyFramer, check_sendable, is_reply_start
from tui.remote.replies import (
    MAX_FILE_SIZE,
    hash_names,
    parse_digest,
    parse_epsv,
    parse_features,
    parse_mdtm,
    parse_pasv,
    parse_size,
)

BOUNDED = settings(max_examples=200, deadline=None)
LINE, LINES, BYTES = 64, 8, 256  # small limits, so the examples reach them

# Bytes that look like FTP often enough to reach past the first line.
ftp_bytes = st.lists(
    st.one_of(
        st.sampled_from([b"220", b"220-", b"220 ", b"211-", b"211 ", b"\r\n", b"\n", b"\r", b"-"]),
        st.binary(max_size=40),
    ),
    max_size=40,
).map(b"".join)
chunk_sizes = st.lists(st.integers(1, 50), min_size=1, max_size=10)


def chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    parts, index, turn = [], 0, 0
    while index < len(data):
        size = sizes[turn % len(sizes)]
        parts.append(data[index : index + size])
        index, turn = index + size, turn + 1
    return parts


def assert_well_formed(reply: str) -> None:
    lines = reply.split("\n")
    assert is_reply_start(lines[0])
    assert all(len(line) <= LINE for line in lines)
    assert len(lines) <= LINES + 1 and sum(len(line) + 1 for line in lines) <= BYTES + LINE + 1
    if lines[0][3:4] == "-":
        assert len(lines) >= 2
        assert lines[-1][:3] == lines[0][:3] and lines[-1][3:4] in ("", " ")
    else:
        assert len(lines) == 1


# --- framing -------------------------------------------------------------------------------


@BOUNDED
@given(ftp_bytes, chunk_sizes)
@example(b"220-a\r\n" + b"220-b\r\n" * 20, [7])
@example(b"2x0 hi\r\n", [3])
@example(b"220 " + b"z" * 200, [50])
def test_framing_any_byte_stream__well_formed_replies_or_protocol_error(data, sizes):
    framer = ReplyFramer("test", max_line=LINE, max_lines=LINES, max_bytes=BYTES)
    try:
        for part in chunks(data, sizes):
            framer.feed(part)
            while (reply := framer.next_reply()) is not None:
                assert_well_formed(reply)
            assert framer.held <= BYTES + LINE + 2 + max(sizes)
    except ProtocolError as error:
        assert str(error).startswith("test sent a")


reply_text = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=20)
codes = st.integers(100, 599).map(str)


@st.composite
def replies(draw: st.DrawFn) -> str:
    code = draw(codes)
    middle = draw(st.lists(reply_text, max_size=4))
    last = f"{code} {draw(reply_text)}"
    if not middle:
        return last
    # A middle line may not end the reply early: it must not be the code and a space.
    middle = [line for line in middle if not (line[:3] == code and line[3:4] in ("", " "))]
    return "\n".join([f"{code}-{draw(reply_text)}", *middle, last])


@BOUNDED
@given(st.lists(replies(), min_size=1, max_size=5), chunk_sizes, st.booleans())
def test_framing_well_formed_replies__come_back_unchanged(sent, sizes, crlf):
    end = "\r\n" if crlf else "\n"
    data = "".join(reply.replace("\n", end) + end for reply in sent).encode("latin-1")
    framer = ReplyFramer("test")
    got = []
    for part in chunks(data, sizes):
        framer.feed(part)
        while (reply := framer.next_reply()) is not None:
            got.append(reply)
    assert got == sent
    assert not framer.pending


@settings(max_examples=60, deadline=None)
@given(ftp_bytes)
def test_the_control_reader_on_a_socket__a_reply_or_the_projects_error(data):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(data)
        theirs.shutdown(socket.SHUT_WR)
        control = Control(timeout=1.0)
        control.host, control.port = "test", 21
        control._attach(ours)
        try:
            while True:
                assert is_reply_start(control.getmultiline())
        except (ProtocolError, EOFError):
            pass  # EOFError: the stream ended, which the callers report as a lost connection


# --- passive ports -------------------------------------------------------------------------


def only_protocol_errors(parse, text):  # type: ignore[no-untyped-def]
    try:
        return parse(text)
    except ProtocolError:
        return None


ascii_or_not = st.text(st.characters(codec="latin-1"), max_size=60)


@BOUNDED
@given(st.one_of(ascii_or_not, ascii_or_not.map(lambda text: "229 (" + text)))
@example("229 (|||²|)")
@example("229 (|||99999999999999999999999|)")
def test_epsv_any_text__a_port_in_range_or_protocol_error(text):
    port = only_protocol_errors(parse_epsv, text)
    assert port is None or (type(port) is int and 0 < port <= 65535)


@BOUNDED
@given(st.integers(1, 65535), st.sampled_from("|!#$%&~"), reply_text)
def test_epsv_round_trip(port, delimiter, text):
    text = text.replace("(", "").replace(")", "")
    reply = f"229 {text} ({delimiter * 3}{port}{delimiter})"
    assert parse_epsv(reply) == port


@BOUNDED
@given(st.one_of(ascii_or_not, ascii_or_not.map(lambda text: "227 (" + text)))
@example("227 (127,0,0,1,256,0)")
@example("227 (1,2,3,4,5,6,7)")
def test_pasv_any_text__a_port_in_range_or_protocol_error(text):
    port = only_protocol_errors(parse_pasv, text)
    assert port is None or (type(port) is int and 0 < port <= 65535)


@BOUNDED
@given(st.lists(st.integers(0, 255), min_size=6, max_size=6), st.booleans())
def test_pasv_round_trip(numbers, parentheses):
    listed = ",".join(map(str, numbers))
    reply = f"227 Entering Passive Mode ({listed})" if parentheses else f"227 Passive {listed}"
    port = numbers[4] * 256 + numbers[5]
    if port == 0:
        with pytest.raises(ProtocolError):
            parse_pasv(reply)
    else:
        assert parse_pasv(reply) == port


# --- SIZE and MDTM -------------------------------------------------------------------------


@BOUNDED
@given(st.one_of(ascii_or_not, ascii_or_not.map(lambda text: "213 " + text)))
@example("213 ²")
@example("213 ٣")
@example("213 9223372036854775808")
def test_size_any_text__ascii_digits_in_range_or_protocol_error(text):
    size = only_protocol_errors(parse_size, text)
    assert size is None or (type(size) is int and 0 <= size <= MAX_FILE_SIZE)
    if size is not None:
        assert text[4:].strip().isascii()


@BOUNDED
@given(st.integers(0, MAX_FILE_SIZE))
def test_size_round_trip(size):
    assert parse_size(f"213 {size}") == size


@BOUNDED
@given(st.one_of(ascii_or_not, ascii_or_not.map(lambda text: "213 2024" + text)))
@example("213 20241301000000")
@example("213 20240230000000")
@example("213 2024010100000²")
def test_mdtm_any_text__a_real_utc_time_or_protocol_error(text):
    stamp = only_protocol_errors(parse_mdtm, text)
    assert stamp is None or (isinstance(stamp, datetime) and stamp.tzinfo is UTC)


@BOUNDED
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_mdtm_round_trip(when):
    stamp = when.strftime("%Y%m%d%H%M%S").rjust(14, "0")
    millis = f"{when.microsecond // 1000:03d}"
    parsed = parse_mdtm(f"213 {stamp}.{millis}")
    assert parsed == when.replace(microsecond=int(millis) * 1000, tzinfo=UTC)


# --- FEAT and digests ----------------------------------------------------------------------


@BOUNDED
@given(st.lists(ascii_or_not, max_size=8))
def test_feat_any_lines__only_plain_names_and_printable_arguments(lines):
    features = parse_features("\n".join(["211-Features:", *lines, "211 End"]))
    for name, argument in features.items():
        assert name.isascii() and name.replace("-", "").replace(".", "").replace("_", "").isalnum()
        assert argument.isprintable()
    for name in hash_names(features.get("HASH", "")):
        assert name.isascii() and name == name.upper() and "*" not in name


@BOUNDED
@given(
    st.dictionaries(
        st.from_regex(r"[A-Z][A-Z0-9]{0,8}", fullmatch=True),
        st.from_regex(r"[a-zA-Z0-9;*.=-]{0,20}", fullmatch=True),
        max_size=6,
    )
)
def test_feat_round_trip(offered):
    lines = [f" {name} {argument}".rstrip() for name, argument in offered.items()]
    assert parse_features("\n".join(["211-Features:", *lines, "211 End"])) == offered


@BOUNDED
@given(
    st.one_of(ascii_or_not, ascii_or_not.map(lambda text: "213 " + text)),
    st.sampled_from([32, 40, 64]),
)
@example("213 " + "\u0661" * 64, 64)
def test_digest_any_text__ascii_hex_of_the_length_or_protocol_error(text, length):
    digest = only_protocol_errors(lambda reply: parse_digest(reply, length), text)
    if digest is not None:
        assert len(digest) == length and digest.isascii() and int(digest, 16) >= 0


@BOUNDED
@given(st.binary(min_size=32, max_size=32), st.booleans())
def test_digest_round_trip(raw, upper):
    digest = raw.hex().upper() if upper else raw.hex()
    assert parse_digest(f"213 SHA-256 0-99 {digest} /file.bin", 64) == raw.hex()


# --- command lines -------------------------------------------------------------------------


@BOUNDED
@given(st.sampled_from(["PASS", "USER", "ACCT", "CWD", "RETR", "STOR"]), st.text(max_size=30))
def test_command_line_check__refuses_exactly_cr_lf_nul_and_never_shows_a_password(verb, value):
    line = f"{verb} {value}"
    unsendable = any(character in value for character in "\r\n\x00")
    try:
        check_sendable(line)
    except (UsageError, InvalidName) as error:
        assert unsendable
        if verb == "PASS":
            assert value not in str(error)
    else:
        assert not unsendable


# --- a whole session against arbitrary replies ---------------------------------------------

VERBS = [b"USER", b"PASS", b"FEAT", b"PWD", b"TYPE", b"SYST", b"EPSV", b"PASV", b"SIZE", b"MDTM",
         b"CWD", b"LIST", b"RETR", b"OPTS", b"QUIT"]  # fmt: skip
plausible = st.sampled_from(
    [b"200 ok", b"213 12", b"213 \xb2", b"229 (|||0|)", b"227 (1,2,3,4,5)", b"211-x\r\n211 y",
     b"257 \"/\"", b"530 no", b"421 bye", b"150 go", b"999 what", b"2", b"\x00\xff"]
)  # fmt: skip
line_ended = st.one_of(plausible, st.binary(max_size=30)).map(
    lambda reply: reply.replace(b"\n", b"") + b"\r\n"
)


@pytest.fixture(scope="module")
def lying_server():  # type: ignore[no-untyped-def]
    from tests.core.scripted import Script, ScriptedServer

    listing = b"-rw-r--r--   1 owner group 4 Jan 02  2024 a.bin\r\n"
    with ScriptedServer(Script(files={b"a.bin": b"data"}, listing=listing)) as server:
        yield server


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from(VERBS), line_ended, max_size=3))
@example(replies={b"SYST": b"211-x\r\n"})  # never ends: a timeout, once a traceback
@example(replies={b"SYST": b"211-x\r211 y\r\n"})  # a bare CR ends no line
def test_a_session_against_arbitrary_replies__works_or_one_ferryman_error(lying_server, replies):
    from tui.connection import ConnectionService
    from tui.errors import FerrymanError

    lying_server.script.replies = replies
    try:
        service = ConnectionService(timeout=0.3, check_revocation=False)
        with service.open(lying_server.url()) as fs:
            fs.size("/a.bin")
            fs.listdir("/")
            with fs.open_read("/a.bin") as reader:
                reader.read()
            fs.mtime("/a.bin")
    except FerrymanError as error:
        event(type(error).__name__)
    else:
        event("worked")
