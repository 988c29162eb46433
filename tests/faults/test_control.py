"""Faults on the control connection: servers that answer too slowly, without end, or in
something that is not FTP, and command arguments that could smuggle in a second command.

Each case ends as one clear error (a ``FerrymanError``), in bounded time and memory.
"""

from __future__ import annotations

import time

import pytest

from tests.core.scripted import Script, ScriptedServer
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import (
    ConnectFailed,
    ConnectionLost,
    InvalidName,
    ProtocolError,
)
from tui.transfer.engine import RETRYABLE

TIMEOUT = 1.0


def open_fs(server: ScriptedServer, timeout: float = TIMEOUT):
    return ConnectionService(timeout=timeout, check_revocation=False).open(server.url())


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    assert "Traceback" not in error
    return error


# --- deadlines -----------------------------------------------------------------------------


def test_greeting_one_byte_at_a_time__ends_at_the_reply_deadline():
    # 200 bytes at 20 a second: every read gets a byte well within the 1 s idle timeout,
    # so only a deadline for the whole reply ends it.
    script = Script(greeting=b"220 " + b"x" * 200 + b"\r\n", pace=0.05)
    with ScriptedServer(script) as server:
        started = time.monotonic()
        with pytest.raises((ConnectionLost, ConnectFailed), match="not complete within"):
            open_fs(server)
        assert time.monotonic() - started < 4 * TIMEOUT


def test_greeting_one_220_line_at_a_time__ends_at_the_reply_deadline():
    script = Script(greeting=b"220-welcome\r\n", endless=b"220-more\r\n", pace=0.005)
    with ScriptedServer(script) as server:
        started = time.monotonic()
        with pytest.raises((ConnectionLost, ConnectFailed), match="not complete within"):
            open_fs(server)
        assert time.monotonic() - started < 4 * TIMEOUT


def test_reply_one_byte_at_a_time__ends_at_the_reply_deadline(capsys):
    script = Script(replies={b"PWD": b'257 "/' + b"x" * 200 + b'"\r\n'}, pace=0.05)
    with ScriptedServer(script) as server:
        started = time.monotonic()
        code = main(["ls", server.url(), "--timeout", str(TIMEOUT)])
        assert time.monotonic() - started < 4 * TIMEOUT
    assert code == 3
    assert "not complete within" in one_error_line(capsys)


def test_a_slow_reply__is_a_dropped_connection_the_engine_retries():
    script = Script(replies={b"SYST": b"215 UNIX" + b" " * 100 + b"\r\n"}, pace=0.05)
    with ScriptedServer(script) as server:
        with pytest.raises(RETRYABLE) as caught:
            open_fs(server)
    assert isinstance(caught.value, ConnectionLost)


def test_a_multiline_syst_reply_that_never_ends__is_one_error_line(capsys):
    with ScriptedServer(Script(replies={b"SYST": b"215-UNIX\r\n"})) as server:
        assert main(["ls", server.url(), "--timeout", "0.5"]) == 3
    assert "did not answer within 0.5 s" in one_error_line(capsys)


def test_plaintext_after_auth_tls__is_refused_as_an_injection():
    script = Script(replies={b"AUTH": b"234 go ahead\r\n230 injected in the clear\r\n"})
    with ScriptedServer(script) as server:
        service = ConnectionService(timeout=TIMEOUT, check_revocation=False)
        with pytest.raises(ProtocolError, match="unencrypted data after AUTH TLS"):
            service.open(server.url(scheme="ftpes"))
    assert not any(line.startswith((b"USER", b"PASS")) for line in server.received)


# --- memory bounds -------------------------------------------------------------------------


def test_endless_multiline_greeting__refused_past_the_bound(capsys):
    script = Script(greeting=b"220-welcome\r\n", endless=b"220-" + b"y" * 200 + b"\r\n")
    with ScriptedServer(script) as server:
        started = time.monotonic()
        code = main(["ls", server.url(), "--timeout", "5"])
        assert time.monotonic() - started < 5
    assert code == 3
    assert "reply longer than" in one_error_line(capsys)


def test_endless_multiline_feat__refused_past_the_bound():
    feat = b"211-Features:\r\n" + b" SIZE\r\n" * 20_000 + b"211 End\r\n"
    with ScriptedServer(Script(replies={b"FEAT": feat})) as server:
        with pytest.raises(ProtocolError, match="reply longer than"):
            open_fs(server, timeout=5)


@pytest.mark.parametrize("verb", [b"STAT", b"HELP"])
def test_endless_stat_or_help__refused_and_the_session_dropped(verb):
    endless = b"211-Status:\r\n" + b" line\r\n" * 20_000 + b"211 End\r\n"
    with ScriptedServer(Script(replies={verb: endless})) as server, open_fs(server) as fs:
        with pytest.raises(ProtocolError, match="reply longer than"):
            fs._command(verb.decode(), "Cannot ask")
        assert not fs.connected  # out of step: never used again


def test_endless_reply_line__refused_past_the_line_bound():
    script = Script(greeting=b"220 " + b"z" * 200_000 + b"\r\n")
    with ScriptedServer(script) as server:
        with pytest.raises(ProtocolError, match="line longer than"):
            open_fs(server, timeout=5)


# --- malformed replies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "reply"),
    [
        (b"EPSV", b"229 Entering Extended Passive Mode (|||99999|)\r\n"),
        (b"EPSV", b"229 Entering Extended Passive Mode (|||abc|)\r\n"),
        (b"EPSV", b"229 Entering Extended Passive Mode (|||-21|)\r\n"),
        (b"EPSV", b"229 Entering Extended Passive Mode (|||0|)\r\n"),
        (b"EPSV", b"229 Entering Extended Passive Mode (||||)\r\n"),
        (b"EPSV", b"229 Entering Extended Passive Mode (|||\xb2\xb3|)\r\n"),
        (b"PASV", b"227 Entering Passive Mode (127,0,0,1,300,1)\r\n"),
        (b"PASV", b"227 Entering Passive Mode (127,0,0,1,4)\r\n"),
        (b"PASV", b"227 Entering Passive Mode (127,0,0,1,0,0)\r\n"),
        (b"PASV", b"227 Entering Passive Mode (127,0,0,1,x,1)\r\n"),
        (b"PASV", b"227 Entering Passive Mode (127,0,0,1,-1,80)\r\n"),
    ],
    ids=[
        "epsv-too-large",
        "epsv-letters",
        "epsv-negative",
        "epsv-zero",
        "epsv-empty",
        "epsv-superscripts",
        "pasv-octet-too-large",
        "pasv-five-numbers",
        "pasv-zero",
        "pasv-letters",
        "pasv-negative",
    ],
)
def test_malformed_passive_reply__is_one_protocol_error(verb, reply, capsys):
    replies = {verb: reply}
    if verb == b"PASV":
        replies[b"EPSV"] = b"502 no EPSV here\r\n"
    with ScriptedServer(Script(replies=replies)) as server:
        with open_fs(server) as fs, pytest.raises(ProtocolError, match="Malformed"):
            fs.listdir("/")
        assert main(["ls", server.url(), "--timeout", str(TIMEOUT)]) == 3
    assert "Malformed" in one_error_line(capsys)


@pytest.mark.parametrize(
    ("verb", "reply", "call"),
    [
        (b"SIZE", b"213 \xb2\xb3\r\n", "size"),
        (b"SIZE", b"213 -5\r\n", "size"),
        (b"SIZE", b"213 99999999999999999999999999\r\n", "size"),
        (b"MDTM", b"213 20241399000000\r\n", "mtime"),
        (b"MDTM", b"213 2024010100000\xb2\r\n", "mtime"),
        (b"MDTM", b"213 20240101000000.\xb2\r\n", "mtime"),
    ],
    ids=[
        "size-superscripts",
        "size-negative",
        "size-huge",
        "mdtm-month-13",
        "mdtm-superscript",
        "mdtm-fraction",
    ],
)
def test_malformed_size_or_time__is_one_protocol_error(verb, reply, call):
    with ScriptedServer(Script(replies={verb: reply})) as server, open_fs(server) as fs:
        with pytest.raises(ProtocolError, match="Malformed"):
            getattr(fs, call)("/file.bin")


@pytest.mark.parametrize(
    "digest",
    ["abc", "g" * 64, "a" * 63, "\u0661" * 64],
    ids=["short", "not-hex", "one-short", "arabic-digits"],
)
def test_a_hash_reply_without_a_digest__is_one_protocol_error(digest):
    with ScriptedServer(Script(hash_digest=digest)) as server, open_fs(server) as fs:
        with pytest.raises(ProtocolError, match="digest"):
            fs.checksum("/file.bin")


@pytest.mark.parametrize(
    "reply",
    [b"2x7 odd\r\n", b"\xb2\xb5\xb7 odd\r\n", b"600 out of range\r\n", b"25\r\n", b"257odd\r\n"],
    ids=["letter", "superscripts", "class-6", "two-digits", "no-separator"],
)
def test_a_reply_code_that_is_not_three_digits__is_one_protocol_error(reply):
    with ScriptedServer(Script(replies={b"PWD": reply})) as server:
        with pytest.raises(ProtocolError, match="malformed reply"):
            open_fs(server)


def test_feat_lines_that_make_no_sense__are_ignored():
    feat = (
        b"211-Features:\r\n SIZE\r\n \x00\x01junk\r\n HASH ;;;\xff\r\n MLST \r\n"
        b"  \r\n UTF8\r\n211 End\r\n"
    )
    with ScriptedServer(Script(replies={b"FEAT": feat})) as server, open_fs(server) as fs:
        caps = fs.capabilities
    assert "SIZE" in caps.features and caps.utf8
    assert all(name.isascii() and name.isprintable() for name in caps.features)
    assert caps.hashes == []


# --- command arguments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "password", ["pa%0D%0ADELE%20x", "pa%0Ass", "pa%00ss"], ids=["crlf", "lf", "nul"]
)
def test_a_password_with_a_line_break__is_refused_before_anything_is_sent(password, capsys):
    with ScriptedServer(Script()) as server:
        url = f"ftp://user:{password}@127.0.0.1:{server.port}/"
        assert main(["ls", url, "--timeout", str(TIMEOUT)]) == 2
    error = one_error_line(capsys)
    assert "password" in error and "pa" not in error.replace("password", "")
    assert not any(line.startswith((b"USER", b"PASS", b"DELE")) for line in server.received)


def test_a_user_name_with_a_line_break__is_refused_before_anything_is_sent(capsys):
    with ScriptedServer(Script()) as server:
        url = f"ftp://us%0D%0ADELE%20x:secret@127.0.0.1:{server.port}/"
        assert main(["ls", url, "--timeout", str(TIMEOUT)]) == 2
    assert "user name" in one_error_line(capsys)
    assert not any(line.startswith((b"USER", b"PASS", b"DELE")) for line in server.received)


@pytest.mark.parametrize("argument", ["a\r\nDELE b", "a\nb", "a\rb", "a\x00b"])
def test_a_command_argument_with_a_line_break__is_refused_and_nothing_sent(argument):
    with ScriptedServer(Script()) as server, open_fs(server) as fs:
        before = list(server.received)
        with pytest.raises(InvalidName, match="line break or NUL"):
            fs.control.sendcmd(f"CWD {argument}")
        with pytest.raises(InvalidName):
            fs.listdir("/" + argument)
        assert fs.control.sendcmd("SYST").startswith("215")  # the session is still in step
        assert server.received[len(before) :] == [b"SYST"]
