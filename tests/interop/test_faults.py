"""A real server killed mid-transfer and started again: the engine reconnects and resumes
to identical bytes, both ways (vsftpd over explicit FTPS, whose data connections demand TLS
session reuse, and ProFTPD, which needs AllowStoreRestart for the upload)."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.interop.servers import ProFTPD, Vsftpd
from tui.connection import ConnectionService
from tui.transfer.engine import TransferEngine
from tui.transfer.queue import Direction, Job, State, TransferQueue

SIZE = 48 * 1024 * 1024


@pytest.mark.parametrize("server_class", [Vsftpd, ProFTPD], ids=["vsftpd", "proftpd"])
@pytest.mark.parametrize("direction", [Direction.DOWNLOAD, Direction.UPLOAD])
def test_killed_and_restarted_mid_transfer(interop_ready, pki, tmp_path, server_class, direction):
    server = server_class(pki.tls).start()
    try:
        folder = server.fresh_dir()
        payload = os.urandom(SIZE)
        remote = os.path.join(folder, "big.bin")
        local = tmp_path / "big.bin"
        if direction is Direction.DOWNLOAD:
            with open(remote, "wb") as handle:
                handle.write(payload)
            job = Job(direction, remote, str(local), size=SIZE)
        else:
            local.write_bytes(payload)
            job = Job(direction, str(local), remote, size=SIZE)
        crashed = []

        def progress(running, count):
            if running.done > 8 * 1024 * 1024 and not crashed:
                crashed.append(True)
                server.kill()  # mid-transfer: every connection dies
                server.start()  # back on the same port, as after a restart

        service = ConnectionService(ca_file=pki.ca_file, timeout=15, check_revocation=False)
        url = server.url("ftpes", folder)
        queue = TransferQueue()
        queue.add([job])
        engine = TransferEngine(queue, lambda: service.open(url), slots=1, backoff=0.2,
                                progress=progress, progress_interval=0)  # fmt: skip
        engine.run()
        assert crashed and job.state is State.DONE, job.reason
        assert job.attempts >= 1
        written = remote if direction is Direction.UPLOAD else str(local)
        with open(written, "rb") as handle:
            assert hashlib.sha256(handle.read()).digest() == hashlib.sha256(payload).digest()
        assert job.done < SIZE + 8 * 1024 * 1024  # resumed from the partial, not started over
    finally:
        server.stop()


def test_upload_resume_where_the_server_refuses_restarts(interop_ready, pki, tmp_path):
    from tui.transfer.copy import part_name, upload_file

    class NoStoreRestart(ProFTPD):
        store_restart = False

    server = NoStoreRestart(pki.tls).start()
    try:
        folder = server.fresh_dir()
        payload = os.urandom(3 * 1024 * 1024)
        source = tmp_path / "up.bin"
        source.write_bytes(payload)
        partial = os.path.join(folder, part_name("up.bin"))
        with open(partial, "wb") as handle:  # an earlier run got a third of the way
            handle.write(payload[: 1024 * 1024])
        os.chown(partial, *[__import__("pwd").getpwnam("ferrytest")[i] for i in (2, 3)])
        service = ConnectionService(ca_file=pki.ca_file, timeout=15, check_revocation=False)
        lines = []
        service.log = lambda direction, line: lines.append(line)
        with service.open(server.url("ftpes", folder)) as fs:
            sent = upload_file(fs, str(source), folder + "/up.bin", resume=True)
        # REST+STOR and APPE are both refused here: the upload starts over, and completes.
        assert any(line.startswith("REST ") for line in lines)
        assert any(line.startswith("APPE ") for line in lines)
        assert sent == len(payload)
        with open(os.path.join(folder, "up.bin"), "rb") as handle:
            assert handle.read() == payload
    finally:
        server.stop()


@pytest.mark.parametrize("direction", [Direction.DOWNLOAD, Direction.UPLOAD])
def test_checksums_verified_where_the_server_offers_them(interop_ready, pki, tmp_path, direction):
    """ProFTPD with mod_digest offers HASH: the engine checks every copy with it."""
    server = ProFTPD(pki.tls).start()
    try:
        folder = server.fresh_dir()
        payload = os.urandom(2 * 1024 * 1024)
        remote = os.path.join(folder, "h.bin")
        local = tmp_path / "h.bin"
        if direction is Direction.DOWNLOAD:
            with open(remote, "wb") as handle:
                handle.write(payload)
            job = Job(direction, remote, str(local), size=len(payload))
        else:
            local.write_bytes(payload)
            job = Job(direction, str(local), remote, size=len(payload))
        lines = []
        service = ConnectionService(ca_file=pki.ca_file, timeout=15, check_revocation=False,
                                    log=lambda d, line: lines.append(line))  # fmt: skip
        queue = TransferQueue()
        queue.add([job])
        TransferEngine(queue, lambda: service.open(server.url("ftpes", folder)), slots=1).run()
        assert job.state is State.DONE, job.reason
        assert any(line.startswith("HASH ") for line in lines)
        assert any(line.startswith("213 SHA-256") for line in lines)
    finally:
        server.stop()
