"""Provides FTPFS: the RemoteFS for plain FTP, explicit FTPS (ftpes://) and implicit FTPS (ftps://).

Not thread-safe: one session serves one thread at a time. After ``ConnectionLost`` the
object is dead; open a new one.
"""

from __future__ import annotations

import ftplib
import posixpath
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from tui.errors import (
    AuthFailed,
    CertificateNotTrusted,
    ConnectFailed,
    ConnectionLost,
    FerrymanError,
    InvalidName,
    NotFound,
    NotSupported,
    ProtocolError,
    RemoteError,
    TLSError,
    TLSNotOffered,
    UsageError,
)
from tui.remote.base import Capabilities, Entry, EntryType, RemoteFS
from tui.remote.ftpcontrol import Control, LogCallback
from tui.remote.ftpio import FTPReader, FTPWriter, read_lines
from tui.remote.listing import parse_list_line, parse_mdtm, parse_mlsd_line
from tui.remote.replies import error_for_reply
from tui.remote.tls import (
    CertificateDecider,
    PeerCertificate,
    TLSCheck,
    unverified_context,
    verified_only,
    verifying_context,
)
from tui.sites import Site


class _PlainFallback(Exception):
    """``--tls=auto`` and the server refused AUTH TLS: carries the plain connection."""

    def __init__(self, control: Control) -> None:
        super().__init__("plain fallback")
        self.control = control


_MLST_FACTS = {"type", "size", "modify", "perm", "unix.mode"}


class FTPFS(RemoteFS):
    """One FTP or FTPS session.

    Args:
        site: Where to connect; ``site.user``/``site.password`` must be resolved already
            (the ConnectionService does that).
        timeout: Seconds for connecting and for each socket operation.
        ca_file: Extra trust anchors (PEM) besides certifi and the system store.
        decider: Asked after every TLS handshake; the default accepts only verified ones.
        log: Receives the protocol conversation, password masked.
    """

    def __init__(
        self,
        site: Site,
        *,
        timeout: float = 30.0,
        ca_file: str | None = None,
        decider: CertificateDecider = verified_only,
        log: LogCallback | None = None,
    ) -> None:
        self.site = site
        self.timeout = timeout
        self.ca_file = ca_file
        self.decider = decider
        self.log = log
        self.label = site.url(path="")
        self.tls: TLSCheck | None = None
        self.welcome = ""
        self._control: Control | None = None
        self._caps = Capabilities()
        self._home = "/"
        self._list_command = "LIST -a"

    # --- connecting ----------------------------------------------------------------------

    def connect(self) -> FTPFS:
        """Connect, secure, log in and learn the server's features.

        Raises:
            ConnectFailed, TLSNotOffered, TLSError, CertificateNotTrusted, AuthFailed,
            ConnectionLost, ProtocolError.
        """
        control = self._open_secured()
        self._control = control
        try:
            self._login(control)
            self._after_login(control)
        except BaseException:
            self._control = None
            control.abandon()
            raise
        return self

    def _open_secured(self) -> Control:
        if self.site.tls == "none":
            return self._open(None)
        try:
            control, check = self._handshake()
        except _PlainFallback as fallback:
            return fallback.control  # "auto" and the server offers no TLS
        self.tls = check
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
        return control

    def _handshake(self) -> tuple[Control, TLSCheck]:
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
            control, check = self._handshake()
        except _PlainFallback as fallback:
            fallback.control.abandon()
            raise TLSNotOffered(f"{self.site.key} does not offer TLS") from None
        control.abandon()
        self.tls = check
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
        except FerrymanError:
            control.abandon()
            raise
        except ssl.SSLCertVerificationError:
            control.abandon()
            raise
        except BaseException as error:
            control.abandon()
            raise _connect_error(error, where, self.timeout) from error
        return control

    def _login(self, control: Control) -> None:
        user = self.site.user or "anonymous"
        try:
            control.login(user, self.site.password or "")
        except ftplib.error_perm as error:
            raise AuthFailed(
                f"Login as {user!r} on {self.site.key} failed: {str(error)[4:]} "
                f"({str(error)[:3]} Not logged in)",
                reply=str(error),
            ) from error
        except ftplib.Error as error:
            raise error_for_reply(str(error), f"Login as {user!r} failed") from error
        except (OSError, EOFError) as error:
            raise ConnectionLost(f"{self.site.key} closed the connection during login") from error

    def _after_login(self, control: Control) -> None:
        with self._translate("Cannot set up the session"):
            self._read_features(control)
            if control.is_tls:
                control.protect_data(control.tls_socket.context)
            control.voidcmd("TYPE I")
            self._home = self._pwd(control)
        # "LIST -a" shows dot files on Unix servers; others take "-a" for a file name.
        self._list_command = "LIST -a" if self._unix_like(control) else "LIST"

    def _read_features(self, control: Control) -> None:
        try:
            reply = control.sendcmd("FEAT")
        except ftplib.error_perm:
            return  # FEAT is optional (RFC 2389); the server simply has no extensions
        features: dict[str, str] = {}
        for line in reply.splitlines()[1:-1]:
            name, _, argument = line.strip().partition(" ")
            if name:
                features[name.upper()] = argument.strip()
        caps = self._caps
        caps.features = features
        caps.mlsd = "MLST" in features
        caps.resume_download = "REST" in features
        caps.resume_upload = "REST" in features
        caps.set_mtime = "MFMT" in features
        caps.utf8 = "UTF8" in features
        if "HASH" in features:
            caps.hashes = [name.rstrip("*").upper() for name in features["HASH"].split(";") if name]
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

    def _unix_like(self, control: Control) -> bool:
        try:
            return "UNIX" in control.sendcmd("SYST").upper()
        except ftplib.Error:
            return False

    def _pwd(self, control: Control) -> str:
        reply = control.sendcmd("PWD")
        try:
            path = ftplib.parse257(reply)
        except ftplib.error_reply as error:
            raise ProtocolError(f"Malformed PWD reply: {reply}") from error
        return self._from_wire(path) or "/"

    # --- helpers -------------------------------------------------------------------------

    @property
    def control(self) -> Control:
        if self._control is None:
            raise ConnectionLost(f"Not connected to {self.site.key}")
        return self._control

    def _to_wire(self, path: str) -> str:
        if "\r" in path or "\n" in path or "\x00" in path:
            raise InvalidName(f"{path!r} contains a line break or NUL, which FTP cannot send")
        return path.encode(self.site.encoding, "surrogateescape").decode("latin-1")

    def _from_wire(self, text: str) -> str:
        return text.encode("latin-1").decode(self.site.encoding, "surrogateescape")

    def resolve(self, path: str) -> str:
        """Make ``path`` absolute: relative paths start at the login directory."""
        if not path.startswith("/"):
            path = posixpath.join(self._home, path)
        normal = posixpath.normpath(path)
        return "/" + normal.lstrip("/")

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Turn ftplib and socket exceptions into Ferryman errors that name the action."""
        try:
            yield
        except FerrymanError as error:
            if isinstance(error, ConnectionLost):
                self._drop()
            raise
        except (ftplib.error_perm, ftplib.error_temp, ftplib.error_reply) as error:
            mapped = error_for_reply(str(error), action)
            if isinstance(mapped, ConnectionLost):
                self._drop()
            raise mapped from error
        except ftplib.error_proto as error:
            self._drop()
            raise ProtocolError(f"{action}: the server sent an invalid reply ({error})") from error
        except ssl.SSLError as error:
            self._drop()
            raise TLSError(f"{action}: TLS failed ({error.reason or error})") from error
        except TimeoutError as error:
            self._drop()
            raise ConnectionLost(
                f"{action}: {self.site.key} did not answer within {self.timeout:g} s"
            ) from error
        except (OSError, EOFError) as error:
            self._drop()
            raise ConnectionLost(f"{action}: the connection to {self.site.key} was lost") from error
        except ftplib.Error as error:  # "got more than 8192 bytes" and similar
            self._drop()
            raise ProtocolError(f"{action}: {error}") from error

    def _drop(self) -> None:
        if self._control is not None:
            self._control.abandon()
            self._control = None

    def _command(self, command: str, action: str) -> str:
        with self._translate(action):
            return self.control.sendcmd(command)

    # --- RemoteFS ------------------------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def home(self) -> str:
        return self._home

    def listdir(self, path: str) -> list[Entry]:
        return list(self.iterdir(path))

    def iterdir(self, path: str) -> Iterator[Entry]:
        target = self.resolve(path)
        action = f"Cannot list {target}"
        with self._translate(action):
            self.control.sendcmd(f"CWD {self._to_wire(target)}")
        if self._caps.mlsd:
            lines = self._listing("MLSD", action)
            entries = (parse_mlsd_line(line) for line in lines)
        else:
            lines = self._listing(self._list_command, action)
            entries = (parse_list_line(line) for line in lines)
        return iter([entry for entry in entries if entry is not None])

    def _listing(self, command: str, action: str) -> list[str]:
        try:
            with self._translate(action):
                conn, _ = self.control.open_data(command)
        except NotSupported:
            if command != "LIST -a":
                raise
            self._list_command = "LIST"
            return self._listing("LIST", action)
        except NotFound:
            if command != "LIST -a":
                raise
            # Some servers read "-a" as a file name and answer 550; try plain LIST.
            self._list_command = "LIST"
            return self._listing("LIST", action)
        with self._translate(action):
            data = read_lines(conn, self.site.encoding)
            self.control.voidresp()
        return data

    def stat(self, path: str) -> Entry:
        target = self.resolve(path)
        name = posixpath.basename(target) or "/"
        action = f"Cannot find {target}"
        if self._caps.mlsd:
            reply = self._command(f"MLST {self._to_wire(target)}", action)
            for line in reply.splitlines()[1:]:
                if line.startswith(" "):
                    facts = self._from_wire(line.strip()).replace("type=cdir", "type=dir")
                    entry = parse_mlsd_line(facts)
                    if entry is not None and entry.type is not EntryType.UNKNOWN:
                        return replace(entry, name=name)
            raise ProtocolError(f"{action}: the MLST reply has no facts line")
        try:
            size = self.size(target)
        except NotFound:
            pass
        else:
            try:
                modified: datetime | None = self.mtime(target)
            except (NotFound, NotSupported):
                modified = None
            precision = "second" if modified else None
            return Entry(name, EntryType.FILE, size, modified, precision)
        # Not a file: is it a directory?
        self._command(f"CWD {self._to_wire(target)}", action)
        return Entry(name, EntryType.DIR)

    def mkdir(self, path: str) -> None:
        target = self.resolve(path)
        self._command(f"MKD {self._to_wire(target)}", f"Cannot create {target}")

    def remove(self, path: str) -> None:
        target = self.resolve(path)
        self._command(f"DELE {self._to_wire(target)}", f"Cannot delete {target}")

    def rmdir(self, path: str) -> None:
        target = self.resolve(path)
        self._command(f"RMD {self._to_wire(target)}", f"Cannot remove directory {target}")

    def rename(self, source: str, target: str) -> None:
        old, new = self.resolve(source), self.resolve(target)
        action = f"Cannot rename {old} to {new}"
        self._command(f"RNFR {self._to_wire(old)}", action)
        self._command(f"RNTO {self._to_wire(new)}", action)

    def size(self, path: str) -> int:
        target = self.resolve(path)
        reply = self._command(f"SIZE {self._to_wire(target)}", f"Cannot get the size of {target}")
        value = reply[4:].strip()
        if not value.isdigit():
            raise ProtocolError(f"Malformed SIZE reply: {reply}")
        return int(value)

    def mtime(self, path: str) -> datetime:
        target = self.resolve(path)
        reply = self._command(f"MDTM {self._to_wire(target)}", f"Cannot get the time of {target}")
        stamp = parse_mdtm(reply[4:])
        if stamp is None:
            raise ProtocolError(f"Malformed MDTM reply: {reply}")
        return stamp

    def set_mtime(self, path: str, when: datetime) -> None:
        if not self._caps.set_mtime:
            raise NotSupported(f"{self.site.key} cannot set modification times (no MFMT)")
        target = self.resolve(path)
        stamp = when.strftime("%Y%m%d%H%M%S")
        self._command(f"MFMT {stamp} {self._to_wire(target)}", f"Cannot set the time of {target}")

    def chmod(self, path: str, mode: int) -> None:
        target = self.resolve(path)
        try:
            self._command(f"SITE CHMOD {mode:o} {self._to_wire(target)}", f"Cannot chmod {target}")
        except NotSupported:
            self._caps.chmod = False
            raise
        self._caps.chmod = True

    def open_read(self, path: str, offset: int = 0) -> FTPReader:
        target = self.resolve(path)
        action = f"Cannot download {target}"
        with self._translate(action):
            conn, _ = self.control.open_data(
                f"RETR {self._to_wire(target)}", rest=offset if offset else None
            )
        return FTPReader(self, conn, action)

    def open_write(
        self, path: str, offset: int | None = None, *, append: bool = False
    ) -> FTPWriter:
        target = self.resolve(path)
        action = f"Cannot upload to {target}"
        verb = "APPE" if append else "STOR"
        with self._translate(action):
            conn, _ = self.control.open_data(
                f"{verb} {self._to_wire(target)}", rest=offset if offset else None
            )
        return FTPWriter(self, conn, action)

    def keepalive(self) -> None:
        self._command("NOOP", "Keep-alive failed")

    def close(self) -> None:
        control, self._control = self._control, None
        if control is None:
            return
        try:
            control.sock.settimeout(min(self.timeout, 3.0))  # type: ignore[union-attr]
            control.quit()
        except (OSError, EOFError, ftplib.Error, AttributeError):
            pass  # QUIT is a courtesy; the sockets are closed below either way
        finally:
            control.abandon()


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
