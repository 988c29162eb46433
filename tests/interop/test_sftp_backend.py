"""Ferryman's SFTP client over the real transport: the user's ssh to a private OpenSSH sshd
(tests/interop/sshd.py). Trees both ways with checksums, a transfer killed with its ssh and
resumed from its proven prefix, segments and slots sharing one login, and a host key judged
before anything is listed. Skipped where the transport or its sshd fixtures are absent."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile

import pytest

pytest.importorskip("tui.remote.sshchannel")
sshd = pytest.importorskip("tests.interop.sshd")
if not hasattr(sshd, "sshd_server"):
    pytest.skip("the private sshd fixtures are not here", allow_module_level=True)

from tui.cli import main  # noqa: E402
from tui.connection import ConnectionService  # noqa: E402
from tui.errors import ConnectionLost  # noqa: E402
from tui.transfer.copy import download_file, part_path  # noqa: E402

MiB = 1024 * 1024


@pytest.fixture
def served():
    """A folder the test account reads and writes (pytest's own tmp_path is root's, 0700)."""
    folder = tempfile.mkdtemp(prefix="ferryman-sftp-")
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def give(folder: str) -> None:
    subprocess.run(["chown", "-R", f"{sshd.USER}:", folder], check=True, timeout=30)


@pytest.fixture
def known(server, client):
    """The server's key in the client's known_hosts: trusted without asking."""
    client.know(f"{server.name} {server.host_keys['ssh-ed25519']}")
    return f"sftp://127.0.0.1:{server.port}/"


def digests(folder: str) -> dict[str, str]:
    found = {}
    for base, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, folder)] = hashlib.sha256(handle.read()).hexdigest()
    return found


def test_a_tree__mirrors_up_and_back_down_with_equal_checksums(known, served, tmp_path):
    local = tmp_path / "tree"
    (local / "a" / "b").mkdir(parents=True)
    for n in range(25):
        (local / "a" / f"f{n}.txt").write_bytes(os.urandom(100 + n * 97))
    (local / "a" / "b" / "big.bin").write_bytes(os.urandom(3 * MiB))
    give(served)
    assert main(["mirror", str(local), f"{known}/{served}/up", "-j", "4"]) == 0
    assert digests(os.path.join(served, "up")) == digests(str(local))
    back = tmp_path / "back"
    assert main(["mirror", f"{known}/{served}/up", str(back), "-j", "4"]) == 0
    assert digests(str(back)) == digests(str(local))


def test_a_download_whose_ssh_is_killed__resumes_from_its_proven_prefix(known, served, tmp_path):
    payload = os.urandom(24 * MiB)
    with open(os.path.join(served, "k.bin"), "wb") as handle:
        handle.write(payload)
    give(served)
    target = tmp_path / "k.bin"
    service = ConnectionService(timeout=15, check_revocation=False)
    fs = service.open(known)
    remote = os.path.join(served, "k.bin")
    moved = [0]

    def progress(count: int) -> None:
        moved[0] += count
        if moved[0] >= 4 * MiB and fs.connected:
            fs.client.channel.process.kill()  # type: ignore[attr-defined]

    with pytest.raises(ConnectionLost):
        download_file(fs, remote, str(target), progress=progress)
    kept = os.path.getsize(part_path(str(target)))
    assert 0 < kept < len(payload)
    fs.reconnect()
    received = download_file(fs, remote, str(target), resume=True)
    fs.close()
    assert received == len(payload) - kept and target.read_bytes() == payload


def test_segments_and_slots__share_one_login(server, known, served, tmp_path):
    with open(os.path.join(served, "s.bin"), "wb") as handle:
        handle.write(os.urandom(80 * MiB))
    give(served)
    before = server.log_text().count("Accepted publickey")
    assert main(["get", f"{known}/{served}/s.bin", str(tmp_path / "s.bin"), "--segments", "4"]) == 0
    assert server.log_text().count("Accepted publickey") == before + 1
    with open(os.path.join(served, "s.bin"), "rb") as handle:
        assert (tmp_path / "s.bin").read_bytes() == handle.read()
