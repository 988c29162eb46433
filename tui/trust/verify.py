"""Provides the per-section verification that turns a TLS handshake into a CertificateReport.

The handshake (OpenSSL) gives the overall answer; it stops at the first fault. Here each
section is judged on its own, so a certificate that is both expired and for the wrong host
shows both:

- **issuer**: the chain as sent is walked to a trust anchor (certifi, the system store, a
  user CA file), checking each signature, whatever the dates and the host name;
- **owner**: the host name or IP address against the subject alternative names (RFC 6125
  wildcards; the common name only when there are no SANs);
- **validity**: not before / not after against the clock.

Weak keys (RSA < 2048) count against the owner, SHA-1 signatures against the issuer.
A handshake failure none of that explains goes to the general problems.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
import threading
import warnings
from collections.abc import Callable
from datetime import UTC, datetime

import certifi
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from tui.identity import CertificateIdentity, fingerprint
from tui.trust.certificate import (
    ISSUER,
    OWNER,
    VALIDITY,
    CertificateReport,
    Section,
    alt_names,
    chain_links,
    describe_key,
    name_fields,
    short_name,
    signature_name,
)

MAX_CHAIN = 10
MIN_RSA_BITS = 2048


class TrustAnchors:
    """The certificates trusted as roots: certifi's bundle, the system store, a user CA file.

    They are read on first use: a handshake that OpenSSL verified never walks to a root, so
    a transfer from a site with a CA-signed certificate does not pay the ~35 ms of reading
    and parsing the stores. Thread-safe.
    """

    def __init__(self, load: Callable[[], list[x509.Certificate]]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._index: tuple[dict[bytes, list[x509.Certificate]], set[bytes]] | None = None

    def _indexed(self) -> tuple[dict[bytes, list[x509.Certificate]], set[bytes]]:
        with self._lock:
            if self._index is None:  # a failed load (an unreadable CA file) is tried again
                by_subject: dict[bytes, list[x509.Certificate]] = {}
                fingerprints: set[bytes] = set()
                for cert in self._load():
                    digest = cert.fingerprint(hashes.SHA256())
                    if digest not in fingerprints:
                        fingerprints.add(digest)
                        by_subject.setdefault(cert.subject.public_bytes(), []).append(cert)
                self._index = by_subject, fingerprints
            return self._index

    def issuers_named(self, name: x509.Name) -> list[x509.Certificate]:
        return self._indexed()[0].get(name.public_bytes(), [])

    def contains(self, cert: x509.Certificate) -> bool:
        return cert.fingerprint(hashes.SHA256()) in self._indexed()[1]

    def __len__(self) -> int:
        return len(self._indexed()[1])


_anchor_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _load_anchors(ca_file: str | None) -> TrustAnchors:
    return TrustAnchors(functools.partial(_read_anchors, ca_file))


def _read_anchors(ca_file: str | None) -> list[x509.Certificate]:
    sources = [certifi.where()]
    paths = ssl.get_default_verify_paths()
    if paths.cafile and os.path.isfile(paths.cafile):
        sources.append(paths.cafile)
    if ca_file:
        sources.append(ca_file)
    if paths.capath and os.path.isdir(paths.capath):
        for name in sorted(os.listdir(paths.capath)):
            path = os.path.join(paths.capath, name)
            if name.endswith((".pem", ".crt", ".0")) and os.path.isfile(path):
                sources.append(path)
    certificates: list[x509.Certificate] = []
    seen: set[str] = set()
    for source in sources:
        real = os.path.realpath(source)  # Debian links each root twice (NAME.pem, HASH.0)
        if real in seen:
            continue
        seen.add(real)
        with open(real, "rb") as handle:
            certificates += _load_pem_bundle(handle.read())
    return certificates


def _load_pem_bundle(data: bytes) -> list[x509.Certificate]:
    try:
        with warnings.catch_warnings():
            # Some system roots have non-positive serials; cryptography warns, still loads.
            warnings.simplefilter("ignore")
            return x509.load_pem_x509_certificates(data)
    except ValueError:
        return []  # not a PEM bundle (a stray file in the system directory); trust nothing from it


def trust_anchors(ca_file: str | None = None) -> TrustAnchors:
    """The anchors for a CA file: one object per file, which reads the stores once."""
    with _anchor_lock:
        return _load_anchors(os.path.abspath(ca_file) if ca_file else None)


# --- owner -------------------------------------------------------------------------------


def host_matches(cert: x509.Certificate, host: str) -> bool:
    """RFC 6125: the host against the DNS/IP SANs, or the CN when there are no SANs."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = None
    if sans is not None:
        if address is not None:
            return address in sans.get_values_for_type(x509.IPAddress)
        return any(
            _dns_matches(pattern, host) for pattern in sans.get_values_for_type(x509.DNSName)
        )
    common_names = [
        str(attr.value) for attr in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    ]
    if address is not None:
        return str(address) in common_names
    return any(_dns_matches(pattern, host) for pattern in common_names)


def _dns_matches(pattern: str, host: str) -> bool:
    pattern = pattern.lower().rstrip(".")
    host = host.lower().rstrip(".")
    if "*" not in pattern:
        return pattern == host
    # A wildcard is the whole leftmost label, stands for exactly one label, and needs at
    # least two labels after it ("*.com" matches nothing).
    first, _, rest = pattern.partition(".")
    if first != "*" or "*" in rest or rest.count(".") < 1:
        return False
    host_first, _, host_rest = host.partition(".")
    return bool(host_first) and host_rest == rest


def judge_owner(cert: x509.Certificate, host: str) -> list[str]:
    problems = []
    if not host_matches(cert, host):
        names = [name.split(":", 1)[1] for name in alt_names(cert)] or [short_name(cert.subject)]
        problems.append(f"Name mismatch: the certificate is for {', '.join(names)}, not {host}")
    label, bits = describe_key(cert)
    if bits is not None and label.startswith(("RSA", "DSA")) and bits < MIN_RSA_BITS:
        problems.append(f"Weak key: {label} (at least {MIN_RSA_BITS} are needed)")
    return problems


# --- issuer ------------------------------------------------------------------------------


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return cert.version == x509.Version.v1  # old roots carry no extensions


def judge_issuer(chain: list[x509.Certificate], anchors: TrustAnchors) -> list[str]:
    """Walk from the leaf to a trust anchor; returns the problems found on the way."""
    problems: list[str] = []
    leaf = chain[0]
    algorithm = leaf.signature_hash_algorithm
    if isinstance(algorithm, hashes.SHA1 | hashes.MD5):
        problems.append(f"Weak signature: {algorithm.name.upper()} (SHA-256 or better is needed)")
    if anchors.contains(leaf):
        return problems
    if leaf.issuer == leaf.subject and _signed_by(leaf, leaf):
        return problems + ["Self-signed: no authority vouches for this certificate"]
    current = leaf
    for depth in range(MAX_CHAIN):
        sent = [cert for cert in chain[1:] if cert.subject == current.issuer]
        known = anchors.issuers_named(current.issuer)
        candidates = sent + known
        if not candidates:
            who = short_name(current.issuer)
            # Which of the two it is cannot be told from the leaf alone.
            hint = " (a private CA, or an intermediate the server did not send)"
            hint = hint if depth == 0 else ""
            return problems + [f"Unknown issuer: {who} is not a trusted authority{hint}"]
        issuer = next((cert for cert in candidates if _signed_by(current, cert)), None)
        if issuer is None:
            return problems + [f"Bad signature: not signed by {short_name(current.issuer)}"]
        if anchors.contains(issuer) or any(issuer.public_key() == k.public_key() for k in known):
            return problems
        if not _is_ca(issuer):
            return problems + [f"Invalid chain: {short_name(issuer.subject)} is not a CA"]
        if issuer.issuer == issuer.subject:
            return problems + [
                f"Unknown root: {short_name(issuer.subject)} is not a trusted authority"
            ]
        current = issuer
    return problems + ["Invalid chain: too long"]


# --- validity ----------------------------------------------------------------------------


def judge_validity(cert: x509.Certificate, now: datetime) -> list[str]:
    if now < cert.not_valid_before_utc:
        return [f"Not yet valid: valid from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"]
    if now > cert.not_valid_after_utc:
        days = (now - cert.not_valid_after_utc).days
        return [f"Expired on {cert.not_valid_after_utc:%Y-%m-%d} ({days} days ago)"]
    return []


# --- the report --------------------------------------------------------------------------


def build_report(
    check: CertificateIdentity, anchors: TrustAnchors, *, now: datetime | None = None
) -> CertificateReport:
    """Judge a handshake's certificate section by section (revocation is checked apart)."""
    now = now or datetime.now(UTC)
    ders = list(check.chain)
    chain = [x509.load_der_x509_certificate(der) for der in ders]
    leaf = chain[0]
    owner = Section(OWNER, name_fields(leaf.subject), judge_owner(leaf, check.host))
    sans = alt_names(leaf)
    if sans:
        owner.fields.append(("Alternative names", ", ".join(sans)))
    if not owner.fields:
        owner.fields.append(("Name", leaf.subject.rfc4514_string() or "(empty)"))
    if leaf.issuer == leaf.subject:
        issuer_fields = [("Name", "Self-signed (the owner itself)")]
    else:
        issuer_fields = name_fields(leaf.issuer) or [("Name", leaf.issuer.rfc4514_string())]
    issuer = Section(ISSUER, issuer_fields, [] if check.verified else judge_issuer(chain, anchors))
    days_left = (leaf.not_valid_after_utc - now).days
    validity = Section(
        VALIDITY,
        [
            ("Not before", f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC"),
            ("Not after", f"{leaf.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC"),
            ("Days left", str(days_left)),
        ],
        judge_validity(leaf, now),
    )
    key_label, _ = describe_key(leaf)
    report = CertificateReport(
        site=check.site,
        host=check.host,
        owner=owner,
        issuer=issuer,
        validity=validity,
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        serial=format(leaf.serial_number, "X"),
        public_key=key_label,
        signature_algorithm=signature_name(leaf),
        sha256=fingerprint(ders[0]),
        sha1=fingerprint(ders[0], "sha1"),
        chain=chain_links(chain, ders),
        tls_version=check.tls_version,
        cipher=check.cipher,
        leaf_der=ders[0],
        verified_by_ca=check.verified,
    )
    if not check.verified and all(section.valid for section in report.sections):
        # OpenSSL refused it for a reason no section explains (wrong key usage, a critical
        # extension it does not know, a CA certificate used as a server's …).
        report.problems.append(f"Invalid certificate: {'; '.join(check.problems) or 'rejected'}")
    return report
