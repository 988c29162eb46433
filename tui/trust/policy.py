"""Provides TrustPolicy: the decision, for every TLS connection, whether to go on.

1. Chain and host verify against the trust anchors → ``trusted-ca``, connect.
2. The site's trust store (or an accept-once this run) holds this exact certificate, and it
   fails in no new way → ``trusted-store``, connect.
3. The store holds a *different* certificate for the site → ``changed``: never accepted
   silently; the prompt (or ``--trust`` naming the new fingerprint) must decide.
4. Otherwise ``untrusted``: ask the prompt (the app's certificate modal); without one,
   refuse (the CLI exits 4).

A revoked certificate is refused whatever anyone says. Revocation that cannot be checked
(``unknown``) blocks only when ``require_revocation`` is set.

A certificate outside its validity dates (expired, or not yet valid) can be accepted for
this run only, never saved (as FileZilla does): "always" is taken as "once" for it, and a
pin is never trusted past its end date, whatever was recorded when it was saved. Trusting a
certificate for a site replaces the site's old pin (the store keeps it as history).
"""

from __future__ import annotations

import enum
import ssl
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tui.errors import CertificateNotTrusted
from tui.remote.tls import TLSCheck, normalize_fingerprint
from tui.trust.store import TrustedCertificate, TrustStore

# The certificate parser (cryptography, and the modules built on it) is imported where a
# certificate is judged beyond what ssl verified: a CLI command to a CA-verified server
# without revocation sources never loads it (issue 23: 0.03 s of every call).
if TYPE_CHECKING:
    from tui.trust.certificate import CertificateReport
    from tui.trust.revocation import RevocationChecker

GENERAL = "general"
ONCE_SOURCE = "once"  # the source of a pin accepted for this run only (never in the file)


class TrustDecision(enum.Enum):
    """What the user answered in the certificate viewer."""

    REJECT = "reject"
    ONCE = "once"
    ALWAYS = "always"


TrustPrompt = Callable[["CertificateReport"], TrustDecision]
"""Shows a report (verdict ``untrusted`` or ``changed``) and returns the user's decision.
Never called for a revoked certificate."""


def failing_parts(report: CertificateReport) -> list[str]:
    """The sections that fail, plus ``general`` for problems that fit no section."""
    parts = [section.name for section in report.sections if not section.valid]
    return parts + ([GENERAL] if report.problems else [])


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
    from cryptography import x509

    from tui.trust.certificate import short_name

    return TrustedCertificate(
        sha256=report.sha256,
        pem=ssl.DER_cert_to_PEM_cert(report.leaf_der),
        subject=short_name(x509.load_der_x509_certificate(report.leaf_der).subject),
        failing=failing_parts(report),
        problems=report.all_problems,
        accepted_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        not_after=report.not_after.isoformat().replace("+00:00", "Z"),
        source=source,
    )


class TrustPolicy:
    """Judges certificates against the trust anchors, revocation and the trust store.

    Thread-safe: sessions of several workers may consult it at once.

    Args:
        store: The per-site trust store.
        ca_file: Extra trust anchors (PEM).
        prompt: Asked when a certificate is not trusted; ``None`` refuses (the CLI).
        fingerprints: SHA-256 fingerprints accepted for this run (``--trust``).
        require_revocation: Refuse (or ask about) certificates whose revocation status
            cannot be learnt.
        revocation: The revocation checker; ``None`` skips revocation (``not-checked``).
    """

    def __init__(
        self,
        store: TrustStore,
        *,
        ca_file: str | None = None,
        prompt: TrustPrompt | None = None,
        fingerprints: Iterable[str] = (),
        require_revocation: bool = False,
        revocation: RevocationChecker | None = None,
    ) -> None:
        self.store = store
        self.ca_file = ca_file
        self.prompt = prompt
        self.fingerprints = {normalize_fingerprint(value) for value in fingerprints}
        self.require_revocation = require_revocation
        self.revocation = revocation
        self._reports: dict[str, CertificateReport] = {}
        self._passed: dict[str, TLSCheck] = {}  # accepted on ssl's word: reported on demand
        self._lock = threading.Lock()

    def report_for(self, site: str) -> CertificateReport | None:
        """The last report for a site (the viewer shows it for the current connection)."""
        with self._lock:
            report = self._reports.get(site)
            passed = self._passed.get(site) if report is None else None
        if passed is not None:
            return self.evaluate(passed)  # no revocation source: nothing to fetch
        return report

    def evaluate(self, check: TLSCheck) -> CertificateReport:
        """Build the report and its verdict, without asking anyone."""
        from cryptography import x509

        from tui.trust.verify import build_report, trust_anchors

        anchors = trust_anchors(self.ca_file)
        report = build_report(check, anchors)
        if self.revocation is not None:
            chain = [x509.load_der_x509_certificate(der) for der in check.peer.chain]
            report.revocation, report.revocation_detail = self.revocation.check(chain, anchors)
        if report.revocation == "unknown" and self.require_revocation:
            report.problems.append(
                f"Revocation status unknown ({report.revocation_detail}) and checking is required"
            )
        self._judge(report)
        with self._lock:
            self._reports[report.site] = report
        return report

    def _judge(self, report: CertificateReport) -> None:
        from tui.trust.certificate import VALIDITY

        if report.revocation == "revoked":
            report.verdict = "untrusted"
            return
        if report.verified_by_ca and not report.problems:
            report.verdict = "trusted-ca"
            return
        pins = self.store.certificates(report.site)  # raises when the record is damaged
        failing = set(failing_parts(report))
        for pin in pins:
            if pin.sha256 == report.sha256:
                # Dates never count as accepted: an old store may hold a pin saved while the
                # certificate was expired; it is asked about again, not trusted forever.
                accepted = set(pin.failing)
                if pin.source != ONCE_SOURCE:
                    accepted.discard(VALIDITY)
                if failing <= accepted:
                    report.verdict = "trusted-store"
                    return
                report.verdict = "untrusted"  # the pinned certificate fails in a new way
                return
        if pins:
            report.verdict = "changed"
            report.previous = pins[-1].sha256
            return
        report.verdict = "untrusted"

    def decide(self, check: TLSCheck) -> bool:
        """The connection's CertificateDecider: True to connect; raises to refuse.

        Raises:
            CertificateNotTrusted: refused, with the report attached for the viewer.
        """
        if judged_by_ssl(check, revocation=self.revocation is not None):
            with self._lock:  # the viewer builds its report from the check when asked
                self._passed[check.site] = check
                self._reports.pop(check.site, None)
            return True
        report = self.evaluate(check)
        if report.trusted:
            return True
        if report.revocation == "revoked":
            raise CertificateNotTrusted(
                f"The certificate of {report.site} has been REVOKED ({report.revocation_detail}); "
                "it cannot be accepted",
                report,
            )
        if report.sha256 in self.fingerprints:
            report.verdict = "trusted-store"  # the user named it (--trust) for this run
            return True
        decision = self.prompt(report) if self.prompt is not None else TrustDecision.REJECT
        if decision is TrustDecision.ONCE:
            self.store.accept_once(report.site, pin_for(report, ONCE_SOURCE))
        elif decision is TrustDecision.ALWAYS and cannot_save(report) is not None:
            # Defence in depth: the viewer does not offer "always" for it; asked anyway,
            # it is accepted for this run and nothing is written.
            self.store.accept_once(report.site, pin_for(report, ONCE_SOURCE))
        elif decision is TrustDecision.ALWAYS:
            self.store.add(report.site, pin_for(report))
        else:
            raise CertificateNotTrusted(refusal_message(report), report)
        # The kept report (the viewer's "current certificate") reflects the decision.
        report.verdict = "trusted-store"
        return True


# The DER of the two OIDs through which a certificate names where its revocation is told:
# id-ad-ocsp (1.3.6.1.5.5.7.48.1, in Authority Information Access) and
# cRLDistributionPoints (2.5.29.31).
_REVOCATION_SOURCES = (bytes.fromhex("06082b06010505073001"), bytes.fromhex("0603551d1f"))


def judged_by_ssl(check: TLSCheck, *, revocation: bool) -> bool:
    """Whether ssl's verification is the whole judgement, so the certificate need not be
    parsed: the chain and the host name verified, and there is no revocation source to
    ask (checking is off, or the certificate names no OCSP responder and no CRL; the
    checker would say ``not-checked``, which blocks nothing). The verdict is
    ``trusted-ca`` either way. The byte search can only err towards the full judgement
    (the OID's bytes inside some other field), never past it."""
    if not check.verified or not check.peer.chain:
        return False
    return not revocation or not any(oid in check.peer.leaf for oid in _REVOCATION_SOURCES)


def refusal_message(report: CertificateReport) -> str:
    """One clear line: why the certificate is refused and how to accept it."""
    if report.verdict == "changed":
        return (
            f"WARNING: the certificate of {report.site} has CHANGED since you trusted it "
            f"(trusted SHA-256 {report.previous}, now {report.sha256}). This may be an attack; "
            f"accept only if the server's owner confirms the new fingerprint (--trust)"
        )
    reasons = "; ".join(report.all_problems) or "not trusted"
    return (
        f"The certificate of {report.site} is not trusted ({reasons}); "
        f"SHA-256 fingerprint {report.sha256}"
    )
