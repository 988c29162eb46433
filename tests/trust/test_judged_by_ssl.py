"""The quick path: a certificate that ssl verified, and that names no revocation source, is
accepted without being parsed (issue 23); anything more goes through the full judgement."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.certs import make_ca, make_leaf
from tui.connection import ConnectionService
from tui.remote.tls import PeerCertificate, TLSCheck
from tui.trust.policy import judged_by_ssl


def check_of(der: bytes, *, verified: bool = True) -> TLSCheck:
    peer = PeerCertificate(chain=(der,), tls_version="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256")
    return TLSCheck(site="127.0.0.1:21", host="127.0.0.1", peer=peer, verified=verified)


@pytest.fixture(scope="module")
def ca():  # type: ignore[no-untyped-def]
    return make_ca()


def test_a_verified_certificate_without_revocation_sources__is_judged_by_ssl_alone(ca):
    assert judged_by_ssl(check_of(make_leaf(ca).der), revocation=True)


@pytest.mark.parametrize(
    "source", [{"ocsp_url": "http://127.0.0.1:9/ocsp"}, {"crl_url": "http://127.0.0.1:9/crl"}]
)
def test_a_certificate_naming_an_ocsp_responder_or_a_crl__gets_the_full_judgement(ca, source):
    check = check_of(make_leaf(ca, **source).der)
    assert not judged_by_ssl(check, revocation=True)
    assert judged_by_ssl(check, revocation=False)  # revocation checking is off: nothing to ask


def test_a_certificate_ssl_refused__gets_the_full_judgement(ca):
    assert not judged_by_ssl(check_of(make_leaf(ca).der, verified=False), revocation=False)


def test_the_viewer_still_gets_a_full_report_for_a_quick_connection(tls_server, pki):
    service = ConnectionService(ca_file=pki.ca_file, timeout=10)
    with service.open(tls_server.url("ftpes")) as fs:
        report = service.policy.report_for(fs.site.key)
    assert report is not None and report.verdict == "trusted-ca"
    assert report.revocation == "not-checked" and all(s.valid for s in report.sections)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048), st.booleans(), st.booleans())
def test_any_bytes_from_a_server__are_judged_without_raising(der, verified, revocation):
    check = check_of(der, verified=verified)
    assert judged_by_ssl(check, revocation=revocation) in (True, False)
    if not verified:
        assert judged_by_ssl(check, revocation=revocation) is False
