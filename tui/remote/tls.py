"""Provides TLS contexts and the X.509 kind of peer identity, for the FTPS backend.

A connection first handshakes with full verification (certifi + the system store + an
optional user CA file, with hostname checking). If that succeeds the server is trusted and
nobody is asked. If it fails, the connection fetches the certificate without verifying it,
describes it in a :class:`TLSCheck` (a ``tui.identity.PeerIdentity`` of kind ``x509``), and
calls the :data:`~tui.identity.IdentityDecider` it was given: the trust policy, which asks
the trust store, the certificate modal (the app) or ``--trust FP`` (the CLI). The default
decider refuses, so nothing is trusted silently.
"""

from __future__ import annotations

import _ssl
import functools
import os
import re
import ssl
from dataclasses import dataclass, field

import certifi

# fingerprint, normalize_fingerprint and verified_only stay importable from here, where they
# lived before the identity seam.
from tui.identity import X509, IdentityDecider, fingerprint, normalize_fingerprint, verified_only


def verifying_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A client context that verifies the chain and the host name.

    Trust anchors: certifi's bundle, the system store, and ``ca_file`` when given. Loading
    them costs about 12 ms of CPU (certifi's; the system's is looked up when needed, see
    :func:`_load_system_store`), which every session paid (five times over before a ``-j 4``
    transfer could start), so one context serves all the sessions for a CA file, until that
    file changes. Callers must not change it.
    """
    stamp = None
    if ca_file:
        try:
            info = os.stat(ca_file)
            stamp = (os.path.abspath(ca_file), info.st_mtime_ns, info.st_size)
        except OSError:
            pass  # loading it raises the real error, and a failure is not cached
    return _verifying_context(ca_file, stamp)


@functools.lru_cache(maxsize=8)
def _verifying_context(ca_file: str | None, stamp: object) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    _load_system_store(context)
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


_HASHED_NAME = re.compile(r"[0-9a-f]{8}\.[0-9]+")


def _load_system_store(context: ssl.SSLContext) -> None:
    """Add the system's trust anchors, without parsing them all where that can be avoided.

    ``load_default_certs`` parses every certificate of the system bundle (about 15 ms,
    paid by every command before it connects). Where the bundle is generated into a
    directory that also holds the same certificates under their subject-hash names
    (``update-ca-certificates`` on Debian and Ubuntu, Alpine, Arch), OpenSSL can look
    anchors up in that directory when a chain needs one. Elsewhere (Fedora's bundle lives
    apart from an unhashed folder), or when ``SSL_CERT_FILE`` names another bundle than the
    system's, it is loaded whole as before.
    """
    paths = ssl.get_default_verify_paths()
    capath, cafile = paths.capath, paths.cafile
    if capath and cafile:
        bundle, folder = os.path.realpath(cafile), os.path.realpath(capath)
        if (
            bundle == os.path.realpath(paths.openssl_cafile)
            and os.path.dirname(bundle) == folder
            and _is_hashed(folder)
        ):
            context.load_verify_locations(capath=capath)
            return
    context.load_default_certs()


def _is_hashed(folder: str) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(_HASHED_NAME.fullmatch(entry.name) for entry in entries)
    except OSError:
        return False


def unverified_context() -> ssl.SSLContext:
    """A client context that accepts any certificate, for fetching one to show the user.

    Only used after a verifying handshake failed; what it yields is checked against the
    decision (the exact fingerprint the user or the trust store accepted).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Security level 0 so a weak certificate (RSA-1024, SHA-1) can still be fetched and
    # shown as weak, instead of failing the handshake with no certificate to show.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


# `_ssl.Certificate.public_bytes` takes the private module's encoding constants.
_ENCODING_DER = getattr(ssl, "ENCODING_DER", getattr(_ssl, "ENCODING_DER", 2))


def peer_chain(sock: ssl.SSLSocket) -> list[bytes]:
    """The certificates the server sent, leaf first, as DER.

    Python 3.13 made ``get_unverified_chain`` public; 3.11 and 3.12 only have it on the
    private ``_sslobj``. Without either, fall back to the leaf alone.
    """
    getter = getattr(sock, "get_unverified_chain", None)
    if getter is None:
        getter = getattr(getattr(sock, "_sslobj", None), "get_unverified_chain", None)
    chain: list[bytes] = []
    if getter is not None:
        for cert in getter() or []:
            chain.append(cert if isinstance(cert, bytes) else cert.public_bytes(_ENCODING_DER))
    if not chain:
        leaf = sock.getpeercert(binary_form=True)
        if leaf:
            chain.append(leaf)
    return chain


@dataclass(frozen=True, slots=True)
class PeerCertificate:
    """What a server presented in a TLS handshake.

    Attributes:
        chain: DER certificates as sent, leaf first.
        tls_version: e.g. ``"TLSv1.3"``.
        cipher: e.g. ``"TLS_AES_256_GCM_SHA384"``.
    """

    chain: tuple[bytes, ...]
    tls_version: str
    cipher: str

    @property
    def leaf(self) -> bytes:
        return self.chain[0]

    @property
    def sha256(self) -> str:
        return fingerprint(self.leaf, "sha256")

    @property
    def sha1(self) -> str:
        return fingerprint(self.leaf, "sha1")

    @classmethod
    def from_socket(cls, sock: ssl.SSLSocket) -> PeerCertificate:
        cipher = sock.cipher()
        return cls(
            chain=tuple(peer_chain(sock)),
            tls_version=sock.version() or "",
            cipher=cipher[0] if cipher else "",
        )


@dataclass(frozen=True, slots=True)
class TLSCheck:
    """The verification result for one site, handed to a decider and kept on the session.

    Attributes:
        site: ``"host:port"``, the trust store's key.
        host: The host name that was checked against the certificate.
        peer: The certificate and session parameters.
        verified: The chain and host name verified against the trust anchors.
        problems: Why verification failed (OpenSSL's words), empty when ``verified``.
        verify_code: OpenSSL's verification error code (0 when verified).
    """

    site: str
    host: str
    peer: PeerCertificate
    verified: bool
    problems: tuple[str, ...] = field(default=())
    verify_code: int = 0

    # --- tui.identity.CertificateIdentity ----------------------------------------------

    @property
    def kind(self) -> str:
        return X509

    @property
    def sha256(self) -> str:
        return self.peer.sha256

    @property
    def chain(self) -> tuple[bytes, ...]:
        return self.peer.chain

    @property
    def tls_version(self) -> str:
        return self.peer.tls_version

    @property
    def cipher(self) -> str:
        return self.peer.cipher


CertificateDecider = IdentityDecider
"""The decider a TLS handshake calls (the protocol-neutral one; the name is kept)."""

__all__ = [
    "CertificateDecider",
    "PeerCertificate",
    "TLSCheck",
    "fingerprint",
    "normalize_fingerprint",
    "peer_chain",
    "unverified_context",
    "verified_only",
    "verifying_context",
]
