"""The trust store and the decisions around it: always-trust, changed certificates, expired
pins, a damaged file, two processes at once, the trust commands, FileZilla import, downgrade."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.certs import make_ca, make_leaf, write_chain
from tui.cli import main
from tui.connection import ConnectionService
from tui.demo import SandboxServer, TLSFiles
from tui.errors import CertificateNotTrusted, TLSDowngrade
from tui.remote.tls import fingerprint
from tui.trust.policy import TrustDecision
from tui.trust.store import TrustedCertificate, TrustStore, TrustStoreCorrupt


@pytest.fixture(scope="module")
def two_certs(tmp_path_factory):
    """Two self-signed certificates for the same server: the trusted one and its successor."""
    directory = str(tmp_path_factory.mktemp("two"))
    ca = make_ca()
    first = make_leaf(ca, self_signed=True)
    second = make_leaf(ca, self_signed=True)
    files = [TLSFiles(*write_chain(directory, name, leaf)) for name, leaf in
             (("first", first), ("second", second))]  # fmt: skip
    return files, [fingerprint(first.der), fingerprint(second.der)]


class Prompt:
    def __init__(self, answer: TrustDecision) -> None:
        self.answer = answer
        self.shown = []

    def __call__(self, report):
        self.shown.append(report)
        return self.answer


def serve(root, tls, port=0):
    return SandboxServer(str(root), tls=tls, port=port)


def test_always_trust_persists_and_a_changed_certificate_is_refused_loudly(
    tmp_path, two_certs, capsys
):
    (first, second), (first_fp, second_fp) = two_certs
    always = Prompt(TrustDecision.ALWAYS)
    with serve(tmp_path, first) as server:
        port = server.port
        url = server.url("ftpes")
        ConnectionService(prompt=always, check_revocation=False).open(url).close()
        # A new service (a new run of the program) trusts it without asking.
        again = Prompt(TrustDecision.REJECT)
        with ConnectionService(prompt=again, check_revocation=False).open(url) as fs:
            assert fs.tls.peer.sha256 == first_fp
        assert again.shown == [] and len(always.shown) == 1
        assert main(["cert", url]) == 0
        assert "trusted (you accepted this certificate before)" in capsys.readouterr().out

    with serve(tmp_path, second, port=port) as server:  # same host:port, new certificate
        watcher = Prompt(TrustDecision.REJECT)
        with pytest.raises(CertificateNotTrusted) as refused:
            ConnectionService(prompt=watcher, check_revocation=False).open(url)
        report = refused.value.certificate
        assert (report.verdict, report.previous, report.sha256) == ("changed", first_fp, second_fp)
        assert watcher.shown[0].verdict == "changed"  # the viewer gets the warning to show
        message = str(refused.value)
        assert "CHANGED" in message and first_fp in message and second_fp in message

        assert main(["ls", url]) == 4
        error = capsys.readouterr().err
        assert first_fp in error and second_fp in error and error.count("\n") == 1
        assert main(["cert", url, "--json"]) == 4
        shown = json.loads(capsys.readouterr().out)
        assert shown["verdict"] == "changed" and shown["previous"] == {"sha256": first_fp}
        # Naming the new fingerprint is the explicit decision that lets it through.
        assert main(["ls", url, "--trust", second_fp]) == 0


def test_reject_and_accept_once_are_not_saved(tmp_path, two_certs):
    (first, _), _ = two_certs
    with serve(tmp_path, first) as server:
        with pytest.raises(CertificateNotTrusted):
            ConnectionService(prompt=Prompt(TrustDecision.REJECT), check_revocation=False).open(
                server.url("ftpes")
            )
        ConnectionService(prompt=Prompt(TrustDecision.ONCE), check_revocation=False).open(
            server.url("ftpes")
        ).close()
        asked = Prompt(TrustDecision.REJECT)
        with pytest.raises(CertificateNotTrusted):
            ConnectionService(prompt=asked, check_revocation=False).open(server.url("ftpes"))
        assert len(asked.shown) == 1  # a new run asks again
    assert all(not record.certificates for record in TrustStore().sites().values())


def test_an_expired_pin_is_asked_about_again(tmp_path, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("expired"))
    leaf = make_leaf(make_ca(), self_signed=True, days=(-30, -1))
    tls = TLSFiles(*write_chain(directory, "old", leaf))
    store = TrustStore()
    with serve(tmp_path, tls) as server:
        # Accepted while it was only self-signed (the issuer section failing)...
        store.add(f"127.0.0.1:{server.port}", TrustedCertificate(
            sha256=fingerprint(leaf.der), pem="", subject="127.0.0.1", failing=["issuer"],
            problems=["Self-signed"], accepted_at="2026-01-01T00:00:00Z",
            not_after="2026-11-23T00:00:00Z",
        ))  # fmt: skip
        asked = Prompt(TrustDecision.REJECT)
        with pytest.raises(CertificateNotTrusted):
            ConnectionService(prompt=asked, check_revocation=False).open(server.url("ftpes"))
    # ...now it is also expired: shown again, with the new fault, not silently trusted.
    assert asked.shown[0].verdict == "untrusted" and not asked.shown[0].validity.valid
    listed = subprocess.run([sys.executable, "-m", "tui", "trust", "list"], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert "EXPIRED" in listed.stdout


def test_a_damaged_store_is_an_error_with_a_backup_never_trust_all(tmp_path, capsys):
    store = TrustStore()
    os.makedirs(os.path.dirname(store.path), exist_ok=True)
    with open(store.path, "w") as handle:
        handle.write('{"schema": 1, "sites": {"h:21": {"certificates": [{"sha2')
    with pytest.raises(TrustStoreCorrupt, match="damaged"):
        store.sites()
    backups = [name for name in os.listdir(os.path.dirname(store.path)) if ".damaged-" in name]
    assert len(backups) == 1
    assert main(["trust", "list"]) == 1
    error = capsys.readouterr().err
    assert store.path in error and "Trust store damaged" in error
    with pytest.raises(TrustStoreCorrupt):  # and no write replaces it
        store.add("h:21", TrustedCertificate("AA", "", "x", [], [], "", "2030-01-01T00:00:00Z"))
    with open(store.path) as handle:
        assert handle.read().endswith('"sha2')


def test_two_processes_adding_at_once_lose_nothing(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from tui.trust.store import TrustStore, TrustedCertificate
        store = TrustStore(sys.argv[1])
        for n in range(40):
            store.add(f"host{sys.argv[2]}:{n}", TrustedCertificate(
                sha256=f"{sys.argv[2]}-{n}", pem="", subject="s", failing=["issuer"],
                problems=[], accepted_at="now", not_after="2030-01-01T00:00:00Z"))
        """
    )
    path = str(tmp_path / "shared" / "trust.json")
    workers = [
        subprocess.Popen([sys.executable, "-c", script, path, str(worker)]) for worker in range(4)
    ]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0, 0, 0]
    sites = TrustStore(path).sites()
    assert len(sites) == 160
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_trust_add_list_forget(tmp_path, two_certs, capsys):
    (first, _), (first_fp, second_fp) = two_certs
    with serve(tmp_path, first) as server:
        url = server.url("ftpes")
        assert main(["trust", "add", url, "--fingerprint", second_fp]) == 4  # not what it shows
        assert "nothing was added" in capsys.readouterr().err
        assert main(["trust", "add", url, "--fingerprint", "sha256:" + first_fp.lower()]) == 0
        assert main(["ls", url]) == 0
    capsys.readouterr()
    assert main(["trust", "list", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["site"] == f"127.0.0.1:{server.port}" and entry["sha256"] == first_fp
    assert entry["expired"] is False
    assert main(["trust", "forget", entry["site"], "--fingerprint", second_fp]) == 1
    assert main(["trust", "forget", entry["site"]]) == 0
    assert main(["trust", "forget", entry["site"]]) == 1
    assert main(["trust", "forget", "no-port"]) == 2


def test_import_filezilla(tmp_path, two_certs, capsys):
    (first, _), (first_fp, _) = two_certs
    expired = make_leaf(make_ca(), days=(-30, -2))
    with open(first.cert, "rb") as handle:
        import ssl

        der = ssl.PEM_cert_to_DER_cert(handle.read().decode())
    xml = tmp_path / "trustedcerts.xml"
    xml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<FileZilla3><TrustedCerts>'
        f"<Certificate><Data>{der.hex()}</Data><ActivationTime>1</ActivationTime>"
        "<ExpirationTime>4102444800</ExpirationTime><Host>ftp.example.org</Host><Port>21</Port>"
        "<TrustSANs>0</TrustSANs></Certificate>"
        f"<Certificate><Data>{expired.der.hex()}</Data><Host>old.example.org</Host><Port>21</Port>"
        "</Certificate><Certificate><Data>zz</Data><Host>x</Host><Port>21</Port></Certificate>"
        "</TrustedCerts></FileZilla3>"
    )
    assert main(["trust", "import-filezilla", str(xml)]) == 0
    captured = capsys.readouterr()
    assert "Imported 1 certificate(s)" in captured.out and "skipped 2" in captured.out
    assert "expired" in captured.err and "not a certificate" in captured.err
    (entry,) = TrustStore().certificates("ftp.example.org:21")
    assert entry.sha256 == first_fp and entry.source == "filezilla"


def test_tls_downgrade_is_refused_unless_allowed(plain_server, capsys):
    site = f"127.0.0.1:{plain_server.port}"
    TrustStore().mark_tls(site)  # this site spoke TLS before
    with pytest.raises(TLSDowngrade, match="offers only plain FTP"):
        ConnectionService(tls="auto", check_revocation=False).open(plain_server.url("ftp"))
    assert main(["ls", plain_server.url("ftp"), "--tls", "auto"]) == 4
    assert "downgrade" in capsys.readouterr().err.lower()
    assert main(["ls", plain_server.url("ftp"), "--tls", "auto", "--allow-downgrade"]) == 0


def test_the_trust_stores_are_read_only_for_a_chain_openssl_did_not_verify(
    tmp_path, two_certs, monkeypatch
):
    """Reading certifi and the system store costs ~35 ms a process; a CA-verified handshake
    never walks to a root, so it must not pay it. An unverified one reads them once."""
    import tui.trust.verify as verify

    reads = []
    real = verify._read_anchors
    monkeypatch.setattr(verify, "_read_anchors", lambda ca: reads.append(ca) or real(ca))
    verify._load_anchors.cache_clear()
    ca = make_ca()
    ca_file, _ = ca.write(str(tmp_path), "ca")
    signed = TLSFiles(*write_chain(str(tmp_path), "signed", make_leaf(ca)))
    try:
        with serve(tmp_path, signed) as server:
            service = ConnectionService(ca_file=ca_file, check_revocation=False)
            with service.open(server.url("ftpes")) as fs:
                assert fs.tls.verified
        assert reads == []
        (self_signed, _), (first_fp, _) = two_certs
        with serve(tmp_path, self_signed) as server:
            with pytest.raises(CertificateNotTrusted) as refused:
                ConnectionService(ca_file=ca_file, check_revocation=False).open(server.url("ftpes"))
            ConnectionService(trust=[first_fp], ca_file=ca_file, check_revocation=False).open(
                server.url("ftpes")
            ).close()
        problems = refused.value.certificate.issuer.problems
        assert [problem.split(":")[0] for problem in problems] == ["Self-signed"]
        assert reads == [os.path.abspath(ca_file)]  # once, for both connections
    finally:
        verify._load_anchors.cache_clear()
