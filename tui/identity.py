"""Provides the protocol-neutral peer identity: what a server proves about itself in a handshake.

Every backend describes the identity its server presented (an X.509 certificate over TLS, an
SSH host key, …) as a :class:`PeerIdentity` and hands it to an :data:`IdentityDecider`
during its handshake; the trust policy (``tui.trust.policy``) is the decider the connection
service passes. This module sits below both ``tui.remote`` and ``tui.trust`` (an import
contract): it knows no protocol and imports nothing of Ferryman but the errors.

Fingerprints are SHA-256. Each kind prints in the form its users already know: upper-case hex
pairs for certificates (``AB:CD:…``), OpenSSH's ``SHA256:`` + unpadded base64 for host keys;
:func:`normalize_fingerprint` reads either form (DESIGN.md, "Trust model" 9).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

X509 = "x509"
"""An X.509 certificate presented in a TLS handshake (FTPS)."""
SSH_HOST_KEY = "ssh-host-key"
"""An SSH server's host key (SFTP)."""

#: kind → (what the user calls one, how its fingerprint prints: "hex" or "openssh")
KINDS: dict[str, tuple[str, str]] = {
    X509: ("certificate", "hex"),
    SSH_HOST_KEY: ("host key", "openssh"),
}


def register_kind(kind: str, noun: str, style: str = "hex") -> None:
    """Declare an identity kind (its name for the user, its fingerprint form).

    Raises:
        ValueError: ``style`` is neither ``"hex"`` nor ``"openssh"``.
    """
    if style not in ("hex", "openssh"):
        raise ValueError(f"unknown fingerprint style {style!r}")
    KINDS[kind] = (noun, style)


def kind_noun(kind: str) -> str:
    """``"certificate"``, ``"host key"``, … (``"identity"`` for a kind nobody declared)."""
    return KINDS.get(kind, ("identity", "hex"))[0]


class PeerIdentity(Protocol):
    """What a server presented, as the trust policy sees every kind.

    Attributes:
        site: ``"host:port"``, the trust store's key.
        host: The name the user asked for (checked against a certificate's names).
        kind: :data:`X509`, :data:`SSH_HOST_KEY`, or a kind a backend registered.
        sha256: The SHA-256 fingerprint of the identity (the leaf's DER, the key's blob)
            as upper-case hex pairs, the store's pin.
        verified: An authority the user already trusts vouches for it (a CA chain with the
            host name; a ``known_hosts`` entry): connect without asking.
        problems: Why it was not vouched for, in the verifier's words.
    """

    @property
    def site(self) -> str: ...

    @property
    def host(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def sha256(self) -> str: ...

    @property
    def verified(self) -> bool: ...

    @property
    def problems(self) -> tuple[str, ...]: ...


class CertificateIdentity(PeerIdentity, Protocol):
    """The X.509 kind's details: the chain as sent and the TLS session."""

    @property
    def chain(self) -> tuple[bytes, ...]: ...

    @property
    def tls_version(self) -> str: ...

    @property
    def cipher(self) -> str: ...


class Identity(NamedTuple):  # a NamedTuple: cheaper to define at start-up than a dataclass
    """A peer identity of any kind whose details are a few labelled values.

    Host keys fit here (``details``: key type, the key in OpenSSH's base64, what
    ``known_hosts`` says); so does a test backend's toy kind.

    Attributes:
        revoked: Why it is revoked (a ``@revoked`` line in ``known_hosts``), or None. A
            revoked identity is refused and cannot be accepted.
    """

    site: str
    host: str
    kind: str
    sha256: str
    verified: bool = False
    problems: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = ()
    revoked: str | None = None


ON_THE_WAY = "on_the_way_to"
"""A label of ``Identity.details``: the identity is that of a host the connection passes on
its way to the site the user named (an SSH ProxyJump host); the value is that site's key.
``--trust`` names the site's own identity, so the policy never accepts such a host's on it:
one fingerprint given for one host must not let another through."""


def on_the_way(identity: PeerIdentity) -> str | None:
    """The site an identity was met on the way to (:data:`ON_THE_WAY`), or None."""
    details = identity.details if isinstance(identity, Identity) else ()
    return dict(details).get(ON_THE_WAY)


IdentityDecider = Callable[[PeerIdentity], bool]
"""Called by a backend during every handshake with what the server presented; True to go
on, False (or an exception) to refuse. The connection service passes ``TrustPolicy.decide``."""


def verified_only(identity: PeerIdentity) -> bool:
    """The default decider: only an identity an authority vouches for is accepted."""
    return identity.verified


# --- fingerprints ----------------------------------------------------------------------------


def fingerprint(data: bytes, algorithm: str = "sha256") -> str:
    """Upper-case hex pairs joined by colons, e.g. ``"AB:CD:…"`` (DESIGN.md)."""
    import hashlib  # here, not at the top: every command imports this module at start-up

    digest = hashlib.new(algorithm, data).hexdigest().upper()
    return ":".join(digest[index : index + 2] for index in range(0, len(digest), 2))


def _hex_pairs(digest: bytes) -> str:
    text = digest.hex().upper()
    return ":".join(text[index : index + 2] for index in range(0, len(text), 2))


def normalize_fingerprint(text: str) -> str:
    """Read a SHA-256 fingerprint in any form users paste and return hex pairs.

    Accepted: ``AB:CD:…`` or ``abcd…`` (64 hex digits), either with a ``SHA256:`` prefix in
    any case, and OpenSSH's ``SHA256:`` + base64 (43 characters, ``=`` padding optional).
    The lengths cannot be confused: 64 hex digits are never 32 bytes of base64.

    Raises:
        ValueError: the text is not a SHA-256 fingerprint.
    """
    value = text.strip()
    prefixed = value[:7].upper() == "SHA256:"
    if prefixed:
        value = value[7:]
    hex_digits = value.replace(":", "").upper()
    if len(hex_digits) == 64 and all(ch in "0123456789ABCDEF" for ch in hex_digits):
        return ":".join(hex_digits[index : index + 2] for index in range(0, 64, 2))
    if prefixed and len(value.rstrip("=")) == 43 and ":" not in value:
        import base64
        import binascii

        try:
            digest = base64.b64decode(value.rstrip("=") + "=", validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) == 32:
            return _hex_pairs(digest)
    raise ValueError(f"not a SHA-256 fingerprint: {text!r}")


def openssh_fingerprint(sha256: str) -> str:
    """``SHA256:`` + unpadded base64, as ``ssh-keygen -l`` prints it.

    Raises:
        ValueError: ``sha256`` is not a SHA-256 fingerprint.
    """
    import base64

    digest = bytes.fromhex(normalize_fingerprint(sha256).replace(":", ""))
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def show_fingerprint(sha256: str, kind: str) -> str:
    """The fingerprint in the form users of ``kind`` know (hex pairs, or OpenSSH's)."""
    if KINDS.get(kind, ("", "hex"))[1] == "openssh":
        try:
            return openssh_fingerprint(sha256)
        except ValueError:
            return sha256  # a damaged record is shown as it stands
    return sha256
