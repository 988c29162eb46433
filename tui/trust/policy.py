"""Provides TrustPolicy: the decision, for every peer identity a backend meets, whether to go on.

The rules are the same for every identity kind (``tui.identity``: certificates, host keys):

1. An authority the user trusts vouches for it (a CA chain and the host name; a
   ``known_hosts`` entry) → ``trusted-ca``, connect.
2. The site's trust store (or an accept-once this run) holds this exact identity, and it
   fails in no new way → ``trusted-store``, connect.
3. The store holds a *different* identity for the site → ``changed``: never accepted
   silently; the prompt (or ``--trust`` naming the new fingerprint) must decide.
4. Otherwise ``untrusted``: ask the prompt (the app's viewer for the kind); without one,
   refuse (the CLI exits 4).

A revoked identity is refused whatever anyone says. Revocation that cannot be checked
(``unknown``) blocks only when ``require_revocation`` is set.

Dates never count as accepted: a certificate outside its validity dates can be accepted for
this run only, never saved (as FileZilla does); "always" is taken as "once" for it, and a
pin is never trusted past its end date, whatever was recorded when it was saved. Trusting an
identity for a site replaces the site's old pin (the store keeps it as history).

Only the kind-specific part is dispatched (``tui.trust.kinds.KindRules``): for X.509 the
per-section verification and revocation (``tui.trust.x509``).

The certificate parser (cryptography, and the modules built on it) is imported only where a
certificate is judged beyond what ssl verified: a CLI command to a CA-verified server whose
certificate names no revocation source never loads it (``judged_by_ssl``; issue 23 measured
0.03 s of every call), and the viewer still gets a full report when it asks
(``report_for``).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from tui.errors import CertificateNotTrusted
from tui.identity import (
    X509,
    PeerIdentity,
    kind_noun,
    normalize_fingerprint,
    on_the_way,
    show_fingerprint,
)
from tui.trust.kinds import GENERAL, KindRules, Report, rules_for
from tui.trust.store import TrustStore

if TYPE_CHECKING:
    from tui.trust.revocation import RevocationChecker
    from tui.trust.x509 import CertificateRules

ONCE_SOURCE = "once"  # the source of a pin accepted for this run only (never in the file)
VALIDITY = "validity"  # tui.trust.certificate.VALIDITY, without importing the parser

__all__ = [
    "GENERAL",
    "ONCE_SOURCE",
    "TrustDecision",
    "TrustPolicy",
    "TrustPrompt",
    "judged_by_ssl",
    "refusal_message",
]



class TrustDecision(enum.Enum):
    """What the user answered in the viewer (a certificate's, a host key's, …)."""

    REJECT = "reject"
    ONCE = "once"
    ALWAYS = "always"


TrustPrompt = Callable[[Report], TrustDecision]
"""Shows a report (verdict ``untrusted`` or ``changed``; ``report.kind`` says which viewer)
and returns the user's decision. Never called for a revoked identity."""


class TrustPolicy:
    """Judges peer identities of every kind against their authorities and the trust store.

    Thread-safe: sessions of several workers may consult it at once.

    Args:
        store: The per-site trust store.
        ca_file: Extra trust anchors (PEM).
        prompt: Asked when an identity is not trusted; ``None`` refuses (the CLI).
        fingerprints: SHA-256 fingerprints accepted for this run (``--trust``), any form.
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
        self._reports: dict[str, Report] = {}
        self._passed: dict[str, PeerIdentity] = {}  # accepted on ssl's word: reported on demand
        self._lock = threading.Lock()
        self._x509: CertificateRules | None = None

    def rules(self, kind: str) -> KindRules:
        """The kind-specific part of the decision for ``kind``."""
        if kind != X509:
            return rules_for(kind)
        with self._lock:
            if self._x509 is None:
                from tui.trust.x509 import CertificateRules

                self._x509 = CertificateRules(
                    ca_file=self.ca_file,
                    revocation=self.revocation,
                    require_revocation=self.require_revocation,
                )
            return self._x509

    def report_for(self, site: str) -> Report | None:
        """The last report for a site (the viewer shows it for the current connection)."""
        with self._lock:
            report = self._reports.get(site)
            passed = self._passed.get(site) if report is None else None
        if passed is not None:
            return self.evaluate(passed)  # no revocation source: nothing to fetch
        return report

    def evaluate(self, identity: PeerIdentity) -> Report:
        """Build the report and its verdict, without asking anyone."""
        report = self.rules(identity.kind).report(identity)
        self._judge(report)
        with self._lock:
            self._reports[report.site] = report
        return report

    def _judge(self, report: Report) -> None:
        if report.revocation == "revoked":
            report.verdict = "untrusted"
            return
        if report.verified_by_ca and not report.problems:
            report.verdict = "trusted-ca"
            return
        pins = self.store.pins(report.site)  # raises when the record is damaged
        failing = set(report.failing)
        for pin in pins:
            if pin.sha256 == report.sha256 and pin.kind == report.kind:
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

    def decide(self, identity: PeerIdentity) -> bool:
        """The connection's IdentityDecider: True to connect; raises to refuse.

        Raises:
            CertificateNotTrusted: refused, with the report attached for the viewer.
        """
        if judged_by_ssl(identity, revocation=self.revocation is not None):
            with self._lock:  # the viewer builds its report from the identity when asked
                self._passed[identity.site] = identity
                self._reports.pop(identity.site, None)
            return True
        report = self.evaluate(identity)
        if report.trusted:
            return True
        if report.revocation == "revoked":
            raise CertificateNotTrusted(
                f"The {kind_noun(report.kind)} of {report.site} has been REVOKED "
                f"({report.revocation_detail}); it cannot be accepted",
                report,
            )
        if report.sha256 in self.fingerprints and on_the_way(identity) is None:
            report.verdict = "trusted-store"  # the user named it (--trust) for this run
            return True
        rules = self.rules(report.kind)
        decision = self.prompt(report) if self.prompt is not None else TrustDecision.REJECT
        if decision is TrustDecision.ONCE:
            self.store.accept_once(report.site, rules.pin(report, ONCE_SOURCE))
        elif decision is TrustDecision.ALWAYS and rules.cannot_save(report) is not None:
            # Defence in depth: the viewer does not offer "always" for it; asked anyway,
            # it is accepted for this run and nothing is written.
            self.store.accept_once(report.site, rules.pin(report, ONCE_SOURCE))
        elif decision is TrustDecision.ALWAYS:
            self.store.add(report.site, rules.pin(report, "user"))
        else:
            raise CertificateNotTrusted(refusal_message(report), report)
        # The kept report (the viewer's "current certificate") reflects the decision.
        report.verdict = "trusted-store"
        return True


# The DER of the two OIDs through which a certificate names where its revocation is told:
# id-ad-ocsp (1.3.6.1.5.5.7.48.1, in Authority Information Access) and
# cRLDistributionPoints (2.5.29.31).
_REVOCATION_SOURCES = (bytes.fromhex("06082b06010505073001"), bytes.fromhex("0603551d1f"))


def judged_by_ssl(identity: PeerIdentity, *, revocation: bool) -> bool:
    """Whether ssl's verification is the whole judgement of an X.509 identity, so the
    certificate need not be parsed: the chain and the host name verified, and there is no
    revocation source to ask (checking is off, or the certificate names no OCSP responder
    and no CRL; the checker would say ``not-checked``, which blocks nothing). The verdict
    is ``trusted-ca`` either way. The byte search can only err towards the full judgement
    (the OID's bytes inside some other field), never past it."""
    if identity.kind != X509 or not identity.verified or identity.problems:
        return False
    peer = getattr(identity, "peer", None)
    if peer is None or not peer.chain:
        return False
    return not revocation or not any(oid in peer.leaf for oid in _REVOCATION_SOURCES)


def refusal_message(report: Report) -> str:
    """One clear line: why the identity is refused and how to accept it."""
    noun = kind_noun(report.kind)
    shown = report.fingerprint
    if report.verdict == "changed":
        previous = show_fingerprint(report.previous or "", report.kind)
        if not previous.startswith("SHA256:"):
            previous = f"SHA-256 {previous}"
        return (
            f"WARNING: the {noun} of {report.site} has CHANGED since you trusted it "
            f"(trusted {previous}, now {shown}). This may be an attack; "
            f"accept only if the server's owner confirms the new fingerprint (--trust)"
        )
    reasons = "; ".join(report.all_problems) or "not trusted"
    named = shown if shown.startswith("SHA256:") else f"SHA-256 fingerprint {shown}"
    return f"The {noun} of {report.site} is not trusted ({reasons}); {named}"
