"""LocalFS: the same interface on the local disk, with errors a user understands."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime

import pytest

from tui.errors import (
    AlreadyExists,
    DiskFull,
    InvalidName,
    IsADirectory,
    NotFound,
    PermissionDenied,
)
from tui.remote.base import EntryType, check_name
from tui.remote.local import LocalFS, os_error


def test_operations(tmp_path):
    fs = LocalFS(str(tmp_path))
    fs.mkdir("d")
    with pytest.raises(AlreadyExists):
        fs.mkdir("d")
    with fs.open_write("d/f") as writer:
        writer.write(b"0123456789")
    with fs.open_write("d/f", offset=4) as writer:
        writer.write(b"xy")
    with fs.open_write("d/f", append=True) as writer:
        writer.write(b"!")
    with fs.open_read("d/f", offset=2) as reader:
        assert reader.read() == b"23xy!"
    os.symlink("f", tmp_path / "d" / "link")
    entries = {entry.name: entry for entry in fs.listdir("d")}
    assert entries["f"].type is EntryType.FILE and entries["f"].size == 7
    assert (entries["link"].type, entries["link"].target) == (EntryType.LINK, "f")
    when = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    fs.set_mtime("d/f", when)
    assert fs.mtime("d/f") == when
    fs.rename("d/f", "d/g")
    assert fs.size("d/g") == 7
    with pytest.raises(NotFound):
        fs.stat("d/f")
    with pytest.raises(IsADirectory):
        fs.open_read("d")


def test_a_small_folder_is_listed_and_a_big_one_is_declined(tmp_path):
    for n in range(5):
        (tmp_path / f"f{n}").write_text("x" * n)
    os.symlink("f1", tmp_path / "link")
    fs = LocalFS(str(tmp_path))
    small = fs.listdir_if_small(".", 6)
    assert small is not None
    assert sorted((e.name, e.size, e.type) for e in small) == sorted(
        (e.name, e.size, e.type) for e in fs.listdir(".")
    )
    assert fs.listdir_if_small(".", 5) is None  # six entries: one over
    with pytest.raises(NotFound):
        fs.listdir_if_small("missing", 10)


@pytest.mark.parametrize(
    ("number", "error"),
    [
        (errno.EACCES, PermissionDenied),
        (errno.EROFS, PermissionDenied),
        (errno.ENOSPC, DiskFull),
        (errno.EDQUOT, DiskFull),
        (errno.ENOENT, NotFound),
        (errno.EEXIST, AlreadyExists),
    ],
)
def test_os_errors_map_to_what_the_user_needs(number, error):
    # Root (CI) ignores permissions, so the mapping is checked on the errors themselves.
    mapped = os_error(OSError(number, os.strerror(number)), "Cannot write /x")
    assert type(mapped) is error and mapped.message == f"Cannot write /x: {os.strerror(number)}"


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "a\\b", "nul\x00", "esc\x1b[2J"])
def test_unsafe_names_are_refused(name):
    with pytest.raises(InvalidName):
        check_name(name)


def test_ordinary_names_pass():
    assert check_name("naïve file (1).txt") == "naïve file (1).txt"
