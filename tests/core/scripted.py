"""A scripted FTP server for behaviour no real server produces on purpose: hostile listings,
lying PASV replies, connections dropped mid-transfer, greetings that are not FTP.

It speaks just enough FTP for a client to log in, list and download; everything it gets is
recorded as raw bytes so tests can check exactly what the client sent. Loopback only.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Script:
    greeting: bytes = b"220 scripted server\r\n"
    listing: bytes = b""
    files: dict[bytes, bytes] = field(default_factory=dict)
    epsv: bool = True
    # Where PASV claims the data port is; the client must ignore it (127.0.0.2 is loopback,
    # but the data listener is only on 127.0.0.1, so using it fails).
    pasv_host: bytes = b"127,0,0,2"
    drop_mid_listing: bool = False
    drop_mid_file: bool = False  # send half the file, then 426 and close the data socket
    silent: bool = False  # accept, never say anything
    # Active mode: before the server's own data connection, an intruder connects to the
    # client's port from another loopback address; the client must turn it away.
    active_intruder: bool = False
    # Explicit TLS: AUTH TLS uses tls_control; data connections use tls_data (a server
    # that swaps certificates between the two is what the client must refuse).
    hash_digest: str | None = None  # offer HASH SHA-256 and answer with this digest
    # A listing per folder: called with the folder of the last CWD (the raw argument);
    # without it every folder lists ``listing``.
    listing_for: Callable[[bytes], bytes] | None = None
    list_reply: bytes = b"226 done\r\n"  # the reply after a listing's data
    max_commands: int = 200  # per session: every script ends
    size_reply: bytes | None = None  # the answer to every SIZE, when given
    tls_control: ssl.SSLContext | None = None
    tls_data: ssl.SSLContext | None = None
    # Lies about time and size (issue 19). `replies` replaces the answer to a verb with raw
    # bytes; `pace` sends the greeting and those replies one byte every `pace` seconds;
    # `endless` follows the greeting with that chunk over and over until the client leaves;
    # `pace_data` sends file and listing bytes one every `pace_data` seconds.
    replies: dict[bytes, bytes] = field(default_factory=dict)
    pace: float = 0.0
    endless: bytes = b""
    pace_data: float = 0.0
    # MLSD: offered in FEAT when given; called with the folder of the last CWD (raw bytes).
    mlsd_for: Callable[[bytes], bytes] | None = None


class ScriptedServer:
    """Serves one scripted connection at a time until stopped."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[bytes] = []
        self.intruder_refused: bool | None = None
        self._active_target: tuple[str, int] | None = None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str = "", scheme: str = "ftp") -> str:
        return f"{scheme}://user:pass@127.0.0.1:{self.port}/{path}"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self._session(conn)
                except OSError:
                    pass  # the client went away; wait for the next one

    def _session(self, conn: socket.socket) -> None:
        script = self.script
        if script.silent:
            self._stop.wait(10)
            return
        self._send(conn, script.greeting, script.pace)
        while script.endless and not self._stop.is_set():
            self._send(conn, script.endless, script.pace)
        if not script.greeting.startswith(b"220"):
            return
        reader = conn.makefile("rb")
        data_listener: socket.socket | None = None
        folder = b"/"
        for _ in range(script.max_commands):  # bounded: every script ends
            line = reader.readline()
            if not line:
                return
            self.received.append(line.rstrip(b"\r\n"))
            verb, _, argument = line.rstrip(b"\r\n").partition(b" ")
            verb = verb.upper()
            if verb in script.replies:
                self._send(conn, script.replies[verb], script.pace)
            elif verb == b"AUTH" and script.tls_control is not None:
                conn.sendall(b"234 AUTH TLS ok\r\n")
                conn = script.tls_control.wrap_socket(conn, server_side=True)
                reader = conn.makefile("rb")
            elif verb in (b"PBSZ", b"PROT"):
                conn.sendall(b"200 ok\r\n")
            elif verb == b"USER":
                conn.sendall(b"331 password please\r\n")
            elif verb == b"PASS":
                conn.sendall(b"230 logged in\r\n")
            elif verb == b"FEAT":
                extra = b" HASH SHA-256*\r\n" if script.hash_digest else b""
                extra += b" MLST type*;size*;modify*;unique*;\r\n" if script.mlsd_for else b""
                conn.sendall(b"211-Features:\r\n SIZE\r\n" + extra + b"211 End\r\n")
            elif verb == b"OPTS":
                conn.sendall(b"200 ok\r\n")
            elif verb == b"HASH" and script.hash_digest:
                conn.sendall(b"213 SHA-256 0-1 %s %s\r\n" % (script.hash_digest.encode(), argument))
            elif verb == b"SYST":
                conn.sendall(b"215 UNIX Type: L8\r\n")
            elif verb == b"PWD":
                conn.sendall(b'257 "/" is the current directory\r\n')
            elif verb in (b"TYPE", b"CWD"):
                folder = argument if verb == b"CWD" else folder
                conn.sendall(b"250 ok\r\n" if verb == b"CWD" else b"200 ok\r\n")
            elif verb == b"EPSV" and script.epsv:
                data_listener = socket.create_server(("127.0.0.1", 0))
                port = data_listener.getsockname()[1]
                conn.sendall(b"229 Entering Extended Passive Mode (|||%d|)\r\n" % port)
            elif verb == b"PASV":
                data_listener = socket.create_server(("127.0.0.1", 0))
                port = data_listener.getsockname()[1]
                conn.sendall(
                    b"227 Entering Passive Mode (%s,%d,%d)\r\n"
                    % (script.pasv_host, port >> 8, port & 0xFF)
                )
            elif verb == b"EPRT":
                _, _, host, port, _ = argument.decode().split("|")
                self._active_target = (host, int(port))
                data_listener = None
                conn.sendall(b"200 EPRT ok\r\n")
            elif verb == b"SIZE" and script.size_reply is not None:
                conn.sendall(script.size_reply)
            elif verb == b"SIZE":
                name = argument.rsplit(b"/", 1)[-1]
                if name in script.files:
                    conn.sendall(b"213 %d\r\n" % len(script.files[name]))
                else:
                    conn.sendall(b"550 no such file\r\n")
            elif verb == b"LIST" and (data_listener or self._active_target):
                listing = script.listing_for(folder) if script.listing_for else script.listing
                self._send_data(
                    conn, data_listener, listing, script.drop_mid_listing, reply=script.list_reply
                )
                if script.drop_mid_listing:
                    return
                data_listener = None
            elif verb == b"MLSD" and script.mlsd_for and (data_listener or self._active_target):
                self._send_data(conn, data_listener, script.mlsd_for(argument or folder), False)
                data_listener = None
            elif verb == b"RETR" and (data_listener or self._active_target):
                name = argument.rsplit(b"/", 1)[-1]
                if name not in script.files:
                    conn.sendall(b"550 no such file\r\n")
                    continue
                self._send_data(conn, data_listener, script.files[name], script.drop_mid_file)
                data_listener = None
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"502 not implemented here\r\n")

    def _data_connection(self, listener: socket.socket | None) -> socket.socket:
        if listener is not None:
            listener.settimeout(5)
            try:
                return listener.accept()[0]
            finally:
                listener.close()
        assert self._active_target is not None
        target, self._active_target = self._active_target, None
        if self.script.active_intruder:
            with socket.create_connection(target, 5, source_address=("127.0.0.2", 0)) as rogue:
                try:
                    self.intruder_refused = rogue.recv(1) == b""
                except ConnectionResetError:
                    self.intruder_refused = True
        return socket.create_connection(target, 5)

    def _send_data(
        self,
        conn: socket.socket,
        listener: socket.socket | None,
        payload: bytes,
        drop: bool,
        *,
        reply: bytes = b"226 done\r\n",
    ) -> None:
        conn.sendall(b"150 here it comes\r\n")
        data = self._data_connection(listener)
        if self.script.tls_data is not None:
            data = self.script.tls_data.wrap_socket(data, server_side=True)
        with data:
            if drop:
                data.sendall(payload[: len(payload) // 2])
                data.close()
                if self.script.drop_mid_listing:
                    conn.close()  # the whole connection vanishes, no reply
                else:
                    conn.sendall(b"426 Connection closed; transfer aborted\r\n")
                return
            self._send(data, payload, self.script.pace_data)
        conn.sendall(reply)

    def _send(self, conn: socket.socket, data: bytes, pace: float) -> None:
        """Send ``data``, one byte every ``pace`` seconds when pacing (until stopped)."""
        if not pace:
            conn.sendall(data)
            return
        for index in range(len(data)):
            if self._stop.wait(pace):
                return
            conn.sendall(data[index : index + 1])
