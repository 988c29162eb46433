"""Provides the X.509 kind's part of the trust decision: per-section verification, revocation,
and the certificate pins (``tui.trust.kinds.KindRules`` for certificates).

A certificate outside its validity dates (expired, or not yet valid) can be accepted for this
run only, never saved (as FileZilla does); a revoked one cannot be accepted at all.
"""

from __future__ import annotations

import ssl
from typing import cast

from cryptography import x509

from tui.identity import X509, CertificateIdentity, PeerIdentity
from tui.trust.certificate import CertificateReport, short_name
from tui.trust.kinds import Report, now_text
from tui.trust.pins import TrustedCertificate
from tui.trust.revocation import RevocationChecker
from tui.trust.verify import build_report, trust_anchors


def failing_parts(report: CertificateReport) -> list[str]:
    """The sections that fail, plus ``general`` for problems that fit no section."""
    return report.failing


def cannot_save(report: CertificateReport) -> str | None:
    """Why this certificate may not be trusted *always* (saved), or None when it may.

    One rule for the viewer (which then offers no "Always trust"), the policy and
    ``ferryman trust add``.
    """
    if report.revocation == "revoked":
        return "it has been revoked"
    if not report.validity.valid:
        early = any(p.startswith("Not yet valid") for p in report.validity.problems)
        state = "not yet valid" if early else "expired"
        return f"it is {state}: it can be accepted for this session only, never saved"
    return None


def pin_for(report: CertificateReport, source: str = "user") -> TrustedCertificate:
    """A trust-store entry for the certificate in ``report``, as it is now."""
    return TrustedCertificate(
        sha256=report.sha256,
        pem=ssl.DER_cert_to_PEM_cert(report.leaf_der),
        subject=short_name(x509.load_der_x509_certificate(report.leaf_der).subject),
        failing=failing_parts(report),
        problems=report.all_problems,
        accepted_at=now_text(),
        not_after=report.not_after.isoformat().replace("+00:00", "Z"),
        source=source,
    )


class CertificateRules:
    """Judges certificates: each section against the trust anchors, then revocation.

    Args:
        ca_file: Extra trust anchors (PEM).
        revocation: The revocation checker; ``None`` skips revocation (``not-checked``).
        require_revocation: Revocation that cannot be learnt is a problem.
    """

    kind = X509

    def __init__(
        self,
        *,
        ca_file: str | None = None,
        revocation: RevocationChecker | None = None,
        require_revocation: bool = False,
    ) -> None:
        self.ca_file = ca_file
        self.revocation = revocation
        self.require_revocation = require_revocation

    def report(self, identity: PeerIdentity) -> Report:
        check = cast(CertificateIdentity, identity)
        anchors = trust_anchors(self.ca_file)
        report = build_report(check, anchors)
        if self.revocation is not None:
            chain = [x509.load_der_x509_certificate(der) for der in check.chain]
            report.revocation, report.revocation_detail = self.revocation.check(chain, anchors)
        if report.revocation == "unknown" and self.require_revocation:
            report.problems.append(
                f"Revocation status unknown ({report.revocation_detail}) and checking is required"
            )
        return report

    def pin(self, report: Report, source: str) -> TrustedCertificate:
        return pin_for(cast(CertificateReport, report), source)

    def cannot_save(self, report: Report) -> str | None:
        return cannot_save(cast(CertificateReport, report))
