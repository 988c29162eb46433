"""Provides SessionOpener: the start of an FTP session (connect, TLS, trust decision, login,
features), kept apart from the file operations in ``ftp.py``."""

from __future__ import annotations

import ftplib
import socket
import ssl
from collections.abc import Callable

from tui.errors import (
    AuthFailed,
    CertificateNotTrusted,
    ConnectFailed,
    ConnectionLost,
    FerrymanError,
    ProtocolError,
    RemoteError,
    TLSError,
    TLSNotOffered,
    UsageError,
)
from tui.identity import IdentityDecider
from tui.remote.base import Capabilities
from tui.remote.ftpcontrol import Control, LogCallback
from tui.remote.replies import error_for_reply, hash_names, parse_features
from tui.remote.tls import (
    PeerCertificate,
    TLSCheck,
    unverified_context,
    verifying_context,
)
from tui.sites import Site

LoginGate = Callable[[Site, bool], None]
"""Called with the site and whether the control connection is TLS, after the connection is
secured and its certificate accepted, before USER: it may refuse (raise, e.g. a TLS
downgrade) and fills in the site's credentials, which are only then looked up or asked for."""

_MLST_FACTS = {"type", "size", "modify", "perm", "unix.mode", "unique"}  # unique: loops


class _PlainFallback(Exception):
    """``--tls=auto`` and the server refused AUTH TLS: carries the plain connection."""

    def __init__(self, control: Control) -> None:
        super().__init__("plain fallback")
        self.control = control


_MLST_FACTS = {"type", "size", "modify", "perm", "unix.mode", "unique"}  # unique: loops


class SessionOpener:
    """Opens one control connection for a site. Not thread-safe (one use, one thread)."""

    def __init__(
        self,
        site: Site,
        *,
        timeout: float,
        ca_file: str | None,
        decider: IdentityDecider,
        log: LogCallback | None,
        before_login: LoginGate | None = None,
    ) -> None:
        self.site = site
        self.timeout = timeout
        self.ca_file = ca_file
        self.decider = decider
        self.log = log
        self.before_login = before_login

    def secured(self) -> tuple[Control, TLSCheck | None]:
        """The control connection, secured as the site asks, its certificate accepted by
        the decider; the TLSCheck is None for plain FTP."""
        if self.site.tls == "none":
            return self._open(None), None
        try:
            control, check = self.handshake()
        except _PlainFallback as fallback:
            return fallback.control, None  # "auto" and the server offers no TLS
        try:
            accepted = self.decider(check)
        except BaseException:
            control.abandon()
            raise
        if not accepted:
            control.abandon()
            problem = "; ".join(check.problems) or "refused"
            raise CertificateNotTrusted(
                f"The certificate of {self.site.key} is not trusted ({problem}); "
                f"SHA-256 fingerprint {check.peer.sha256}",
                check,
            )
        if self.log and not check.verified:
            self.log("*", f"Certificate {check.peer.sha256} accepted although it did not verify")
        return control, check

    def handshake(self) -> tuple[Control, TLSCheck]:
        """Open the control connection with TLS and describe the server's certificate.

        A verifying handshake first; if it fails, the certificate is fetched on a second
        connection without verification, so the decider judges exactly what that
        connection presents (no window where another certificate could slip in).
        """
        try:
            control = self._open(verifying_context(self.ca_file))
        except ssl.SSLCertVerificationError as error:
            control = self._open(unverified_context())
            problem = error.verify_message or error.reason or str(error)
            return control, self._check(
                control, verified=False, problems=(problem,), code=error.verify_code
            )
        if not control.is_tls:  # "auto" and the server has no TLS
            raise _PlainFallback(control)
        return control, self._check(control, verified=True)

    def fetch_certificate(self) -> TLSCheck:
        """Handshake, describe the certificate, and disconnect without logging in.

        Raises:
            UsageError: the site is plain FTP (no certificate to fetch).
            ConnectFailed, TLSNotOffered, TLSError.
        """
        if self.site.tls == "none":
            raise UsageError(
                f"{self.site.url()} is plain FTP and has no certificate; use ftpes:// or ftps://"
            )
        try:
            control, check = self.handshake()
        except _PlainFallback as fallback:
            fallback.control.abandon()
            raise TLSNotOffered(f"{self.site.key} does not offer TLS") from None
        control.abandon()
        return check

    def _check(
        self, control: Control, *, verified: bool, problems: tuple[str, ...] = (), code: int = 0
    ) -> TLSCheck:
        return TLSCheck(
            site=self.site.key,
            host=self.site.host,
            peer=PeerCertificate.from_socket(control.tls_socket),
            verified=verified,
            problems=problems,
            verify_code=code,
        )

    def _open(self, context: ssl.SSLContext | None) -> Control:
        site = self.site
        control = Control(timeout=self.timeout, log=self.log)
        control.passive = site.passive
        where = f"{site.host} port {site.port}"
        try:
            implicit = context if site.tls == "implicit" else None
            control.open(site.host, site.port, server_hostname=site.host, implicit_context=implicit)
            if context is not None and site.tls in ("explicit", "auto"):
                try:
                    control.start_tls(context)
                except ftplib.error_perm as refusal:
                    if site.tls == "explicit":
                        raise TLSNotOffered(
                            f"{where} does not offer TLS (AUTH TLS refused: {refusal}); "
                            "use ftp:// to connect without encryption",
                            reply=str(refusal),
                        ) from refusal
                    if self.log:
                        self.log("*", "The server does not offer TLS: continuing UNENCRYPTED")
        except (FerrymanError, ssl.SSLCertVerificationError):
            control.abandon()
            raise  # already clear; a verification failure is the caller's to judge
        except BaseException as error:
            control.abandon()
            raise _connect_error(error, where, self.timeout) from error
        return control

    def login(self, control: Control) -> None:
        """Pass the login gate (downgrade check, credentials), then USER and PASS.

        Raises:
            AuthFailed, ConnectionLost, ProtocolError, and whatever the gate raises.
        """
        if self.before_login is not None:
            self.before_login(self.site, control.is_tls)
        user = self.site.user or "anonymous"
        password = self.site.password or ""
        try:
            control.login(user, password)
        except ftplib.error_perm as error:
            reply = _without(str(error), password)
            raise AuthFailed(
                f"Login as {user!r} on {self.site.key} failed: {reply[4:]} "
                f"({reply[:3]} Not logged in)",
                reply=reply,
            ) from None
        except ftplib.Error as error:
            reply = _without(str(error), password)
            raise error_for_reply(reply, f"Login as {user!r} failed") from None
        except (OSError, EOFError) as error:
            raise ConnectionLost(f"{self.site.key} closed the connection during login") from error
        except FerrymanError as error:
            mask_password(error, password)  # a refused reply is quoted in its message
            raise


def mask_password(error: FerrymanError, password: str | None) -> None:
    """Mask ``password`` in ``error``'s message and reply, in place: a server may echo it
    in any reply, and errors quote replies (the -v log masks its own lines)."""
    if not password:
        return
    error.message = _without(error.message, password)
    error.reply = error.reply and _without(error.reply, password)
    error.args = (error.message,)


def _without(reply: str, password: str) -> str:
    """The reply to USER/PASS with the password masked: a server may echo what it got
    (also as ``repr`` quotes it in a message: a backslash or quote doubled)."""
    if not password:
        return reply
    for form in (password, repr(password)[1:-1], repr(f"'{password}")[2:-1]):
        reply = reply.replace(form, "****")
    return reply


def read_features(control: Control, caps: Capabilities) -> None:
    """Learn the server's extensions (FEAT) into ``caps`` and switch on the useful ones."""
    try:
        reply = control.sendcmd("FEAT")
    except ftplib.error_perm:
        return  # FEAT is optional (RFC 2389); the server simply has no extensions
    features = parse_features(reply)
    caps.features = features
    caps.mlsd = "MLST" in features
    caps.resume_download = "REST" in features
    caps.resume_upload = "REST" in features
    caps.set_mtime = "MFMT" in features
    caps.utf8 = "UTF8" in features
    if "HASH" in features:
        caps.hashes = hash_names(features["HASH"])
    caps.hashes += [algo for algo in ("XSHA256", "XSHA1", "XMD5") if algo in features]
    if caps.mlsd and "unix.mode" in features["MLST"].lower():
        # Facts without "*" are off until asked for; unix.mode gives rwx permissions.
        wanted = [fact.rstrip("*") for fact in features["MLST"].split(";") if fact]
        wanted = [fact for fact in wanted if fact.lower() in _MLST_FACTS]
        try:
            control.sendcmd(f"OPTS MLST {';'.join(wanted)};")
        except ftplib.Error:
            pass  # the default facts are enough to list
    if caps.utf8:
        try:
            control.sendcmd("OPTS UTF8 ON")
        except ftplib.Error:
            pass  # some servers are always UTF-8 and refuse the switch; harmless


def unix_like(control: Control) -> bool:
    """Whether SYST says UNIX (so LIST takes ls options)."""
    try:
        return "UNIX" in control.sendcmd("SYST").upper()
    except ftplib.Error:
        return False


def _connect_error(error: BaseException, where: str, timeout: float) -> FerrymanError:
    """One clear sentence for everything that can go wrong before login."""
    if isinstance(error, socket.gaierror):
        return ConnectFailed(f"Unknown host: cannot resolve {where.split(' port ')[0]}")
    if isinstance(error, ConnectionRefusedError):
        return ConnectFailed(f"{where} refused the connection (is an FTP server running there?)")
    if isinstance(error, TimeoutError):
        return ConnectFailed(f"No answer from {where} within {timeout:g} s")
    if isinstance(error, ssl.SSLError):
        return TLSError(f"TLS handshake with {where} failed: {error.reason or error}")
    if isinstance(error, EOFError | ConnectionResetError):
        return ConnectFailed(f"{where} closed the connection before greeting")
    if isinstance(error, ftplib.error_proto):
        return ProtocolError(f"{where} does not speak FTP (greeting: {str(error)[:80]!r})")
    if isinstance(error, ftplib.Error):
        return ConnectFailed(f"{where} refused the session: {error}", reply=str(error))
    if isinstance(error, OSError):
        return ConnectFailed(f"Cannot connect to {where}: {error.strerror or error}")
    return RemoteError(f"Cannot connect to {where}: {error}")
