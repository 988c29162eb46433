"""Provides the FTP control channel: greeting, TLS, logging, and opening data connections.

Built on :class:`ftplib.FTP` for reply parsing, with the parts ftplib gets wrong for real
servers replaced: TLS data connections reuse the control session (vsftpd and ProFTPD demand
it), the PASV address is ignored in favour of the control connection's peer, active mode
accepts only the control peer, every socket has a timeout and ``TCP_NODELAY``, and no
transfer calls ``unwrap()`` without a deadline. Replies are read by ``ReplyFramer``: each has
a deadline and a size limit and a checked reply code (see ftpreply.py); no command line
carries CR, LF or NUL, so no argument can smuggle in a second command. Not thread-safe.
"""

from __future__ import annotations

import ftplib
import socket
import ssl
import time
from collections.abc import Callable

from tui.errors import ConnectFailed, ConnectionLost, FerrymanError, ProtocolError, TLSError
from tui.remote.ftpreply import ReplyFramer, check_sendable, reply_deadline
from tui.remote.replies import parse_epsv, parse_pasv
from tui.remote.tlsdata import wrap_data

LogCallback = Callable[[str, str], None]
"""Called with a direction (``">"`` sent, ``"<"`` received, ``"*"`` note) and one line."""

# Bytes on the control channel are Latin-1 so every byte round-trips unchanged; names are
# decoded with the site's charset one level up (see ftp.py).
WIRE_ENCODING = "latin-1"
_READ_SIZE = 65536


def _nodelay(sock: socket.socket) -> None:
    # Small TLS records and command lines otherwise wait ~40 ms for Nagle (DESIGN.md).
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass  # not a TCP socket (never in practice); nothing to gain from failing


class Control(ftplib.FTP):
    """One FTP control connection.

    Args:
        timeout: Seconds for connecting and for every read or write on any socket.
        log: Receives each protocol line; ``PASS`` arguments are masked before it sees them.
    """

    def __init__(self, *, timeout: float, log: LogCallback | None = None) -> None:
        super().__init__(timeout=timeout, encoding=WIRE_ENCODING)
        self.log = log
        self.passive = True
        self.use_epsv = True
        self.server_hostname = ""
        self.data_context: ssl.SSLContext | None = None  # set once PROT P is in force
        self.leaf_der: bytes | None = None
        # The control connection's TLS session, offered on every data connection (servers
        # such as vsftpd require the reuse). Fetching it costs as much as a round trip, so
        # it is kept while data connections keep resuming it.
        self._data_session: ssl.SSLSession | None = None
        self._framer: ReplyFramer | None = None

    # --- connection ----------------------------------------------------------------------

    def open(
        self,
        host: str,
        port: int,
        *,
        server_hostname: str,
        implicit_context: ssl.SSLContext | None = None,
    ) -> str:
        """Connect, wrap in TLS first for implicit FTPS, and read the greeting.

        Raises:
            OSError: cannot connect (``socket.gaierror`` for an unknown host).
            ssl.SSLError: the implicit TLS handshake failed.
            ftplib.Error: the greeting is a refusal (e.g. 421 too many users).
        """
        self.host, self.port = host, port
        self.server_hostname = server_hostname
        self._note(f"Connecting to {host} port {port}")
        sock = socket.create_connection((host, port), self.timeout)
        _nodelay(sock)
        self.af = sock.family
        if implicit_context is not None:
            try:
                sock = implicit_context.wrap_socket(sock, server_hostname=server_hostname)
            except BaseException:
                sock.close()
                raise
            self._note(f"TLS {sock.version()} established (implicit)")
        self._attach(sock)
        try:
            self.welcome = self.getresp()
        except ProtocolError as error:
            if error.reply is None:
                raise  # too long or too slow: already says so
            raise ProtocolError(
                f"{host} port {port} does not speak FTP (greeting: {error.reply!r})",
                reply=error.reply,
            ) from error
        except EOFError as error:
            raise ConnectFailed(
                f"{host} port {port} closed the connection before greeting"
            ) from error
        return self.welcome

    def start_tls(self, context: ssl.SSLContext) -> None:
        """AUTH TLS and wrap the control socket (explicit FTPS).

        Raises:
            ftplib.error_perm: the server refused AUTH TLS.
            ssl.SSLError: the handshake failed (``SSLCertVerificationError`` when untrusted).
        """
        self.voidcmd("AUTH TLS")
        assert self.sock is not None and self._framer is not None
        if self._framer.pending:
            # Bytes sent in the clear after 234 would be read as if they came over TLS
            # (the STARTTLS command injection of CVE-2011-0411 and its kind).
            self.abandon()
            raise ProtocolError(f"{self._where} sent unencrypted data after AUTH TLS")
        self._attach(context.wrap_socket(self.sock, server_hostname=self.server_hostname))
        self._note(f"TLS {self.tls_socket.version()} established")

    def protect_data(self, context: ssl.SSLContext) -> None:
        """PBSZ 0 + PROT P: every data connection from now on is TLS, checked like this one."""
        self.voidcmd("PBSZ 0")
        self.voidcmd("PROT P")
        self.data_context = context
        self.leaf_der = self.tls_socket.getpeercert(binary_form=True)

    @property
    def tls_socket(self) -> ssl.SSLSocket:
        if not isinstance(self.sock, ssl.SSLSocket):
            raise TLSError("The control connection is not encrypted")
        return self.sock

    @property
    def is_tls(self) -> bool:
        return isinstance(self.sock, ssl.SSLSocket)

    def _attach(self, sock: socket.socket) -> None:
        self.sock = sock
        self.file = None  # ftplib's reader is not used: see getmultiline
        self._framer = ReplyFramer(self._where)

    @property
    def _where(self) -> str:
        return f"{self.host} port {self.port}"

    def abandon(self) -> None:
        """Close the sockets at once, without QUIT (after a failure or on cancel)."""
        try:
            self.close()
        except OSError:
            pass  # closing a broken socket can fail; it is closed either way

    # --- logging -------------------------------------------------------------------------

    def _note(self, text: str) -> None:
        if self.log:
            self.log("*", text)

    def login(self, user: str = "", passwd: str = "", acct: str = "") -> str:
        # Checked before USER goes out, so a bad password costs no half-done login.
        for verb, value in (("USER", user), ("PASS", passwd), ("ACCT", acct)):
            check_sendable(f"{verb} {value}")
        return super().login(user, passwd, acct)

    def putline(self, line: str) -> None:
        check_sendable(line)
        if self.sock is None:
            raise ConnectionLost(f"The connection to {self._where} is closed")
        if self.log:
            shown = "PASS ****" if line[:5].upper() == "PASS " else line
            self.log(">", shown)
        super().putline(line)

    def getline(self) -> str:
        raise NotImplementedError("replies are read whole: use getmultiline")

    def getmultiline(self) -> str:
        """Read one whole reply within its deadline and size limit (see ftpreply.py).

        Raises:
            ConnectionLost: the reply was not complete by its deadline.
            ProtocolError: the reply is too long or has no valid reply code.
            TimeoutError: nothing arrived for a whole timeout.
            EOFError: the server closed the connection.
            OSError: the connection failed.

        The connection is closed after a ConnectionLost or ProtocolError: it is out of
        step and cannot be used again.
        """
        framer = self._framer
        if framer is None or self.sock is None:
            raise ConnectionLost(f"The connection to {self._where} is closed")
        # A caller may have shortened the socket's timeout (close() does, for QUIT).
        timeout = float(self.sock.gettimeout() or self.timeout or 30.0)
        if self.sock.gettimeout() is None:
            self.sock.settimeout(timeout)  # never a read without a timeout
        limit = reply_deadline(timeout)
        deadline = time.monotonic() + limit
        try:
            reply = framer.next_reply()
            while reply is None:
                self._receive(framer, timeout, deadline, limit)
                reply = framer.next_reply()
        except FerrymanError:
            self.abandon()
            raise
        if self.log:
            for line in reply.split("\n"):
                self.log("<", line)
        return reply

    def _receive(self, framer: ReplyFramer, idle: float, deadline: float, limit: float) -> None:
        assert self.sock is not None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._too_slow(limit)
        # The socket keeps the idle timeout; it is shortened only for the last stretch
        # before the deadline (each change costs system calls, and replies are many).
        shortened = remaining < idle
        if shortened:
            self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(_READ_SIZE)
        except TimeoutError:
            if not shortened:
                raise  # a whole timeout without a byte: the caller's "no answer"
            raise self._too_slow(limit) from None
        finally:
            if shortened:
                self.sock.settimeout(idle)
        if not data:
            raise EOFError
        framer.feed(data)

    def _too_slow(self, limit: float) -> ConnectionLost:
        return ConnectionLost(
            f"{self._where} sent a reply that was not complete within {limit:g} s "
            "(the server is too slow or stalled)"
        )

    # --- data connections ----------------------------------------------------------------

    def open_data(self, command: str, rest: int | None = None) -> tuple[socket.socket, str]:
        """Open a data connection for ``command`` (RETR, STOR, MLSD, LIST …).

        Returns:
            The connected (and, under PROT P, encrypted) socket and the 1xx reply.

        Raises:
            ftplib.Error: the server refused the command or REST.
            TLSError: the data connection's TLS failed or showed another certificate.
            OSError: the data connection could not be made.
        """
        if self.passive:
            conn, reply = self._open_passive(command, rest)
        else:
            conn, reply = self._open_active(command, rest)
        if self.data_context is None:
            return conn, reply
        try:
            return self._secure_data(conn), reply
        except BaseException:
            conn.close()
            raise

    def _secure_data(self, conn: socket.socket) -> ssl.SSLSocket:
        assert self.data_context is not None
        try:
            if self._data_session is None:
                self._data_session = self.tls_socket.session
            secure = wrap_data(self.data_context, conn, self.server_hostname, self._data_session)
        except ssl.SSLError as error:
            self._data_session = None
            raise TLSError(f"TLS on the data connection failed: {error}") from error
        if not secure.session_reused:
            self._data_session = None  # ask the control connection afresh next time
        if secure.getpeercert(binary_form=True) != self.leaf_der:
            secure.close()
            raise TLSError(
                "The data connection presented a different certificate from the control "
                "connection; refusing it (possible interception)"
            )
        return secure

    def _send_transfer(self, command: str, rest: int | None) -> str:
        if rest is not None:
            self.sendcmd(f"REST {rest}")
        reply = self.sendcmd(command)
        # Some servers answer 2xx at once for an empty transfer and the 1xx afterwards
        # (ftplib does the same dance).
        if reply[0] == "2":
            reply = self.getresp()
        if reply[0] != "1":
            raise ftplib.error_reply(reply)
        return reply

    def _passive_address(self) -> tuple[str, int]:
        assert self.sock is not None
        peer_host = self.sock.getpeername()[0]
        if self.use_epsv:
            try:
                return peer_host, parse_epsv(self.sendcmd("EPSV"))
            except ftplib.error_perm:
                if self.af == socket.AF_INET6:
                    raise
                self.use_epsv = False  # older servers: fall back to PASV for this session
        # The address in a PASV reply is never used: a hostile or misconfigured server
        # could point the data connection anywhere (FTP bounce). Its port is enough.
        return peer_host, parse_pasv(self.sendcmd("PASV"))

    def _open_passive(self, command: str, rest: int | None) -> tuple[socket.socket, str]:
        host, port = self._passive_address()
        # The host is the control connection's peer address, already numeric: no name
        # lookup (create_connection's getaddrinfo runs Python's IDNA codec every time).
        conn = socket.socket(self.af, socket.SOCK_STREAM)
        try:
            conn.settimeout(self.timeout)
            conn.connect((host, port))
        except BaseException:
            conn.close()
            raise
        _nodelay(conn)
        try:
            reply = self._send_transfer(command, rest)
        except BaseException:
            conn.close()
            raise
        return conn, reply

    def _open_active(self, command: str, rest: int | None) -> tuple[socket.socket, str]:
        assert self.sock is not None
        local_host = self.sock.getsockname()[0]
        peer_host = self.sock.getpeername()[0]
        listener = socket.create_server((local_host, 0), family=self.af, backlog=1)
        listener.settimeout(self.timeout)
        try:
            port = listener.getsockname()[1]
            if self.af == socket.AF_INET6:
                self.voidcmd(f"EPRT |2|{local_host}|{port}|")
            else:
                try:
                    self.voidcmd(f"EPRT |1|{local_host}|{port}|")
                except ftplib.error_perm:
                    octets = local_host.replace(".", ",")
                    self.voidcmd(f"PORT {octets},{port >> 8},{port & 0xFF}")
            reply = self._send_transfer(command, rest)
            return self._accept_from(listener, peer_host), reply
        finally:
            listener.close()

    def _accept_from(self, listener: socket.socket, peer_host: str) -> socket.socket:
        # Only the server we are talking to may connect: anyone else who races to the
        # port is turned away, until the deadline.
        deadline = time.monotonic() + float(self.timeout or 30.0)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the server did not open the data connection in time")
            listener.settimeout(remaining)
            conn, address = listener.accept()
            if address[0] == peer_host:
                conn.settimeout(self.timeout)
                _nodelay(conn)
                return conn
            self._note(f"Refused a data connection from {address[0]} (not the server)")
            conn.close()


def close_data(conn: socket.socket, *, sending: bool, grace: float = 5.0) -> None:
    """Close a data connection without the unbounded ``unwrap()`` hang.

    When sending, the server needs TLS close_notify (and then EOF) to know the upload is
    complete, so it is sent, waiting at most ``grace`` seconds for the peer's answer. When
    receiving, the server already ended the stream; just close.
    """
    try:
        if sending and isinstance(conn, ssl.SSLSocket):
            conn.settimeout(grace)
            try:
                conn = conn.unwrap()
            except (OSError, ValueError):
                pass  # the peer closed first or never answers close_notify; EOF still follows
        if sending:
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # already closed by the peer
    finally:
        conn.close()
