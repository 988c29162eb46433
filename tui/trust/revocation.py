"""Provides RevocationChecker: OCSP (from the AIA extension), then CRLs (distribution points).

Answers are believed only when signed by the issuer (or by a responder the issuer delegated
OCSP signing to) and fresh. No answer at all means ``unknown``, never ``good``: the caller
decides whether unknown blocks (``--require-revocation``). Thread-safe; results are cached
until the response's next update (an hour at most; a failure for a minute).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from tui.trust.verify import TrustAnchors

MAX_RESPONSE = 16 * 1024 * 1024
CLOCK_SKEW = timedelta(minutes=5)


class _Unusable(Exception):
    """A response that cannot be believed; its message says why."""


def _fetch(url: str, timeout: float, body: bytes | None = None) -> bytes:
    # urllib.request brings http.client and the email package (7 ms at start-up), which a
    # certificate without OCSP or CRL addresses (a private CA's, a self-signed one) never uses.
    import urllib.request

    if not url.lower().startswith(("http://", "https://")):
        raise _Unusable(f"{url}: only HTTP responders are supported")
    headers = {"Content-Type": "application/ocsp-request"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data = response.read(MAX_RESPONSE + 1)
    except OSError as error:
        raise _Unusable(f"{url} unreachable ({getattr(error, 'reason', error)})") from error
    if len(data) > MAX_RESPONSE:
        raise _Unusable(f"{url}: response too large")
    return data


def _verify_signature(key: object, signature: bytes, data: bytes, algorithm: object) -> None:
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, data, padding.PKCS1v15(), algorithm)  # type: ignore[arg-type]
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(algorithm))  # type: ignore[arg-type]
    else:
        key.verify(signature, data)  # type: ignore[attr-defined]


def _urls(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    ocsp_urls: list[str] = []
    crl_urls: list[str] = []
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        ocsp_urls = [
            desc.access_location.value
            for desc in aia
            if desc.access_method == AuthorityInformationAccessOID.OCSP
            and isinstance(desc.access_location, x509.UniformResourceIdentifier)
        ]
    except x509.ExtensionNotFound:
        pass  # no AIA: no OCSP responder named
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        for point in points:
            for name in point.full_name or []:
                if isinstance(name, x509.UniformResourceIdentifier):
                    crl_urls.append(name.value)
    except x509.ExtensionNotFound:
        pass  # no CRL distribution point named
    return ocsp_urls, crl_urls


def find_issuer(chain: list[x509.Certificate], anchors: TrustAnchors) -> x509.Certificate | None:
    """The certificate that signed the leaf: from the chain as sent, else from the anchors."""
    leaf = chain[0]
    for candidate in chain[1:] + anchors.issuers_named(leaf.issuer):
        try:
            leaf.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None


class RevocationChecker:
    """Checks whether a certificate has been revoked.

    Args:
        timeout: Seconds for each OCSP or CRL request.
    """

    def __init__(self, timeout: float = 3.0) -> None:
        self.timeout = timeout
        self._cache: dict[bytes, tuple[float, str, str]] = {}
        self._lock = threading.Lock()

    def check(
        self, chain: list[x509.Certificate], anchors: TrustAnchors, *, now: datetime | None = None
    ) -> tuple[str, str]:
        """Returns ``(status, detail)``; status is good, revoked, unknown or not-checked."""
        leaf = chain[0]
        key = leaf.fingerprint(hashes.SHA256())
        with self._lock:
            cached = self._cache.get(key)
            if cached and cached[0] > time.monotonic():
                return cached[1], cached[2]
        status, detail, lifetime = self._check(chain, anchors, now or datetime.now(UTC))
        with self._lock:
            self._cache[key] = (time.monotonic() + lifetime, status, detail)
        return status, detail

    def _check(
        self, chain: list[x509.Certificate], anchors: TrustAnchors, now: datetime
    ) -> tuple[str, str, float]:
        leaf = chain[0]
        ocsp_urls, crl_urls = _urls(leaf)
        if not ocsp_urls and not crl_urls:
            return "not-checked", "the certificate names no OCSP responder or CRL", 3600
        issuer = find_issuer(chain, anchors)
        if issuer is None:
            return "not-checked", "the issuer is unknown, so its answers cannot be checked", 60
        reasons: list[str] = []
        sources = [("OCSP", url, self._ocsp) for url in ocsp_urls]
        sources += [("CRL", url, self._crl) for url in crl_urls]
        for kind, url, ask in sources:  # OCSP first: smaller and fresher than a CRL
            try:
                return ask(url, leaf, issuer, now)
            except _Unusable as error:
                reasons.append(f"{kind} {error}")
        return "unknown", "; ".join(reasons), 60

    def _ocsp(
        self, url: str, leaf: x509.Certificate, issuer: x509.Certificate, now: datetime
    ) -> tuple[str, str, float]:
        request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1()).build()
        data = _fetch(url, self.timeout, request.public_bytes(serialization.Encoding.DER))
        try:
            response = ocsp.load_der_ocsp_response(data)
        except ValueError as error:
            raise _Unusable(f"{url}: not an OCSP response") from error
        if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            raise _Unusable(f"{url}: responder said {response.response_status.name.lower()}")
        if response.serial_number != leaf.serial_number:
            raise _Unusable(f"{url}: the answer is about another certificate")
        signer = self._ocsp_signer(response, issuer, url)
        try:
            _verify_signature(
                signer.public_key(),
                response.signature,
                response.tbs_response_bytes,
                response.signature_hash_algorithm,
            )
        except (InvalidSignature, TypeError, ValueError) as error:
            raise _Unusable(f"{url}: the response's signature is invalid") from error
        this_update = response.this_update_utc
        next_update = response.next_update_utc
        if this_update > now + CLOCK_SKEW or (next_update and next_update < now - CLOCK_SKEW):
            raise _Unusable(f"{url}: the response is stale or from the future")
        lifetime = _lifetime(next_update, now)
        if response.certificate_status == ocsp.OCSPCertStatus.REVOKED:
            when = response.revocation_time_utc
            stamp = f" on {when:%Y-%m-%d}" if when else ""
            return "revoked", f"revoked{stamp} (OCSP {url})", lifetime
        if response.certificate_status == ocsp.OCSPCertStatus.GOOD:
            return "good", f"not revoked (OCSP {url})", lifetime
        raise _Unusable(f"{url}: the responder does not know this certificate")

    @staticmethod
    def _ocsp_signer(
        response: ocsp.OCSPResponse, issuer: x509.Certificate, url: str
    ) -> x509.Certificate:
        for delegate in response.certificates:
            try:
                delegate.verify_directly_issued_by(issuer)
                usage = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
                continue
            if ExtendedKeyUsageOID.OCSP_SIGNING in usage:
                return delegate
        if response.responder_name == issuer.subject or (
            response.responder_key_hash
            == x509.SubjectKeyIdentifier.from_public_key(issuer.public_key()).digest
        ):
            return issuer
        raise _Unusable(f"{url}: the responder is not authorised by the issuer")

    def _crl(
        self, url: str, leaf: x509.Certificate, issuer: x509.Certificate, now: datetime
    ) -> tuple[str, str, float]:
        data = _fetch(url, self.timeout)
        try:
            crl = x509.load_der_x509_crl(data)
        except ValueError:
            try:
                crl = x509.load_pem_x509_crl(data)
            except ValueError as error:
                raise _Unusable(f"{url}: not a CRL") from error
        if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            raise _Unusable(f"{url}: the CRL is not signed by the issuer")
        next_update = crl.next_update_utc
        if next_update is not None and next_update < now - CLOCK_SKEW:
            raise _Unusable(f"{url}: the CRL is out of date")
        lifetime = _lifetime(next_update, now)
        revoked = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
        if revoked is not None:
            return (
                "revoked",
                f"revoked on {revoked.revocation_date_utc:%Y-%m-%d} (CRL {url})",
                lifetime,
            )
        return "good", f"not revoked (CRL {url})", lifetime


def _lifetime(next_update: datetime | None, now: datetime) -> float:
    if next_update is None:
        return 300.0
    return max(30.0, min(3600.0, (next_update - now).total_seconds()))
