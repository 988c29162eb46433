"""sftp:// through the registry, the connection service, the CLI and the transfer engine,
unchanged: ``ls``, ``get``, ``put``, ``mirror``, ``sync``, segmented downloads, and resume by
the same proofs as FTP (SFTP offers no checksum, so the overlap re-read decides). The
transport is OpenSSH's sftp-server on pipes; the ssh transport has its own interop tests."""

from __future__ import annotations

import json
import os
import threading

import pytest

from tests.sftp_local import SFTP_SERVER, local_session_factory
from tui import backends
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import Cancelled
from tui.sites import parse_url
from tui.transfer.copy import download_file, part_path
from tui.transfer.copy import state_path as record_path

pytestmark = pytest.mark.skipif(SFTP_SERVER is None, reason="sftp-server is not installed")
MiB = 1024 * 1024


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    backends.register(backends.SFTP._replace(session=local_session_factory(str(folder))))
    try:
        yield str(folder)
    finally:
        backends.register(backends.SFTP)


def url(path: str = "") -> str:
    return f"sftp://me@sftp.test/{path}"


def files_under(folder) -> dict[str, bytes]:
    found = {}
    for base, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, folder)] = handle.read()
    return found


def test_an_sftp_url__parses_with_user_port_alias_and_path():
    site = parse_url("sftp://deploy@prod-alias:2222/var/www")
    assert (site.protocol, site.user, site.host, site.port, site.path) == (
        "sftp",
        "deploy",
        "prod-alias",
        2222,
        "var/www",
    )
    assert (
        parse_url("sftp://h/").port == 22 and site.url() == "sftp://deploy@prod-alias:2222/var/www"
    )
    assert backends.for_scheme("sftp").features.identity_kinds == ("ssh-host-key",)


def test_ls_get_and_put__work_over_sftp(served, tmp_path, capsys):
    with open(os.path.join(served, "a.txt"), "wb") as handle:
        handle.write(b"hello")
    assert main(["ls", url()]) == 0
    assert "a.txt" in capsys.readouterr().out
    assert main(["get", url("a.txt"), str(tmp_path / "a.txt")]) == 0
    assert (tmp_path / "a.txt").read_bytes() == b"hello"
    (tmp_path / "up.bin").write_bytes(os.urandom(3 * MiB))
    assert main(["put", str(tmp_path / "up.bin"), url("up.bin")]) == 0
    with open(os.path.join(served, "up.bin"), "rb") as handle:
        assert handle.read() == (tmp_path / "up.bin").read_bytes()
    capsys.readouterr()
    assert main(["get", url("missing"), str(tmp_path / "m")]) != 0
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no such file" in error


def test_a_tree__mirrors_both_ways_and_syncs_with_deletes(served, tmp_path):
    local = tmp_path / "local"
    (local / "d" / "e").mkdir(parents=True)
    tree = {"top.txt": b"top", "d/one.bin": os.urandom(200_000), "d/e/two.txt": b"two"}
    for name, data in tree.items():
        (local / name).write_bytes(data)
    assert main(["mirror", str(local), url("tree")]) == 0
    assert files_under(os.path.join(served, "tree")) == tree
    back = tmp_path / "back"
    assert main(["mirror", url("tree"), str(back), "-j", "3"]) == 0
    assert files_under(back) == tree
    (local / "top.txt").unlink()
    assert main(["mirror", str(local), url("tree"), "--delete"]) == 0
    assert "top.txt" not in files_under(os.path.join(served, "tree"))


def test_a_large_file__downloads_in_segments_over_parallel_sessions(served, tmp_path):
    payload = os.urandom(12 * MiB)
    with open(os.path.join(served, "big.bin"), "wb") as handle:
        handle.write(payload)
    assert main(["get", url("big.bin"), str(tmp_path / "big.bin"), "--segments", "4"]) == 0
    assert (tmp_path / "big.bin").read_bytes() == payload


def test_an_interrupted_download__resumes_from_its_proven_prefix(served, tmp_path):
    payload = os.urandom(4 * MiB)
    with open(os.path.join(served, "o.bin"), "wb") as handle:
        handle.write(payload)
    target = tmp_path / "o.bin"
    part = part_path(str(target))
    cancel = threading.Event()
    moved = [0]

    def progress(count: int) -> None:
        moved[0] += count
        if moved[0] >= MiB:
            cancel.set()

    service = ConnectionService(timeout=10)
    with service.open(url()) as fs, pytest.raises(Cancelled):
        download_file(fs, "o.bin", str(target), progress=progress, cancel=cancel)
    with open(record_path(part), encoding="utf-8") as handle:
        assert json.load(handle)["size"] == len(payload)
    kept = os.path.getsize(part)
    assert kept >= MiB
    with service.open(url()) as fs:
        received = download_file(fs, "o.bin", str(target), resume=True)
    assert received == len(payload) - kept and target.read_bytes() == payload


def test_an_upload_onto_a_foreign_remote_partial__starts_over(served, tmp_path, capsys):
    payload = os.urandom(2 * MiB)
    (tmp_path / "u.bin").write_bytes(payload)
    with open(os.path.join(served, ".u.bin.ferryman-part"), "wb") as handle:
        handle.write(os.urandom(MiB))
    assert main(["put", "--resume", str(tmp_path / "u.bin"), url("u.bin")]) == 0
    assert "started over" in capsys.readouterr().err
    with open(os.path.join(served, "u.bin"), "rb") as handle:
        assert handle.read() == payload


def test_an_upload_onto_its_own_remote_partial__continues(served, tmp_path, capsys):
    payload = os.urandom(2 * MiB)
    (tmp_path / "w.bin").write_bytes(payload)
    with open(os.path.join(served, ".w.bin.ferryman-part"), "wb") as handle:
        handle.write(payload[:MiB] + b"stale tail that is not ours")
    assert main(["put", "--resume", str(tmp_path / "w.bin"), url("w.bin")]) == 0
    with open(os.path.join(served, "w.bin"), "rb") as handle:
        assert handle.read() == payload
