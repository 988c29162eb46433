"""Resume and verification against real servers: ProFTPD's HASH refuses a copy built on
wrong bytes and proves an upload's partial file; vsftpd, killed mid-download, leaves a
partial whose record a later run checks against the source it finds; a leftover temporary
file in a real server's tree is skipped."""

from __future__ import annotations

import json
import os
import pwd

import pytest

from tests.conftest import files_under
from tests.interop.conftest import interop_ready  # noqa: F401 - the fixture, used below
from tests.interop.servers import ProFTPD, Vsftpd
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import TransferFailed
from tui.transfer.copy import download_file, part_name, part_path, state_path, verify_checksum
from tui.transfer.engine import TransferEngine
from tui.transfer.queue import Direction, Job, State, TransferQueue
from tui.transfer.segments import download_segmented

# Skipped without the servers, and a failure in CI, as in tests/interop.
pytestmark = [pytest.mark.interop, pytest.mark.usefixtures("interop_ready")]
MiB = 1024 * 1024


def _owned(path: str) -> None:
    """Give a file the server's account, as if the server had written it."""
    account = pwd.getpwnam("ferrytest")
    os.chown(path, account.pw_uid, account.pw_gid)


@pytest.fixture
def proftpd(pki):  # type: ignore[no-untyped-def]
    server = ProFTPD(pki.tls).start()
    yield server
    server.stop()


@pytest.fixture
def vsftpd(pki):  # type: ignore[no-untyped-def]
    server = Vsftpd(pki.tls).start()
    yield server
    server.stop()


def _service(pki, lines=None):  # type: ignore[no-untyped-def]
    log = None if lines is None else (lambda direction, line: lines.append(line))
    return ConnectionService(ca_file=pki.ca_file, timeout=15, check_revocation=False, log=log)


@pytest.mark.parametrize("segmented", [False, True], ids=["one-stream", "segmented"])
def test_a_forged_record_over_wrong_bytes__the_servers_checksum_refuses_the_copy(
    proftpd, pki, tmp_path, segmented
):
    """A record that names the source is trusted without an overlap re-read; what proves
    the finished copy is the size and the server's HASH: wrong bytes never become the
    target."""
    folder = proftpd.fresh_dir()
    payload = os.urandom(2 * MiB)
    remote = os.path.join(folder, "h.bin")
    with open(remote, "wb") as handle:
        handle.write(payload)
    target = tmp_path / "h.bin"
    part = part_path(str(target))
    wrong = bytes(MiB // 2) + payload[MiB // 2 :]  # zeros in front, right at the overlap
    with open(part, "wb") as handle:
        handle.write(wrong if segmented else wrong[: MiB + MiB // 2])
    record = {"source": remote, "size": len(payload), "mtime": None}
    if segmented:
        record["ranges"] = [[0, MiB, MiB], [MiB, 2 * MiB, 0]]
    with open(state_path(part), "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    service = _service(pki)
    url = proftpd.url("ftpes", folder)
    with service.open(url) as fs, pytest.raises(TransferFailed, match="checksums differ"):
        if segmented:
            download_segmented(fs, lambda: service.open(url), remote, str(target),
                               size=len(payload), segments=2, resume=True,
                               verify=verify_checksum(fs))  # fmt: skip
        else:
            download_file(fs, remote, str(target), resume=True, verify=verify_checksum(fs))
    assert not target.exists() and not os.path.exists(part)
    assert not os.path.exists(state_path(part))


def test_put_resume_onto_a_remote_partial__proven_by_hash_or_started_over(proftpd, pki, tmp_path):
    folder = proftpd.fresh_dir()
    payload = os.urandom(3 * MiB)
    for name, leftover, resumed in (("real.bin", payload[:MiB], True),
                                    ("other.bin", os.urandom(MiB), False)):  # fmt: skip
        source = tmp_path / name
        source.write_bytes(payload)
        partial = os.path.join(folder, part_name(name))
        with open(partial, "wb") as handle:
            handle.write(leftover)
        _owned(partial)
        lines: list[str] = []
        service = _service(pki, lines)
        queue = TransferQueue()
        job = Job(Direction.UPLOAD, str(source), os.path.join(folder, name), size=len(payload))
        queue.add([job])
        TransferEngine(queue, lambda s=service: s.open(proftpd.url("ftpes", folder)), slots=1,
                       resume_partials=True).run()  # fmt: skip
        assert job.state is State.DONE, job.reason
        with open(os.path.join(folder, name), "rb") as handle:
            assert handle.read() == payload
        assert any(line.startswith("HASH ") and part_name(name) in line for line in lines)
        assert any(line.startswith("REST 1048576") for line in lines) is resumed
        assert ("started over" in job.reason) is not resumed


def test_killed_mid_download_then_the_file_replaced__the_resume_starts_over(vsftpd, pki, tmp_path):
    folder = vsftpd.fresh_dir()
    remote = os.path.join(folder, "k.bin")
    first = os.urandom(16 * MiB)
    with open(remote, "wb") as handle:
        handle.write(first)
    os.utime(remote, (1_700_000_000, 1_700_000_000))
    target = tmp_path / "k.bin"
    service = _service(pki)
    url = vsftpd.url("ftpes", folder)
    killed: list[bool] = []

    def progress(job: Job, count: int) -> None:
        if job.done > 4 * MiB and not killed:
            killed.append(True)
            vsftpd.kill()

    queue = TransferQueue()
    queue.add([Job(Direction.DOWNLOAD, remote, str(target), size=len(first))])
    TransferEngine(queue, lambda: service.open(url), slots=1, retries=0, progress=progress,
                   progress_interval=0).run()  # fmt: skip
    part = part_path(str(target))
    assert killed and os.path.getsize(part) > 0 and not target.exists()
    with open(state_path(part), encoding="utf-8") as handle:
        assert json.load(handle)["size"] == len(first)

    second = os.urandom(16 * MiB)  # the same name and size, another file, another time
    with open(remote, "wb") as handle:
        handle.write(second)
    vsftpd.start()
    assert main(["get", "--resume", "--ca-file", pki.ca_file, vsftpd.url("ftpes", remote),
                 str(target)]) == 0  # fmt: skip
    assert target.read_bytes() == second
    assert not os.path.exists(part) and not os.path.exists(state_path(part))


def test_get_r_from_vsftpd_with_a_leftover_part__skips_it(vsftpd, pki, tmp_path, capsys):
    folder = vsftpd.fresh_dir()
    tree = os.path.join(folder, "tree")
    os.mkdir(tree)
    real = os.urandom(MiB)
    for name, data in (("data.bin", real), (part_name("data.bin"), os.urandom(MiB // 3))):
        with open(os.path.join(tree, name), "wb") as handle:
            handle.write(data)
    out = tmp_path / "out"
    out.mkdir()
    for extra in ([], ["--resume"]):
        assert main(["get", "-r", *extra, "--ca-file", pki.ca_file, vsftpd.url("ftpes", tree),
                     str(out)]) == 0  # fmt: skip
        assert files_under(out) == {os.path.join("tree", "data.bin"): real}
    assert "Ferryman's temporary file" in capsys.readouterr().err
