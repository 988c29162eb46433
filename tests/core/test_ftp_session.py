"""The FTP backend through the ConnectionService, against pyftpdlib in-process."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from datetime import UTC, datetime

import pytest

from tests.conftest import write
from tui.connection import ConnectionService
from tui.errors import (
    AlreadyExists,
    AuthFailed,
    CertificateNotTrusted,
    ConnectFailed,
    NotFound,
    TLSNotOffered,
)
from tui.remote.base import EntryType
from tui.remote.ftpio import BATCH
from tui.remote.tls import fingerprint, verifying_context
from tui.trust.policy import TrustDecision


def service(pki, **options) -> ConnectionService:
    return ConnectionService(ca_file=pki.ca_file, timeout=10, check_revocation=False, **options)


def test_plain_login_lists_the_served_folder(plain_server, root, pki):
    write(root, "a.txt", b"alpha")
    os.mkdir(os.path.join(root, "sub"))
    with service(pki).open(plain_server.url("ftp")) as fs:
        assert fs.tls is None
        entries = {entry.name: entry for entry in fs.listdir("/")}
    assert entries["a.txt"].type is EntryType.FILE and entries["a.txt"].size == 5
    assert entries["sub"].type is EntryType.DIR
    assert entries["a.txt"].perms == "rw-r--r--" or entries["a.txt"].perms  # unix.mode asked for


def test_explicit_tls_verified_by_ca_reports_the_session(tls_server, pki):
    with service(pki).open(tls_server.url("ftpes")) as fs:
        assert fs.tls is not None and fs.tls.verified
        assert fs.tls.peer.leaf == pki.leaf_der
        assert fs.tls.peer.tls_version.startswith("TLSv1.")
        assert fs.control.data_context is not None  # PROT P in force
        assert fs.listdir("/") == []


def test_untrusted_certificate_is_refused_with_what_the_viewer_needs(tls_server, pki):
    plain = ConnectionService(timeout=10)  # no --ca-file: the test CA is unknown
    with pytest.raises(CertificateNotTrusted) as caught:
        plain.open(tls_server.url("ftpes"))
    report = caught.value.certificate
    assert report.verdict == "untrusted" and not report.verified_by_ca
    assert report.site == f"127.0.0.1:{tls_server.port}"
    assert report.sha256 == fingerprint(pki.leaf_der)
    assert report.issuer.problems[0].startswith("Unknown issuer: Ferryman Test Root CA")
    assert report.owner.valid and report.validity.valid
    assert caught.value.exit_code == 4


def test_prompt_can_accept_an_untrusted_certificate_once(tls_server, root, pki):
    write(root, "x.bin", b"x" * 1000)
    seen = []

    def prompt(report):
        seen.append(report.verdict)  # what the viewer was shown when it asked
        return TrustDecision.ONCE

    plain = ConnectionService(timeout=10, prompt=prompt, check_revocation=False)
    with plain.open(tls_server.url("ftpes")) as fs:
        assert [entry.name for entry in fs.listdir("/")] == ["x.bin"]
        with fs.open_read("/x.bin") as reader:
            assert reader.read() == b"x" * 1000
    with plain.open(tls_server.url("ftpes")):
        pass  # accepted once: not asked again in this process
    assert seen == ["untrusted"]
    assert all(not record.certificates for record in plain.store.sites().values())  # not saved


def test_trust_flag_accepts_only_its_fingerprint(tls_server, pki):
    good = fingerprint(pki.leaf_der)
    with ConnectionService(timeout=10, trust=[good], check_revocation=False).open(
        tls_server.url("ftpes")
    ) as fs:
        assert fs.tls.peer.sha256 == good
    other = ":".join(["AA"] * 32)
    with pytest.raises(CertificateNotTrusted):
        ConnectionService(timeout=10, trust=[other], check_revocation=False).open(
            tls_server.url("ftpes")
        )


def test_tls_required_but_not_offered(plain_server, pki):
    with pytest.raises(TLSNotOffered, match="does not offer TLS"):
        service(pki).open(plain_server.url("ftpes"))


def test_tls_auto_falls_back_to_plain_and_uses_tls_when_offered(plain_server, tls_server, pki):
    with service(pki, tls="auto").open(plain_server.url("ftp")) as fs:
        assert fs.tls is None
    with service(pki, tls="auto").open(tls_server.url("ftp")) as fs:
        assert fs.tls is not None and fs.tls.verified


def test_wrong_password(plain_server, pki):
    url = plain_server.url("ftp").replace(":demo@", ":wrong@")
    with pytest.raises(AuthFailed, match="530"):
        service(pki).open(url)


def test_refused_port_and_unknown_host(pki):
    with pytest.raises(ConnectFailed, match="refused"):
        service(pki).open("ftp://127.0.0.1:1/")
    with pytest.raises(ConnectFailed, match="Unknown host"):
        service(pki).open("ftp://no-such-host.invalid/")


@pytest.mark.parametrize("passive", [True, False], ids=["passive", "active"])
def test_file_operations_round_trip(tls_server, root, pki, passive):
    payload = os.urandom(300_000)
    with service(pki, passive=passive).open(tls_server.url("ftpes")) as fs:
        fs.mkdir("/dir")
        with pytest.raises(AlreadyExists):
            fs.mkdir("/dir")
        with fs.open_write("/dir/f.bin") as writer:
            writer.write(payload)
        assert fs.size("/dir/f.bin") == len(payload)
        assert fs.stat("/dir/f.bin").type is EntryType.FILE
        assert fs.stat("/dir").type is EntryType.DIR
        fs.rename("/dir/f.bin", "/dir/g.bin")
        with fs.open_read("/dir/g.bin") as reader:
            assert hashlib.sha256(reader.read()).digest() == hashlib.sha256(payload).digest()
        with pytest.raises(NotFound):
            fs.stat("/dir/f.bin")
        fs.remove("/dir/g.bin")
        fs.rmdir("/dir")
        assert not fs.exists("/dir")
    assert os.listdir(root) == []


def test_resume_reads_and_writes_from_an_offset(tls_server, root, pki):
    payload = bytes(range(256)) * 1000
    write(root, "src.bin", payload)
    with service(pki).open(tls_server.url("ftpes")) as fs:
        assert fs.capabilities.resume_download
        with fs.open_read("/src.bin", offset=1000) as reader:
            assert reader.read() == payload[1000:]
        with fs.open_write("/dst.bin") as writer:
            writer.write(payload[:5000])
        with fs.open_write("/dst.bin", offset=5000) as writer:
            writer.write(payload[5000:])
        with fs.open_write("/dst.bin", append=True) as writer:
            writer.write(b"tail")
    with open(os.path.join(root, "dst.bin"), "rb") as handle:
        assert handle.read() == payload + b"tail"


def test_closing_a_reader_early_keeps_the_session_usable(tls_server, root, pki):
    write(root, "big.bin", os.urandom(8 * 1024 * 1024))
    with service(pki).open(tls_server.url("ftpes")) as fs:
        with fs.open_read("/big.bin") as reader:
            assert len(reader.read(4096)) > 0  # the viewer reads only what it shows
        assert fs.size("/big.bin") == 8 * 1024 * 1024
        fs.keepalive()


@pytest.mark.parametrize("scheme", ["ftp", "ftpes"])
def test_a_download_of_known_length_is_read_in_batches_until_its_last_bytes(
    plain_server, tls_server, root, pki, scheme
):
    payload = os.urandom(3 * 1024 * 1024 + 4321)
    write(root, "big.bin", payload)
    server = tls_server if scheme == "ftpes" else plain_server
    with service(pki).open(server.url(scheme)) as fs:
        seen = []  # (bytes still to come, SO_RCVLOWAT) after each read
        received = bytearray()
        buffer = bytearray(256 * 1024)
        with fs.open_read("/big.bin", expect=len(payload)) as reader:
            while count := reader.readinto(buffer):
                received += buffer[:count]
                lowat = reader._conn.getsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT)
                seen.append((len(payload) - len(received), lowat))
        assert received == payload
        assert seen[0][1] > 1  # the kernel waited for a batch
        assert all(left >= BATCH for left, lowat in seen if lowat > 1)
        assert seen[-1][1] == 1  # the last bytes were taken as they came

        with fs.open_read("/big.bin") as reader:  # length unknown: no batches
            assert reader.read(1) == payload[:1]
            assert reader._conn.getsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT) == 1


def test_mtime_set_and_read(tls_server, root, pki):
    write(root, "t.txt", b"t")
    when = datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)
    with service(pki).open(tls_server.url("ftpes")) as fs:
        assert fs.capabilities.set_mtime
        fs.set_mtime("/t.txt", when)
        assert fs.mtime("/t.txt") == when
    assert os.stat(os.path.join(root, "t.txt")).st_mtime == when.timestamp()


def test_list_fallback_when_the_server_has_no_mlsd(list_only_server, root, pki):
    write(root, "file one.txt", b"12345")
    os.mkdir(os.path.join(root, ".hidden"))
    with service(pki).open(list_only_server.url("ftpes")) as fs:
        assert not fs.capabilities.mlsd
        entries = {entry.name: entry for entry in fs.listdir("/")}
        stat = fs.stat("/file one.txt")
    assert entries["file one.txt"].size == 5 and entries["file one.txt"].type is EntryType.FILE
    assert entries[".hidden"].type is EntryType.DIR
    assert entries["file one.txt"].mtime_precision == "minute"
    assert stat.size == 5 and stat.mtime is not None


def test_chmod_is_reported(plain_server, root, pki):
    write(root, "m.txt", b"m")
    with service(pki).open(plain_server.url("ftp")) as fs:
        fs.chmod("/m.txt", 0o600)
        assert fs.capabilities.chmod is True
    assert os.stat(os.path.join(root, "m.txt")).st_mode & 0o777 == 0o600


def test_protocol_log_masks_the_password(plain_server, pki):
    lines = []
    with service(pki, log=lambda direction, line: lines.append((direction, line))).open(
        plain_server.url("ftp")
    ):
        pass
    sent = [line for direction, line in lines if direction == ">"]
    assert "PASS ****" in sent
    assert not any("demo" in line for line in sent if line.startswith("PASS"))
    assert any(line.startswith("230") for direction, line in lines if direction == "<")


def test_relative_paths_start_at_the_login_directory(plain_server, root, pki):
    write(root, "sub/inner.txt", b"i")
    with service(pki).open(plain_server.url("ftp", "sub")) as fs:
        assert fs.home == "/"
        assert fs.resolve("sub/../sub/inner.txt") == "/sub/inner.txt"
        assert [entry.name for entry in fs.listdir("sub")] == ["inner.txt"]


def _ipv6_loopback() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no ::1")
@pytest.mark.parametrize("passive", [True, False], ids=["epsv", "eprt"])
def test_ipv6_loopback(root, pki, passive):
    from tui.demo import SandboxServer

    write(root, "six.txt", b"over IPv6")
    with SandboxServer(root, tls=pki.tls, host="::1") as server:
        url = f"ftpes://demo:demo@[::1]:{server.port}/six.txt"
        with service(pki, passive=passive).open(url) as fs:
            assert fs.tls.verified  # the test leaf has ::1 as an IP SAN
            with fs.open_read("six.txt") as reader:
                assert reader.read() == b"over IPv6"


def test_sessions_share_one_verifying_context_until_the_ca_file_changes(tmp_path, pki):
    ca_file = tmp_path / "ca.pem"
    shutil.copyfile(pki.ca_file, ca_file)
    first = verifying_context(str(ca_file))
    assert verifying_context(str(ca_file)) is first  # loaded once, not per session
    ca_file.write_bytes(ca_file.read_bytes() + b"\n")  # the user edits the file
    assert verifying_context(str(ca_file)) is not first
