"""SFTP end to end: the CLI's ``ls``, ``get``, ``put`` and ``mirror`` on ``sftp://alias/…``
through the user's own ssh (an ssh_config alias, key login, the host key judged) into a
private OpenSSH sshd, trees both ways with their checksums, and a download whose ssh is
killed half-way, resumed from its proven prefix."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import uuid

import pytest

from tests.interop.servers import USER
from tests.interop.sshd import SSHD, Client, host_fingerprint
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import ConnectionLost
from tui.remote import sshbridge
from tui.transfer.copy import download_file, part_path
from tui.transfer.copy import state_path as record_path
from tui.trust.policy import TrustDecision

MiB = 1024 * 1024
HOME = "/var/tmp/ferrytest"


@pytest.fixture
def alias(server: SSHD, client: Client) -> str:
    """``sftp://ferryhost`` resolves through the ssh_config alias; its host key is known."""
    client.add_host("ferryhost", server)
    return "ferryhost"


@pytest.fixture
def folder():
    """A fresh folder the account owns, by absolute path."""
    path = os.path.join(HOME, f"e2e-{uuid.uuid4().hex[:10]}")
    os.makedirs(path)
    shutil.chown(path, USER, USER)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def sums(root) -> dict[str, str]:
    found = {}
    for base, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return found


def test_ls_get_and_put_on_an_alias__go_through_the_users_ssh(server, alias, folder, tmp_path,
                                                              capsys):  # fmt: skip
    trust = ["--trust", host_fingerprint(server)]
    url = f"sftp://{alias}/{folder}"
    (tmp_path / "up.bin").write_bytes(os.urandom(3 * MiB + 17))
    assert main(["put", str(tmp_path / "up.bin"), f"{url}/up.bin", *trust]) == 0
    assert main(["ls", url, "--json", *trust]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(entry["name"], entry["size"]) for entry in listed] == [("up.bin", 3 * MiB + 17)]
    assert main(["get", f"{url}/up.bin", str(tmp_path / "down.bin"), *trust]) == 0
    assert (tmp_path / "down.bin").read_bytes() == (tmp_path / "up.bin").read_bytes()
    with open(os.path.join(folder, "up.bin"), "rb") as handle:
        assert handle.read() == (tmp_path / "up.bin").read_bytes()
    sshbridge.stop_masters()  # a new login, as a new run makes (a run shares its logins)
    assert main(["ls", url]) == 4  # without --trust: the host key is not trusted
    assert host_fingerprint(server) in capsys.readouterr().err


def test_a_tree__mirrors_both_ways_with_equal_checksums(server, alias, folder, tmp_path):
    local = tmp_path / "tree"
    (local / "d" / "e").mkdir(parents=True)
    for name, size in {"top.txt": 10, "d/one.bin": 700_000, "d/e/two.bin": 2 * MiB}.items():
        (local / name).write_bytes(os.urandom(size))
    trust = ["--trust", host_fingerprint(server)]
    url = f"sftp://{alias}/{folder}/tree"
    assert main(["mirror", str(local), url, "-j", "3", *trust]) == 0
    assert sums(os.path.join(folder, "tree")) == sums(local)
    back = tmp_path / "back"
    assert main(["mirror", url, str(back), "-j", "3", *trust]) == 0
    assert sums(back) == sums(local)


def test_a_download_whose_ssh_is_killed__resumes_from_its_proven_prefix(
    server, alias, folder, tmp_path
):
    payload = os.urandom(16 * MiB)
    with open(os.path.join(folder, "big.bin"), "wb") as handle:
        handle.write(payload)
    target = tmp_path / "big.bin"
    service = ConnectionService(
        prompt=lambda report: TrustDecision.ONCE, check_revocation=False, timeout=10
    )
    url = f"sftp://{alias}/{folder}"
    fs = service.open(url)
    moved = [0]

    def progress(count: int) -> None:
        moved[0] += count
        if moved[0] >= 2 * MiB and fs.client.channel.process.poll() is None:
            os.killpg(fs.client.channel.process.pid, signal.SIGKILL)  # the transfer dies
            sshbridge.stop_masters()  # and the shared connection with it

    try:
        with pytest.raises(ConnectionLost):
            download_file(fs, f"{folder}/big.bin", str(target), progress=progress)
    finally:
        fs.close()
    part = part_path(str(target))
    kept = os.path.getsize(part)
    assert kept >= 2 * MiB and not target.exists()
    with open(record_path(part), encoding="utf-8") as handle:
        assert json.load(handle)["size"] == len(payload)
    with service.open(url) as again:
        received = download_file(again, f"{folder}/big.bin", str(target), resume=True)
    assert received == len(payload) - kept
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(payload).digest()
