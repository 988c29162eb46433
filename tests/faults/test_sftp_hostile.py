"""A lying SFTP server (a scripted one: OpenSSH's sftp-server never tells these lies): replies
out of order, short reads, a read longer than asked, a reply to no request, a huge length
field, a status full of control characters, names that climb out of the folder, a version
other than 3, a server that stops answering. Each is answered correctly or refused with one
of Ferryman's errors; nothing lands outside the target folder."""

from __future__ import annotations

import os
import time

import pytest

from tests.faults import sftp_hostile_server as hostile
from tests.sftp_local import local_site, script_channel
from tui.errors import ConnectionLost, ListingFailed, ProtocolError, RemoteError
from tui.remote import sftp, sftpwire
from tui.remote.base import MinimumProgress
from tui.remote.sftp import SFTPFS
from tui.transfer.copy import download_file
from tui.transfer.queue import Direction, Job
from tui.transfer.walk import expand

SCRIPT = hostile.__file__


def lying(mode: str, timeout: float = 5.0) -> SFTPFS:
    return SFTPFS(local_site(), script_channel(SCRIPT, mode), timeout=timeout)


@pytest.mark.parametrize("mode", ["out-of-order", "short-reads", "plain"])
def test_replies_out_of_order_or_short__still_give_the_file_byte_for_byte(mode, tmp_path):
    with lying(mode) as fs:
        target = tmp_path / "data.bin"
        download_file(fs, "/srv/data.bin", str(target), expected_size=hostile.SIZE)
        assert target.read_bytes() == hostile.DATA
        assert fs.open_read("/srv/data.bin", 12345).read() == hostile.DATA[12345:]


def test_a_read_longer_than_asked__is_a_protocol_error_and_the_target_is_not_made(tmp_path):
    with lying("long-read") as fs:
        with pytest.raises(ProtocolError, match="where .* were asked for"):
            download_file(fs, "/srv/data.bin", str(tmp_path / "x"), expected_size=hostile.SIZE)
    assert "x" not in os.listdir(tmp_path)  # only the partial file, for a proven resume


def test_a_reply_to_no_request__is_a_protocol_error_that_ends_the_session(tmp_path):
    with lying("unknown-id") as fs:
        with pytest.raises(ProtocolError, match="never made"):
            fs.open_read("/srv/data.bin").read()
        assert not fs.connected


def test_a_huge_length_field__is_refused_before_anything_is_allocated():
    with pytest.raises(ProtocolError, match="announced a 4294967280-byte packet"):
        lying("huge-length")


def test_a_version_other_than_3__is_refused():
    with pytest.raises(ProtocolError, match="SFTP version 4"):
        lying("version-4")


def test_a_status_with_control_characters__reaches_the_user_escaped():
    with lying("status-control") as fs:
        with pytest.raises(RemoteError) as refused:
            fs.stat("/srv/data.bin")
    message = str(refused.value)
    assert "\x1b" not in message and "\r" not in message and "\n" not in message
    assert "\\x1b[2J" in message and "\\x07" in message


def test_names_that_climb_out__are_skipped_and_nothing_lands_outside_the_target(tmp_path):
    target = tmp_path / "inside" / "copy"
    target.parent.mkdir()
    with lying("evil-names") as fs:
        names = [entry.name for entry in fs.listdir("/srv")]
        assert "." not in names and ".." not in names
        job = Job(Direction.DOWNLOAD, "/srv", str(target), is_dir=True)
        children = expand(job, fs)
    assert sorted(os.path.basename(child.target) for child in children) == [
        "caf\udce9.txt",
        "ok.txt",
    ]
    assert all(os.path.dirname(child.target) == str(target) for child in children)
    assert os.listdir(tmp_path) == ["inside"] and os.listdir(tmp_path / "inside") == ["copy"]


def test_a_server_that_stops_answering__is_connection_lost_after_the_timeout():
    with lying("stall", timeout=0.5) as fs:
        started = time.monotonic()
        with pytest.raises(ConnectionLost, match="did not answer within 0.5 s"):
            fs.open_read("/srv/data.bin").read()
        assert time.monotonic() - started < 2.0 and not fs.connected


def test_a_listing_of_empty_batches_that_never_ends__is_listing_failed():
    with lying("endless-empty") as fs:
        with pytest.raises(ListingFailed, match="empty batch"):
            fs.listdir("/srv")
        assert fs.connected


def test_a_listing_that_never_ends__is_listing_failed_at_the_bound(monkeypatch):
    monkeypatch.setattr(sftp, "MAX_ENTRIES", 1000)
    with lying("endless-names") as fs:
        with pytest.raises(ListingFailed, match="more than 1000 entries"):
            fs.listdir("/srv")


def test_a_server_that_stops_reading__is_connection_lost_after_the_timeout():
    with lying("deaf", timeout=0.5) as fs:
        started = time.monotonic()
        with pytest.raises(ConnectionLost, match="did not answer within 0.5 s|stalled"):
            for _ in range(100):  # far more than the pipe and the outbox hold
                fs.client.send(sftpwire.WRITE, b"", bytes(1 << 20))
        assert time.monotonic() - started < 3.0


def test_a_server_that_trickles_a_byte_at_a_time__is_dropped_as_stalled():
    rule = MinimumProgress(min_bytes=1024, seconds=0.5)
    fs = SFTPFS(local_site(), script_channel(SCRIPT, "trickle"), timeout=2.0, min_progress=rule)
    with fs:
        started = time.monotonic()
        with pytest.raises(ConnectionLost, match="stalled .less than 1 KiB in 0.5 s"):
            fs.open_read("/srv/data.bin").read()
        assert time.monotonic() - started < 2.0 and not fs.connected
