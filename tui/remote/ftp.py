"""Provides FTPFS: the RemoteFS for plain FTP, explicit FTPS (ftpes://) and implicit FTPS (ftps://).

Not thread-safe: one session serves one thread at a time. After ``ConnectionLost`` the
object is dead; open a new one.
"""

from __future__ import annotations

import ftplib
import hashlib
import posixpath
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from tui.errors import (
    ConnectionLost,
    FerrymanError,
    InvalidName,
    ListingFailed,
    NotFound,
    NotSupported,
    ProtocolError,
    TLSError,
)
from tui.identity import X509, IdentityDecider, PeerIdentity, verified_only
from tui.remote.base import (
    INSECURE,
    Capabilities,
    Entry,
    EntryType,
    MinimumProgress,
    RemoteFS,
    Security,
    SessionSettings,
)
from tui.remote.ftpcontrol import Control, LogCallback
from tui.remote.ftpio import FTPReader, FTPWriter
from tui.remote.ftplist import receive_listing
from tui.remote.ftpopen import (
    LoginGate,
    SessionOpener,
    mask_password,
    read_features,
    unix_like,
)
from tui.remote.listing import ListingReader, parse_mlsd_line
from tui.remote.replies import error_for_reply, parse_digest, parse_mdtm, parse_size
from tui.remote.tls import TLSCheck
from tui.sites import Site


class FTPFS(RemoteFS):
    """One FTP or FTPS session.

    Args:
        site: Where to connect; ``site.user``/``site.password`` must be resolved already
            (the ConnectionService does that).
        timeout: Seconds for connecting and for each socket operation.
        ca_file: Extra trust anchors (PEM) besides certifi and the system store.
        decider: Asked after every TLS handshake; the default accepts only verified ones.
        log: Receives the protocol conversation, password masked.
        before_login: Called with the site and whether the control connection is TLS once
            the session is connected and secured, before USER: it may refuse (raise) or fill
            in the site's credentials (see ``SessionOpener``).
        min_progress: The minimum-progress rule for data connections (default: less
            than 1 KiB in a whole ``timeout`` is a stall).
    """

    def __init__(
        self,
        site: Site,
        *,
        timeout: float = 30.0,
        ca_file: str | None = None,
        decider: IdentityDecider = verified_only,
        log: LogCallback | None = None,
        before_login: LoginGate | None = None,
        min_progress: MinimumProgress | None = None,
    ) -> None:
        self.site = site
        self.timeout = timeout
        self.min_progress = min_progress or MinimumProgress()
        self._opener = SessionOpener(
            site, timeout=timeout, ca_file=ca_file, decider=decider, log=log,
            before_login=before_login,
        )  # fmt: skip
        self.label = site.url(path="")
        self.tls: TLSCheck | None = None
        self._control: Control | None = None
        self._caps = Capabilities()
        self._home = "/"
        self._list_command = "LIST -a"
        self._lists_dots = False  # this server's "LIST -a" showed "." and ".." before

    # --- connecting ----------------------------------------------------------------------

    def connect(self) -> FTPFS:
        """Connect, secure, log in and learn the server's features.

        Raises:
            ConnectFailed, TLSNotOffered, TLSError, CertificateNotTrusted, AuthFailed,
            ConnectionLost, ProtocolError.
        """
        control, self.tls = self._opener.secured()
        self._control = control
        try:
            self._opener.login(control)
            self._after_login(control)
        except BaseException:
            self._control = None
            control.abandon()
            raise
        return self

    def fetch_certificate(self) -> TLSCheck:
        """Handshake, describe the certificate, and disconnect without logging in.

        Raises:
            UsageError: the site is plain FTP (no certificate to fetch).
            ConnectFailed, TLSNotOffered, TLSError.
        """
        self.tls = self._opener.fetch_certificate()
        return self.tls

    def fetch_identity(self) -> PeerIdentity:
        """``tui.remote.base.Session``: the certificate, as :meth:`fetch_certificate`."""
        return self.fetch_certificate()

    @property
    def security(self) -> Security:
        if self.tls is None:
            return INSECURE_FTP
        version = self.tls.tls_version
        return Security(True, version, f"TLS {version.removeprefix('TLSv')}", X509)

    def _after_login(self, control: Control) -> None:
        with self._translate("Cannot set up the session"):
            read_features(control, self._caps)
            if control.is_tls:
                control.protect_data(control.tls_socket.context)
            control.voidcmd("TYPE I")
            self._home = self._pwd(control)
            # "LIST -a" shows dot files on Unix servers; others take "-a" for a file name.
            self._list_command = "LIST -a" if unix_like(control) else "LIST"

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
        """Turn ftplib and socket exceptions into Ferryman errors that name the action, with
        the password masked in whatever of the server's they quote."""
        try:
            with self._translated(action):
                yield
        except FerrymanError as error:
            mask_password(error, self.site.password)
            raise

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except FerrymanError as error:
            if isinstance(error, ConnectionLost):
                self.drop()
            raise
        except (ftplib.error_perm, ftplib.error_temp, ftplib.error_reply) as error:
            mapped = error_for_reply(str(error), action)
            if isinstance(mapped, ConnectionLost):
                self.drop()
            raise mapped from error
        except ftplib.error_proto as error:
            self.drop()
            raise ProtocolError(f"{action}: the server sent an invalid reply ({error})") from error
        except ssl.SSLError as error:
            self.drop()
            raise TLSError(f"{action}: TLS failed ({error.reason or error})") from error
        except TimeoutError as error:
            self.drop()
            raise ConnectionLost(
                f"{action}: {self.site.key} did not answer within {self.timeout:g} s"
            ) from error
        except (OSError, EOFError) as error:
            self.drop()
            raise ConnectionLost(f"{action}: the connection to {self.site.key} was lost") from error
        except ftplib.Error as error:  # "got more than 8192 bytes" and similar
            self.drop()
            raise ProtocolError(f"{action}: {error}") from error

    def drop(self) -> None:
        """Forget a broken control connection (the data streams call it when it failed)."""
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
        """The entries of a folder, once the server confirmed the whole listing.

        Raises:
            ListingFailed: the server could not read the folder (even if it said 226), the
                listing was refused after its data, or it was over the bounds.
            NotFound, PermissionDenied, ConnectionLost, TransferFailed, ProtocolError.
        """
        target = self.resolve(path)
        action = f"Cannot list {target}"
        with self._translate(action):
            self.control.sendcmd(f"CWD {self._to_wire(target)}")
        command = "MLSD" if self._caps.mlsd else self._list_command
        return iter(self._listing(command, action))

    def _listing(self, command: str, action: str) -> list[Entry]:
        try:
            with self._translate(action):
                conn, _ = self.control.open_data(command)
        except (NotSupported, NotFound):
            if command != "LIST -a":
                raise
            # Some servers read "-a" as a file name and answer 550 (or 501); try plain LIST.
            self._list_command = "LIST"
            return self._listing("LIST", action)
        reader = ListingReader(mlsd=command == "MLSD", encoding=self.site.encoding,
                               action=action)  # fmt: skip
        with self._translate(action):
            entries = receive_listing(self.control, conn, reader, action,
                                      rule=self.min_progress)
        if command == "LIST -a":
            if reader.dots:
                self._lists_dots = True
            elif not reader.lines and self._lists_dots:
                # ProFTPD lists an unreadable folder as empty with "226 Transfer complete";
                # its "LIST -a" of any folder it can read shows "." and "..".
                raise ListingFailed(f"{action}: the server sent nothing, not even the "
                                    "'.' and '..' it lists in other folders: it could not "
                                    "read the folder")  # fmt: skip
        return entries

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
        return parse_size(reply)

    def mtime(self, path: str) -> datetime:
        target = self.resolve(path)
        reply = self._command(f"MDTM {self._to_wire(target)}", f"Cannot get the time of {target}")
        return parse_mdtm(reply)

    def set_mtime(self, path: str, when: datetime) -> None:
        if not self._caps.set_mtime:
            raise NotSupported(f"{self.site.key} cannot set modification times (no MFMT)")
        target = self.resolve(path)
        stamp = when.strftime("%Y%m%d%H%M%S")
        self._command(f"MFMT {stamp} {self._to_wire(target)}", f"Cannot set the time of {target}")

    def checksum(self, path: str) -> tuple[str, str] | None:
        """HASH (draft-bryan-ftpext-hash) with the strongest algorithm offered, else the
        older XSHA256 / XSHA1 / XMD5 commands; None when the server offers none."""
        target = self._to_wire(self.resolve(path))
        offered = self._caps.hashes
        action = f"Cannot get the checksum of {path}"
        for name, algorithm in (("SHA-256", "sha256"), ("SHA-512", "sha512"),
                                ("SHA-1", "sha1"), ("MD5", "md5")):  # fmt: skip
            if name in offered:
                with self._translate(action):
                    self.control.sendcmd(f"OPTS HASH {name}")
                    reply = self.control.sendcmd(f"HASH {target}")
                return algorithm, _hex_in(reply, algorithm)
        for command, algorithm in (("XSHA256", "sha256"), ("XSHA1", "sha1"), ("XMD5", "md5")):
            if command in offered:
                reply = self._command(f"{command} {target}", action)
                return algorithm, _hex_in(reply, algorithm)
        return None

    def chmod(self, path: str, mode: int) -> None:
        target = self.resolve(path)
        try:
            self._command(f"SITE CHMOD {mode:o} {self._to_wire(target)}", f"Cannot chmod {target}")
        except NotSupported:
            self._caps.chmod = False
            raise
        self._caps.chmod = True

    def open_read(self, path: str, offset: int = 0, *, expect: int | None = None) -> FTPReader:
        target = self.resolve(path)
        action = f"Cannot download {target}"
        with self._translate(action):
            conn, _ = self.control.open_data(
                f"RETR {self._to_wire(target)}", rest=offset if offset else None
            )
        return FTPReader(self, conn, action, expect=expect)

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

    @property
    def connected(self) -> bool:
        # A control connection closes itself when it falls out of step (a reply too slow,
        # too long or malformed): then it is as gone as after a drop.
        return self._control is not None and self._control.sock is not None

    def reconnect(self) -> None:
        self.drop()
        self.connect()

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


INSECURE_FTP = Security(encrypted=False, protocol="plain FTP", badge=INSECURE.badge)


def session(site: Site, settings: SessionSettings) -> FTPFS:
    """The FTP backend's session factory (declared in ``tui.backends.FTP``)."""
    return FTPFS(
        site, timeout=settings.timeout, ca_file=settings.ca_file, decider=settings.decider,
        log=settings.log, before_login=settings.before_login,
        min_progress=settings.min_progress,
    )  # fmt: skip


def _hex_in(reply: str, algorithm: str) -> str:
    """The hex digest in a HASH/XSHA reply (its position differs between servers)."""
    return parse_digest(reply, hashlib.new(algorithm).digest_size * 2)
