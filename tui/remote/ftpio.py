"""Provides the data-connection streams of an FTP session: file reader, file writer, listing reader.

These are Ferryman's own transfer loops (not ``retrbinary``/``storbinary``): they read into
caller buffers with ``recv_into``, send whole blocks, have a timeout on every call, and finish
a transfer by reading the server's final reply, so a failure is always reported with the
server's own words.
"""

from __future__ import annotations

import ftplib
import socket
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from tui.errors import ConnectionLost, FerrymanError, TransferFailed
from tui.remote.ftpcontrol import close_data
from tui.remote.replies import error_for_reply
from tui.remote.tlsdata import receiver

if TYPE_CHECKING:
    from tui.remote.ftp import FTPFS

# A listing longer than this is refused rather than read into memory without end.
MAX_LISTING_BYTES = 512 * 1024 * 1024


def read_lines(conn: socket.socket, encoding: str) -> list[str]:
    """Read a listing to its end and split it into lines (CRLF or LF), decoded per line."""
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_LISTING_BYTES:
                raise TransferFailed("The listing is larger than 512 MiB; refusing to read more")
            chunks.append(chunk)
    finally:
        close_data(conn, sending=False)
    lines = b"".join(chunks).split(b"\n")
    return [
        line.rstrip(b"\r").decode(encoding, "surrogateescape") for line in lines if line.strip()
    ]


class _Stream:
    def __init__(self, fs: FTPFS, conn: socket.socket, action: str) -> None:
        self._fs = fs
        self._conn: socket.socket | None = conn
        self._action = action
        self._closed = False

    def _finish(self, *, sending: bool, complete: bool) -> None:
        """Close the data connection and read the server's verdict on the transfer."""
        conn, self._conn = self._conn, None
        if self._closed:
            return
        self._closed = True
        control = self._fs.control
        try:
            if conn is not None:
                if complete:
                    close_data(conn, sending=sending)
                else:
                    conn.close()  # abrupt: the server must not take a partial upload as whole
            reply = control.getresp()
        except ftplib.Error as error:
            if complete:
                mapped = error_for_reply(str(error), self._action)
                if isinstance(mapped, ConnectionLost):
                    self._fs._drop()
                raise mapped from error
            return  # aborted on purpose: the 426/451 that follows is expected
        except (OSError, EOFError) as error:
            self._fs._drop()
            if complete:
                raise ConnectionLost(
                    f"{self._action}: the connection to {self._fs.site.key} was lost"
                ) from error
            return
        if complete and not reply.startswith("2"):
            raise error_for_reply(reply, self._action)

    def _failed(self, error: BaseException) -> FerrymanError:
        """A data-connection error: ask the control connection why, and give its answer."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self._closed = True
        try:
            reply = self._fs.control.getresp()
        except ftplib.Error as refusal:
            return error_for_reply(str(refusal), self._action)
        except (OSError, EOFError, FerrymanError):
            self._fs._drop()
            return ConnectionLost(f"{self._action}: the connection was lost ({error})")
        if reply.startswith("2"):
            return TransferFailed(f"{self._action}: the data connection broke ({error})")
        return error_for_reply(reply, self._action)

    def __enter__(self) -> Self:
        return self


class FTPReader(_Stream):
    """Bytes of a remote file (RETR). Reading past the end returns 0 / ``b""``.

    ``close()`` after the end checks the server's final reply; before the end it abandons
    the transfer (the server answers 426, which is expected and ignored).
    """

    _eof = False
    _pending_error: BaseException | None = None
    _receive: Callable[[memoryview], int] | None = None

    def readinto(self, buffer: memoryview | bytearray) -> int:
        """Fill as much of ``buffer`` as arrives: a TLS socket gives one record (16 KiB) per
        call, and a full buffer means one file write and one progress call, not sixteen."""
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise self._failed(error) from error
        if self._conn is None or self._eof:
            return 0
        if self._receive is None:
            self._receive = receiver(self._conn)
        view = memoryview(buffer)
        filled = 0
        try:
            while filled < len(view):
                count = self._receive(view[filled:])
                if count == 0:
                    self._eof = True
                    break
                filled += count
        except (OSError, ssl.SSLError) as error:
            if filled:
                self._pending_error = error  # hand over what arrived; fail on the next call
                return filled
            raise self._failed(error) from error
        return filled

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            parts = []
            while chunk := self.read(1 << 20):
                parts.append(chunk)
            return b"".join(parts)
        buffer = bytearray(size)
        count = self.readinto(buffer)
        return bytes(buffer[:count])

    def close(self) -> None:
        self._finish(sending=False, complete=self._eof)

    def __exit__(self, *exc: object) -> None:
        self.close()


class FTPWriter(_Stream):
    """A remote file being written (STOR/APPE).

    ``close()`` completes the upload and raises if the server did not confirm it (552 disk
    full, 451 local error …). ``abort()`` closes abruptly and ignores the answer.
    """

    def write(self, data: bytes | memoryview) -> int:
        if self._conn is None:
            raise TransferFailed(f"{self._action}: the upload is already closed")
        try:
            self._conn.sendall(data)
        except (OSError, ssl.SSLError) as error:
            raise self._failed(error) from error
        return len(data)

    def close(self) -> None:
        self._finish(sending=True, complete=True)

    def abort(self) -> None:
        self._finish(sending=True, complete=False)

    def __exit__(self, *exc: object) -> None:
        if not exc or exc[0] is None:
            self.close()
        else:
            self.abort()
