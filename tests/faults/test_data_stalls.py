"""Stalls on the data connection: a server that sends (or takes) a byte now and then, so no
read ever times out, yet nothing useful moves. The minimum-progress rule ends each one as a
dropped connection, which the engine reconnects and resumes from."""

from __future__ import annotations

import os
import time

import pytest

from tests.conftest import write
from tests.core.scripted import Script, ScriptedServer
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import ConnectionLost
from tui.remote.ftpio import MinimumProgress
from tui.transfer.copy import download_file
from tui.transfer.engine import RETRYABLE

TIMEOUT = 1.0
UNIX_LINE = b"-rw-r--r--   1 owner group 4 Jan 02  2024 file%04d.txt\r\n"


def open_fs(url: str, timeout: float = TIMEOUT, rule: MinimumProgress | None = None):
    service = ConnectionService(timeout=timeout, check_revocation=False, min_progress=rule)
    return service.open(url)


def test_download_one_byte_at_a_time__stalls_as_a_dropped_connection(tmp_path):
    # 100 bytes a second: every read gets a byte within the 1 s timeout, but less than
    # 1 KiB arrives in a whole timeout.
    script = Script(files={b"slow.bin": b"x" * 5000}, pace_data=0.01)
    with ScriptedServer(script) as server, open_fs(server.url()) as fs:
        started = time.monotonic()
        with pytest.raises(ConnectionLost, match="stalled") as caught:
            download_file(fs, "/slow.bin", str(tmp_path / "slow.bin"))
        assert time.monotonic() - started < 4 * TIMEOUT
        assert not fs.connected
    assert isinstance(caught.value, RETRYABLE)
    assert "less than 1 KiB in 1 s" in str(caught.value)


def test_listing_one_byte_at_a_time__stalls_as_a_dropped_connection():
    listing = b"".join(UNIX_LINE % n for n in range(100))
    with ScriptedServer(Script(listing=listing, pace_data=0.01)) as server:
        with open_fs(server.url()) as fs:
            started = time.monotonic()
            with pytest.raises(ConnectionLost, match="stalled"):
                fs.listdir("/")
            assert time.monotonic() - started < 4 * TIMEOUT
            assert not fs.connected


class FirstSendSlow(Script):
    """Trickles the first data connection only: the server recovers after a reconnect."""

    sends = 0

    @property  # type: ignore[override]
    def pace_data(self) -> float:
        self.sends += 1
        return 0.01 if self.sends == 1 else 0.0

    @pace_data.setter
    def pace_data(self, value: float) -> None:
        pass  # the dataclass's __init__ sets the field; the pace is the property's


def test_a_stall_mid_download__the_engine_reconnects_and_finishes(tmp_path, capsys):
    payload = os.urandom(5000)
    with ScriptedServer(FirstSendSlow(files={b"slow.bin": payload})) as server:
        started = time.monotonic()
        code = main(["get", server.url("slow.bin"), str(tmp_path / "out"), "--timeout", "1"])
        assert time.monotonic() - started < 5 * TIMEOUT
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "out").read_bytes() == payload
    assert server.received.count(b"RETR /slow.bin") == 2


def test_a_slow_link_above_the_configured_floor__is_not_a_stall(tmp_path):
    # 100 bytes a second against a floor of 10 bytes in half a second.
    rule = MinimumProgress.from_speed(20, 0.5)
    script = Script(files={b"slow.bin": b"y" * 80}, pace_data=0.01)
    with ScriptedServer(script) as server, open_fs(server.url(), rule=rule) as fs:
        download_file(fs, "/slow.bin", str(tmp_path / "slow.bin"))
    assert (tmp_path / "slow.bin").read_bytes() == b"y" * 80


def test_the_rule_turned_off__lets_a_trickle_finish(tmp_path):
    script = Script(files={b"slow.bin": b"z" * 80}, pace_data=0.01)
    with ScriptedServer(script) as server:
        with open_fs(server.url(), rule=MinimumProgress(0)) as fs:
            download_file(fs, "/slow.bin", str(tmp_path / "slow.bin"))
    assert (tmp_path / "slow.bin").read_bytes() == b"z" * 80


def test_a_throttled_real_server__stalls_as_a_dropped_connection(plain_server, root, tmp_path):
    """pyftpdlib's ThrottledDTPHandler sends 256 bytes, then pauses about 2 s: a real
    server whose reads never time out (2.5 s) but that moves less than 1 KiB in 2.5 s."""
    from pyftpdlib.handlers import ThrottledDTPHandler

    handler = plain_server._server.handler
    handler.dtp_handler = type("Slow", (ThrottledDTPHandler,), {"write_limit": 128})
    write(root, "big.bin", b"b" * 20_000)
    with open_fs(plain_server.url("ftp"), timeout=2.5) as fs:
        started = time.monotonic()
        with pytest.raises(ConnectionLost, match="stalled"):
            download_file(fs, "/big.bin", str(tmp_path / "big.bin"))
        assert time.monotonic() - started < 9


def test_speed_limit_and_speed_time_on_the_command_line__set_the_stall_rule(
    plain_server, root, capsys
):
    """curl's --speed-limit/--speed-time: a listing at ~128 B/s, which the default rule
    allows with a 30 s timeout (1 KiB in 30 s), is a stall with --speed-limit 4096
    --speed-time 0.5: one line, exit 3 (the session is dropped), in seconds."""
    from pyftpdlib.handlers import ThrottledDTPHandler

    handler = plain_server._server.handler
    limits = {"read_limit": 0, "write_limit": 128}
    handler.dtp_handler = type("Slow", (ThrottledDTPHandler,), limits)
    for number in range(100):
        write(root, f"file-with-a-long-name-{number:03d}.txt", b"x")
    started = time.monotonic()
    code = main(["ls", plain_server.url("ftp"), "--speed-limit", "4096", "--speed-time", "0.5"])
    assert code == 3
    err = capsys.readouterr().err
    assert "stalled (less than 2 KiB in 0.5 s)" in err and len(err.strip().splitlines()) == 1
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("flags", [["--speed-limit", "-1"], ["--speed-time", "0"]])
def test_a_speed_limit_that_makes_no_sense__is_a_usage_error(plain_server, flags, capsys):
    assert main(["ls", plain_server.url("ftp"), *flags]) == 2
    assert "--speed-limit" in capsys.readouterr().err
