"""How downloads reach the disk: small aligned writes, short writes continued, blocks
reserved before the first byte."""

from __future__ import annotations

import ctypes
import errno
import os

import pytest

from tests.conftest import write
from tui.connection import ConnectionService
from tui.errors import DiskFull
from tui.transfer import disk
from tui.transfer.copy import download_file, part_path
from tui.transfer.disk import WRITE_PIECE, reserve, write_at
from tui.transfer.segments import download_segmented

MiB = 1024 * 1024


@pytest.fixture
def writes(monkeypatch):
    """Every (offset, length) the code under test hands to os.pwrite, in order."""
    seen: list[tuple[int, int]] = []
    real = os.pwrite

    def recording(fd, data, offset):
        seen.append((offset, len(data)))
        return real(fd, data, offset)

    monkeypatch.setattr(disk.os, "pwrite", recording)
    return seen


def assert_small_and_aligned(seen: list[tuple[int, int]]) -> None:
    assert seen
    for offset, length in seen:
        assert 0 < length <= WRITE_PIECE
        assert offset // WRITE_PIECE == (offset + length - 1) // WRITE_PIECE, (offset, length)


def test_write_at_writes_everything_in_aligned_pieces(tmp_path, writes):
    data = os.urandom(5 * WRITE_PIECE + 777)
    descriptor = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        write_at(descriptor, data, 1000)  # an unaligned start: the first piece ends at 32 KiB
    finally:
        os.close(descriptor)
    assert (tmp_path / "f").read_bytes() == bytes(1000) + data
    assert_small_and_aligned(writes)
    assert writes[0] == (1000, WRITE_PIECE - 1000)
    assert sum(length for _, length in writes) == len(data)


def test_write_at_continues_a_short_write_and_stops_on_none(tmp_path, monkeypatch):
    real = os.pwrite
    monkeypatch.setattr(disk.os, "pwrite", lambda fd, data, at: real(fd, data[:1000], at))
    data = os.urandom(70_000)
    descriptor = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        write_at(descriptor, data, 0)
        assert (tmp_path / "f").read_bytes() == data  # every byte, none counted twice
        monkeypatch.setattr(disk.os, "pwrite", lambda fd, data, at: 0)
        with pytest.raises(OSError):
            write_at(descriptor, b"x" * 10, 0)  # an error, not an endless loop
    finally:
        os.close(descriptor)


def test_reserve_allocates_the_blocks_and_keeps_what_is_there(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"kept" + bytes(100) + b"tail cut off")
    descriptor = os.open(path, os.O_RDWR)
    try:
        reserve(descriptor, 104)
        assert path.read_bytes() == b"kept" + bytes(100)  # a longer file loses its tail
        reserve(descriptor, 8 * MiB)
        status = os.fstat(descriptor)
    finally:
        os.close(descriptor)
    assert status.st_size == 8 * MiB
    assert status.st_blocks * 512 >= 8 * MiB  # allocated, not a sparse file
    assert path.read_bytes()[:4] == b"kept"


def failing_fallocate(code: int):
    def fallocate(fd: int, mode: int, offset: int, length: int) -> int:
        ctypes.set_errno(code)
        return -1

    return lambda: fallocate


def test_reserve_falls_back_to_a_sparse_file_where_fallocate_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(disk, "_fallocate", failing_fallocate(errno.EOPNOTSUPP))
    descriptor = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        reserve(descriptor, 8 * MiB)
        status = os.fstat(descriptor)
    finally:
        os.close(descriptor)
    assert status.st_size == 8 * MiB and status.st_blocks * 512 < MiB


def test_downloads_reach_the_disk_in_small_aligned_writes(plain_server, root, tmp_path, writes):
    payload = os.urandom(3 * MiB + 4321)
    write(root, "p.bin", payload)
    service = ConnectionService(timeout=10, check_revocation=False)
    with service.open(plain_server.url("ftp")) as fs:
        download_file(fs, "/p.bin", str(tmp_path / "one.bin"))
        assert_small_and_aligned(writes)
        writes.clear()
        opener = lambda: service.open(plain_server.url("ftp"))  # noqa: E731
        download_segmented(fs, opener, "/p.bin", str(tmp_path / "four.bin"),
                           size=len(payload), segments=4)  # fmt: skip
    assert_small_and_aligned(writes)
    assert (tmp_path / "one.bin").read_bytes() == payload
    assert (tmp_path / "four.bin").read_bytes() == payload


def test_a_full_disk_stops_a_segmented_download_before_its_first_byte(
    plain_server, root, tmp_path, monkeypatch, writes
):
    write(root, "p.bin", os.urandom(2 * MiB))
    monkeypatch.setattr(disk, "_fallocate", failing_fallocate(errno.ENOSPC))
    service = ConnectionService(timeout=10, check_revocation=False)
    opened = []

    def opener():
        opened.append(1)
        return service.open(plain_server.url("ftp"))

    target = tmp_path / "p.bin"
    with service.open(plain_server.url("ftp")) as fs, pytest.raises(DiskFull) as failure:
        download_segmented(fs, opener, "/p.bin", str(target), size=2 * MiB, segments=4)
    assert str(target.with_name(part_path("p.bin"))) in str(failure.value)
    assert not writes and not opened  # nothing fetched, no extra session opened
    assert not target.exists()
    assert os.path.getsize(target.with_name(part_path("p.bin"))) == 0  # the space given back
