"""Provides what the trust policy needs from each identity kind, and the rules for simple kinds.

The policy's rules (pinned, changed, expired, revoked, asked) are the same for every kind of
peer identity; only three things differ, and a kind supplies them as :class:`KindRules`:
how an identity is judged into a report (for X.509: per-section verification and revocation,
``tui.trust.x509``), what pin the store keeps for it, and why it may not be saved.

:class:`IdentityReport` and :class:`SimpleRules` serve every kind whose details are a few
labelled values (``tui.identity.Identity``): SSH host keys can start here, and so does a test
backend's toy kind. Nothing here knows a protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from tui.identity import Identity, PeerIdentity, kind_noun, show_fingerprint
from tui.trust.pins import Pin, TrustedIdentity

GENERAL = "general"  # a problem that fits no part of the identity
VERDICTS = ("trusted-ca", "trusted-store", "untrusted", "changed")


class Report(Protocol):
    """What the policy reads and writes on a report of any kind.

    Attributes:
        verified_by_ca: An authority the user trusts vouched for it (CA, ``known_hosts``).
        failing: The parts that fail (``"validity"`` is the part about dates; it is never
            taken as accepted by a saved pin), plus ``general``.
        revocation: ``"good"``, ``"revoked"``, ``"unknown"`` or ``"not-checked"``.
        previous: SHA-256 of the different identity trusted before (verdict ``changed``).
    """

    site: str
    host: str
    sha256: str
    verdict: str
    previous: str | None
    verified_by_ca: bool
    problems: list[str]
    revocation: str
    revocation_detail: str

    @property
    def kind(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def failing(self) -> list[str]: ...

    @property
    def all_problems(self) -> list[str]: ...

    @property
    def trusted(self) -> bool: ...

    def to_json(self) -> dict[str, object]: ...


class KindRules(Protocol):
    """The kind-specific part of the trust decision (one instance serves many threads)."""

    kind: str

    def report(self, identity: PeerIdentity) -> Report:
        """Judge ``identity`` (no verdict yet: the policy gives it)."""
        ...

    def pin(self, report: Report, source: str) -> Pin:
        """The trust-store entry for the identity in ``report``, as it is now."""
        ...

    def cannot_save(self, report: Report) -> str | None:
        """Why this identity may not be trusted *always*, or None when it may."""
        ...


def now_text() -> str:
    """The time a pin is accepted, as the store writes it."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(slots=True)
class IdentityReport:
    """A judged identity of a simple kind: its details as labelled values, its problems."""

    site: str
    host: str
    identity_kind: str
    sha256: str
    fields: list[tuple[str, str]]
    problems: list[str] = field(default_factory=list)
    verified_by_ca: bool = False
    revocation: str = "not-checked"
    revocation_detail: str = ""
    verdict: str = "untrusted"
    previous: str | None = None

    @property
    def kind(self) -> str:
        return self.identity_kind

    @property
    def noun(self) -> str:
        return kind_noun(self.identity_kind)

    @property
    def fingerprint(self) -> str:
        return show_fingerprint(self.sha256, self.identity_kind)

    @property
    def failing(self) -> list[str]:
        return [GENERAL] if self.problems else []

    @property
    def all_problems(self) -> list[str]:
        found = list(self.problems)
        if self.revocation == "revoked":
            found.append(f"Revoked: {self.revocation_detail}")
        return found

    @property
    def trusted(self) -> bool:
        return self.verdict in ("trusted-ca", "trusted-store")

    def to_json(self) -> dict[str, object]:
        """The ``ferryman cert --json`` object for a kind without sections."""
        return {
            "site": self.site,
            "kind": self.kind,
            "verdict": self.verdict,
            "details": dict(self.fields),
            "revocation": self.revocation,
            "revocation_detail": self.revocation_detail,
            "fingerprints": {"sha256": self.fingerprint},
            "problems": list(self.problems),
            "previous": {"sha256": show_fingerprint(self.previous, self.kind)}
            if self.previous
            else None,
        }


class SimpleRules:
    """Rules for a kind whose identities are :class:`tui.identity.Identity` values: the
    backend has already said whether an authority vouches for it and whether it is revoked;
    the store pins its fingerprint and keeps its details."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def report(self, identity: PeerIdentity) -> Report:
        details = identity.details if isinstance(identity, Identity) else ()
        revoked = identity.revoked if isinstance(identity, Identity) else None
        report = IdentityReport(
            site=identity.site,
            host=identity.host,
            identity_kind=identity.kind,
            sha256=identity.sha256,
            fields=[(label, value) for label, value in details],
            problems=[] if identity.verified else list(identity.problems),
            verified_by_ca=identity.verified,
        )
        if revoked is not None:
            report.revocation, report.revocation_detail = "revoked", revoked
        return report

    def pin(self, report: Report, source: str) -> Pin:
        fields = report.fields if isinstance(report, IdentityReport) else []
        return TrustedIdentity(
            kind=report.kind,
            sha256=report.sha256,
            failing=report.failing,
            problems=report.all_problems,
            accepted_at=now_text(),
            source=source,
            details={label: value for label, value in fields},
        )

    def cannot_save(self, report: Report) -> str | None:
        if report.revocation == "revoked":
            return "it has been revoked"
        return None


_RULES: dict[str, KindRules] = {}


def register_rules(rules: KindRules) -> None:
    """Use ``rules`` for identities of ``rules.kind`` (a backend's own kind)."""
    _RULES[rules.kind] = rules


def rules_for(kind: str) -> KindRules:
    """The registered rules for ``kind``, else :class:`SimpleRules`."""
    return _RULES.get(kind) or SimpleRules(kind)
