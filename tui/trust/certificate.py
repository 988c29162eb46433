"""Provides CertificateReport: everything the certificate viewer and ``ferryman cert`` show.

A report has three sections, **owner** (subject), **issuer** and **validity**, each with
its fields in display order and its own problems, so one fault never hides another. Faults
that fit no section go to ``problems`` ("Invalid certificate"). Field values come from the
server: they are data, and front ends must escape them (``tui.textsafe.printable``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from tui.identity import X509, fingerprint

OWNER, ISSUER, VALIDITY = "owner", "issuer", "validity"
GENERAL = "general"  # problems that fit no section

_NAME_FIELDS = [
    ("Common name", NameOID.COMMON_NAME),
    ("Organization", NameOID.ORGANIZATION_NAME),
    ("Unit", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("Locality", NameOID.LOCALITY_NAME),
    ("State", NameOID.STATE_OR_PROVINCE_NAME),
    ("Country", NameOID.COUNTRY_NAME),
    ("E-mail", NameOID.EMAIL_ADDRESS),
]

VERDICTS = ("trusted-ca", "trusted-store", "untrusted", "changed")
REVOCATION_STATES = ("good", "revoked", "unknown", "not-checked")


@dataclass(slots=True)
class Section:
    """One part of the certificate, judged on its own.

    Attributes:
        name: ``"owner"``, ``"issuer"`` or ``"validity"``.
        fields: (label, value) pairs in display order; a failing section's "Invalid" mark
            goes against the first one.
        problems: What is wrong with this section, one sentence each.
    """

    name: str
    fields: list[tuple[str, str]]
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def title(self) -> str:
        return {OWNER: "Owner", ISSUER: "Issuer", VALIDITY: "Validity dates"}[self.name]


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One certificate of the chain as the server sent it."""

    subject: str
    issuer: str
    sha256: str
    der: bytes


@dataclass(slots=True)
class CertificateReport:
    """The server's certificate, judged section by section, and the trust verdict."""

    site: str
    host: str
    owner: Section
    issuer: Section
    validity: Section
    not_before: datetime
    not_after: datetime
    serial: str
    public_key: str
    signature_algorithm: str
    sha256: str
    sha1: str
    chain: list[ChainLink]
    tls_version: str
    cipher: str
    leaf_der: bytes
    problems: list[str] = field(default_factory=list)
    revocation: str = "not-checked"
    revocation_detail: str = ""
    verified_by_ca: bool = False
    verdict: str = "untrusted"
    previous: str | None = None  # SHA-256 of the different certificate trusted before

    @property
    def kind(self) -> str:
        """The identity kind (``tui.identity``): the policy's reports share this interface."""
        return X509

    @property
    def fingerprint(self) -> str:
        """The SHA-256 fingerprint as certificate users know it (hex pairs)."""
        return self.sha256

    @property
    def sections(self) -> list[Section]:
        return [self.owner, self.issuer, self.validity]

    @property
    def failing(self) -> list[str]:
        """The sections that fail, plus ``general`` for problems that fit no section."""
        parts = [section.name for section in self.sections if not section.valid]
        return parts + ([GENERAL] if self.problems else [])

    @property
    def all_problems(self) -> list[str]:
        """Every problem, section problems first, for the trust store and messages."""
        found = [problem for section in self.sections for problem in section.problems]
        found += self.problems
        if self.revocation == "revoked":
            found.append(f"Revoked: {self.revocation_detail}")
        return found

    @property
    def trusted(self) -> bool:
        return self.verdict in ("trusted-ca", "trusted-store")

    def to_json(self) -> dict[str, object]:
        """The ``ferryman cert --json`` object (DESIGN.md)."""

        def section(part: Section, **extra: object) -> dict[str, object]:
            return {
                "valid": part.valid,
                "problems": list(part.problems),
                "fields": dict(part.fields),
                **extra,
            }

        return {
            "site": self.site,
            "kind": self.kind,
            "verdict": self.verdict,
            "sections": {
                OWNER: section(self.owner),
                ISSUER: section(self.issuer),
                VALIDITY: section(
                    self.validity,
                    not_before=_iso(self.not_before),
                    not_after=_iso(self.not_after),
                ),
            },
            "revocation": self.revocation,
            "revocation_detail": self.revocation_detail,
            "fingerprints": {"sha256": self.sha256, "sha1": self.sha1},
            "chain": [{"subject": link.subject, "issuer": link.issuer} for link in self.chain],
            "problems": list(self.problems),
            "tls": {"version": self.tls_version, "cipher": self.cipher},
            "previous": {"sha256": self.previous} if self.previous else None,
            "serial": self.serial,
            "public_key": self.public_key,
            "signature_algorithm": self.signature_algorithm,
        }


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def name_fields(name: x509.Name) -> list[tuple[str, str]]:
    """The readable attributes of a distinguished name, in a fixed order."""
    result = []
    for label, oid in _NAME_FIELDS:
        values = [str(attribute.value) for attribute in name.get_attributes_for_oid(oid)]
        if values:
            result.append((label, ", ".join(values)))
    return result


def alt_names(cert: x509.Certificate) -> list[str]:
    """Subject alternative names as ``DNS:name`` / ``IP:address``."""
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    names = [f"DNS:{name}" for name in extension.value.get_values_for_type(x509.DNSName)]
    names += [f"IP:{ip}" for ip in extension.value.get_values_for_type(x509.IPAddress)]
    return names


def describe_key(cert: x509.Certificate) -> tuple[str, int | None]:
    """("RSA 2048 bits", 2048) and the like; the size is None where it means nothing."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size} bits", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name} ({key.key_size} bits)", None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", None
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size} bits", key.key_size
    return type(key).__name__, None


def signature_name(cert: x509.Certificate) -> str:
    algorithm = cert.signature_hash_algorithm
    oid_name = (
        getattr(cert.signature_algorithm_oid, "_name", "")
        or cert.signature_algorithm_oid.dotted_string
    )
    return oid_name if algorithm is None else f"{oid_name} ({algorithm.name.upper()})"


def short_name(name: x509.Name) -> str:
    """The common name, else the whole name in RFC 4514 form."""
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else name.rfc4514_string()


def chain_links(chain: list[x509.Certificate], ders: list[bytes]) -> list[ChainLink]:
    return [
        ChainLink(short_name(cert.subject), short_name(cert.issuer), fingerprint(der), der)
        for cert, der in zip(chain, ders, strict=True)
    ]
