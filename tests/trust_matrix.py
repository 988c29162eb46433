"""The certificate matrix: each case's certificate, how it is served, and what must be seen.

Shared by the fast suite (pyftpdlib) and the interop suite (vsftpd). Every case is checked
through ``ferryman cert --json`` (sections, verdict, exit code) and through the service API.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field

import pytest

from tests.certs import (
    Issued,
    crl,
    make_ca,
    make_leaf,
    make_sha1_leaf,
    ocsp_response,
    write_chain,
)
from tests.revocation import RevocationServer
from tui.cli import main
from tui.connection import ConnectionService
from tui.demo import TLSFiles
from tui.errors import CertificateNotTrusted
from tui.trust.policy import TrustDecision


@dataclass(frozen=True)
class Case:
    id: str
    host: str = "127.0.0.1"
    owner: bool = True
    issuer: bool = True
    validity: bool = True
    general: bool = False  # a problem that fits no section ("Invalid certificate")
    revocation: str = "not-checked"
    verdict: str = "untrusted"
    weak: bool = False  # served with OpenSSL's weak-crypto level
    require_revocation: bool = False
    words: tuple[str, ...] = ()  # words the problems must contain

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict in ("trusted-ca", "trusted-store") else 4


CASES = [
    Case("valid-chain", revocation="good", verdict="trusted-ca"),
    Case("missing-intermediate", issuer=False, words=("an intermediate the server did not send",)),
    Case("self-signed", issuer=False, words=("Self-signed",)),
    Case("unknown-ca", issuer=False, words=("Other Root is not a trusted authority",)),
    Case("expired", validity=False, words=("Expired on",)),
    Case("not-yet-valid", validity=False, words=("Not yet valid",)),
    Case("wrong-host", owner=False, words=("Name mismatch", "ftp.other.test")),
    Case("ip-san", verdict="trusted-ca"),
    Case("wildcard", host="ftp.files.test", verdict="trusted-ca"),
    Case("wildcard-too-deep", host="a.ftp.files.test", owner=False, words=("Name mismatch",)),
    Case("sha1-signature", issuer=False, weak=True, words=("Weak signature: SHA1",)),
    Case("rsa-1024", owner=False, weak=True, words=("Weak key: RSA 1024 bits",)),
    Case("revoked-ocsp", revocation="revoked", words=("OCSP",)),
    Case("revoked-crl", revocation="revoked", words=("CRL",)),
    Case("responder-down", revocation="unknown", verdict="trusted-ca"),
    Case("responder-down-required", revocation="unknown", general=True, require_revocation=True,
         words=("checking is required",)),
    Case("expired-and-wrong-host", owner=False, validity=False, words=("Expired", "Name mismatch")),
    Case("self-signed-and-expired", issuer=False, validity=False, words=("Self-signed", "Expired")),
]  # fmt: skip

# Which certificate each case serves (several cases share one).
SERVES = {"wildcard-too-deep": "wildcard", "responder-down-required": "responder-down"}


@dataclass
class Matrix:
    ca_file: str
    files: dict[str, TLSFiles] = field(default_factory=dict)
    leaves: dict[str, Issued] = field(default_factory=dict)

    def tls_for(self, case: Case) -> TLSFiles:
        return self.files[SERVES.get(case.id, case.id)]


def build_matrix(directory: str, responder: RevocationServer) -> Matrix:
    root = make_ca("Ferryman Matrix Root")
    inter = make_ca("Ferryman Matrix Intermediate", issuer=root)
    other_root = make_ca("Other Root")
    other_inter = make_ca("Other Intermediate", issuer=other_root)
    ca_file, _ = root.write(directory, "matrix-root")
    matrix = Matrix(ca_file)
    dead = "http://127.0.0.1:9/"  # the discard port: nothing listens there
    other_host = {"common_name": "ftp.other.test", "dns": ("ftp.other.test",), "ips": ()}
    wildcard = {"common_name": "*.files.test", "dns": ("*.files.test",), "ips": ()}
    plans: dict[str, tuple[Issued, tuple[Issued, ...]]] = {
        "valid-chain": (make_leaf(inter, ocsp_url=responder.ocsp_url), (inter,)),
        "missing-intermediate": (make_leaf(inter), ()),
        "self-signed": (make_leaf(inter, self_signed=True), ()),
        "unknown-ca": (make_leaf(other_inter), (other_inter,)),
        "expired": (make_leaf(inter, days=(-60, -3)), (inter,)),
        "not-yet-valid": (make_leaf(inter, days=(3, 90)), (inter,)),
        "wrong-host": (make_leaf(inter, **other_host), (inter,)),
        "ip-san": (
            make_leaf(inter, common_name="Test server", dns=(), ips=("127.0.0.1",)),
            (inter,),
        ),
        "wildcard": (make_leaf(inter, **wildcard), (inter,)),
        "sha1-signature": (make_sha1_leaf(inter, directory), (inter,)),
        "rsa-1024": (make_leaf(inter, bits=1024), (inter,)),
        "revoked-ocsp": (make_leaf(inter, ocsp_url=responder.ocsp_url), (inter,)),
        "revoked-crl": (make_leaf(inter, crl_url=responder.crl_url), (inter,)),
        "responder-down": (
            make_leaf(inter, ocsp_url=dead + "ocsp", crl_url=dead + "crl"),
            (inter,),
        ),
        "expired-and-wrong-host": (make_leaf(inter, days=(-60, -3), **other_host), (inter,)),
        "self-signed-and-expired": (make_leaf(inter, self_signed=True, days=(-60, -3)), ()),
    }
    for name, (leaf, sent) in plans.items():
        cert, key = write_chain(directory, name, leaf, *sent)
        os.chmod(key, 0o600)
        matrix.files[name] = TLSFiles(cert, key)
        matrix.leaves[name] = leaf
    for name in ("valid-chain", "revoked-ocsp"):
        leaf = matrix.leaves[name].cert
        responder.ocsp_answers[leaf.serial_number] = ocsp_response(
            leaf, inter, revoked=name == "revoked-ocsp"
        )
    responder.crl = crl(inter, [matrix.leaves["revoked-crl"].cert.serial_number])
    return matrix


@pytest.fixture
def loopback_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names under .test resolve to 127.0.0.1 in this process (wildcard and host cases)."""
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(host, str) and host.endswith(".test"):
            host = "127.0.0.1"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def check_case(case: Case, url: str, matrix: Matrix, capsys: pytest.CaptureFixture[str]) -> None:
    """Both paths agree with the case: ``ferryman cert --json`` and ``ConnectionService``."""
    extra = ["--require-revocation"] if case.require_revocation else []
    code = main(["cert", url, "--json", "--ca-file", matrix.ca_file, "--timeout", "10", *extra])
    output = capsys.readouterr().out
    report = json.loads(output)
    sections = report["sections"]
    seen = {name: sections[name]["valid"] for name in ("owner", "issuer", "validity")}
    assert seen == {"owner": case.owner, "issuer": case.issuer, "validity": case.validity}, output
    assert bool(report["problems"]) is case.general, output
    assert report["revocation"] == case.revocation, output
    assert report["verdict"] == case.verdict, output
    assert code == case.exit_code
    everything = json.dumps(sections) + json.dumps(report["problems"]) + report["revocation_detail"]
    for word in case.words:
        assert word in everything, f"{word!r} not in {output}"

    asked = []

    def prompt(shown):  # would accept anything it is shown
        asked.append(shown)
        return TrustDecision.REJECT

    service = ConnectionService(
        ca_file=matrix.ca_file,
        timeout=10,
        prompt=prompt,
        require_revocation=case.require_revocation,
    )
    if case.verdict == "trusted-ca":
        service.open(url).close()
        assert asked == []
        return
    with pytest.raises(CertificateNotTrusted) as refused:
        service.open(url)
    refused_report = refused.value.certificate
    assert refused_report.verdict == case.verdict
    assert [s.valid for s in refused_report.sections] == [case.owner, case.issuer, case.validity]
    if case.revocation == "revoked":
        assert asked == []  # a revoked certificate is never offered for acceptance
        assert "REVOKED" in str(refused.value)
    else:
        assert [shown.sha256 for shown in asked] == [refused_report.sha256]
