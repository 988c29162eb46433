"""Temporary names are Ferryman's alone: a leftover ``.NAME.ferryman-part`` (or its record) in
a tree being copied is skipped, never copied onto another job's temporary file, and two
transfers never write through the same temporary path."""

from __future__ import annotations

import os

import pytest

from tests.conftest import files_under, write
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import TransferFailed
from tui.transfer.copy import download_file, is_temporary_name, part_name, part_path

MiB = 1024 * 1024


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_get_r_with_a_leftover_part_beside_its_file__skips_the_leftover(
    plain_server, root, tmp_path, capsys, jobs
):
    real, leftover = os.urandom(MiB), os.urandom(MiB // 2)
    write(root, "tree/data.bin", real)
    write(root, "tree/.data.bin.ferryman-part", leftover)  # an interrupted upload's
    write(root, "tree/.data.bin.ferryman-part.segments", b"{}")
    out = tmp_path / "out"
    out.mkdir()
    for _ in range(2):  # and again with --resume, which must not build on the leftover
        args = ["get", "-r", "-j", jobs, plain_server.url("ftp", "tree"), str(out)]
        assert main(args if _ == 0 else [*args[:1], "--resume", *args[1:]]) == 0
        assert files_under(out) == {os.path.join("tree", "data.bin"): real}
    assert "Ferryman's temporary file" in capsys.readouterr().err


def test_put_r_with_a_local_leftover_part__skips_the_leftover(plain_server, root, tmp_path, capsys):
    real = os.urandom(MiB)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "data.bin").write_bytes(real)
    (tree / ".data.bin.ferryman-part").write_bytes(os.urandom(1000))  # a download's leftover
    assert main(["put", "-r", str(tree), plain_server.url("ftp", "")]) == 0
    assert files_under(os.path.join(root, "tree")) == {"data.bin": real}
    assert "Ferryman's temporary file" in capsys.readouterr().err


def test_two_transfers_to_one_target_at_once__the_second_is_refused(plain_server, root, tmp_path):
    payload = os.urandom(2 * MiB)
    write(root, "x.bin", payload)
    service = ConnectionService(timeout=10, check_revocation=False)
    target = str(tmp_path / "x.bin")
    refused: list[BaseException] = []

    def progress(count: int) -> None:
        if refused:
            return
        with service.open(plain_server.url("ftp")) as other:
            try:
                download_file(other, "/x.bin", target)
            except TransferFailed as error:
                refused.append(error)
            else:
                refused.append(AssertionError("a second writer shared the temporary file"))

    with service.open(plain_server.url("ftp")) as fs:
        download_file(fs, "/x.bin", target, progress=progress)
    assert isinstance(refused[0], TransferFailed), refused
    assert "already" in str(refused[0])
    with open(target, "rb") as handle:
        assert handle.read() == payload


def test_temporary_names_are_recognised():
    assert is_temporary_name(part_name("a.txt"))
    assert is_temporary_name(part_name("a.txt") + ".segments")
    assert is_temporary_name(part_name("a.txt") + ".segments.new")
    assert not is_temporary_name("a.txt")
    assert not is_temporary_name("a.ferryman-part")  # not hidden: not a name we make


def test_a_partial_another_process_is_writing__is_left_to_it(plain_server, root, tmp_path):
    """flock is per open file: a second open of the partial stands for another process."""
    import fcntl

    payload = os.urandom(MiB)
    write(root, "y.bin", payload)
    target = tmp_path / "y.bin"
    part = part_path(str(target))
    with open(part, "wb") as other:
        other.write(b"another process's bytes")
        other.flush()
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        service = ConnectionService(timeout=10, check_revocation=False)
        with (
            service.open(plain_server.url("ftp")) as fs,
            pytest.raises(TransferFailed, match="another Ferryman process"),
        ):
            download_file(fs, "/y.bin", str(target), resume=True)
        with open(part, "rb") as handle:
            assert handle.read() == b"another process's bytes"  # not truncated under it
    assert not target.exists()
