"""Provides the data-connection streams of an FTP session: file reader, file writer, listing reader.

These are Ferryman's own transfer loops (not ``retrbinary``/``storbinary``): they read into
caller buffers with ``recv_into``, send whole blocks, have a timeout on every call, and finish
a transfer by reading the server's final reply, so a failure is always reported with the
server's own words.

A download whose length the caller knows waits for data in batches (``SO_RCVLOWAT``): the
kernel wakes the reader once ``BATCH`` bytes are waiting, not for every segment that
arrives. A single stream from vsftpd over FTPS is paced by the server, and a reader that
wakes for every trickle slows it down (we believe because over loopback the sender's own
time slice runs each wake-up). Measured on 1 GiB in one stream, alternating runs: the copy
took 0.87-1.13 s in five runs with batches against 0.93-1.86 s without, the reader woke
4,300-8,000 times instead of 5,700-16,200; the whole command's median went from 1.31 to
1.26 s in another eight runs each. Segmented downloads are CPU-bound here and unchanged.

The batch ends before the last bytes: a server may send its last record and then wait for
the client's TLS close_notify before it closes (vsftpd does), and those bytes would never
make a batch. If fewer arrive than announced (the file shrank), the wait times out with
bytes waiting; they are taken and the reader goes on without batches.

Every read and write has the session's timeout, and every stream obeys a minimum-progress
rule (``MinimumProgress``, like curl's ``--speed-limit``/``--speed-time``): a server that
sends one byte a second never lets a read time out, but moves less than 1 KiB in a whole
timeout, which no working link does. Such a stall drops the session (``ConnectionLost``):
the engine reconnects and resumes, as after any dropped connection.
"""

from __future__ import annotations

import ftplib
import socket
import ssl
import sys
import time
from collections.abc import Callable
from typing import Protocol, Self

from tui.errors import ConnectionLost, FerrymanError, TransferFailed
from tui.remote.base import MinimumProgress
from tui.remote.ftpcontrol import Control, close_data
from tui.remote.replies import error_for_reply
from tui.remote.tlsdata import receiver


class _Site(Protocol):
    @property
    def key(self) -> str: ...


class FTPSession(Protocol):
    """What the streams need of their FTP session (``tui.remote.ftp.FTPFS``): its control
    connection, its site for messages, and ``drop()`` to forget a broken connection. A
    protocol, so that this module does not import the one that imports it."""

    @property
    def control(self) -> Control: ...

    @property
    def site(self) -> _Site: ...

    @property
    def timeout(self) -> float: ...

    @property
    def min_progress(self) -> MinimumProgress | None: ...

    def drop(self) -> None: ...


BATCH = 48 * 1024
"""The most a download waits to have before the kernel wakes it (see the module's notes)."""
_BATCH_WORTH = 1024 * 1024  # a shorter download is not worth the two system calls
_TAIL = 32 * 1024  # a partial TLS record that OpenSSL may already hold, with room to spare


class _Watch:
    """Applies a MinimumProgress rule to one stream. Not thread-safe."""

    def __init__(self, rule: MinimumProgress, timeout: float) -> None:
        self.rule = rule
        self.timeout = timeout
        self.window = rule.seconds or timeout
        self.started = time.monotonic()
        self.moved = 0

    def count(self, moved: int) -> bool:
        """Count bytes moved; False once a whole window passed with too few (judged on
        what came before these bytes, which open the next window)."""
        now = time.monotonic()
        if now - self.started >= self.window:
            if self.moved < self.rule.min_bytes:
                return False
            self.started, self.moved = now, 0
        self.moved += moved
        return True

    def restart(self) -> None:
        """Open a new window: bytes arrived that the reader had not yet taken."""
        self.started, self.moved = time.monotonic(), 0

    def stalled(self, action: str) -> ConnectionLost:
        return ConnectionLost(
            f"{action}: the data connection stalled ({self.rule.describe(self.timeout)}); "
            "the connection was dropped"
        )


def _watch(fs: FTPSession | None, conn: socket.socket) -> _Watch | None:
    rule = getattr(fs, "min_progress", None) or MinimumProgress()
    timeout = conn.gettimeout() or getattr(fs, "timeout", None) or 30.0
    return _Watch(rule, timeout) if rule.min_bytes > 0 else None


def stall_watch(rule: MinimumProgress | None, conn: socket.socket) -> _Watch | None:
    """The minimum-progress watch for one data connection read outside a stream (a
    listing), or None when the rule is off; ``rule`` None means the default rule."""
    rule = rule or MinimumProgress()
    return _Watch(rule, conn.gettimeout() or 30.0) if rule.min_bytes > 0 else None


class _Stream:
    def __init__(self, fs: FTPSession, conn: socket.socket, action: str) -> None:
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
        except FerrymanError:
            self._fs.drop()  # a reply too slow or malformed: the control is out of step
            if complete:
                raise
            return
        except ftplib.Error as error:
            if complete:
                mapped = error_for_reply(str(error), self._action)
                if isinstance(mapped, ConnectionLost):
                    self._fs.drop()
                raise mapped from error
            return  # aborted on purpose: the 426/451 that follows is expected
        except (OSError, EOFError) as error:
            self._fs.drop()
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
            self._fs.drop()
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
    _batch = 0  # bytes the kernel waits for before it wakes the reader; 0: no batches

    def __init__(
        self, fs: FTPSession, conn: socket.socket, action: str, *, expect: int | None = None
    ) -> None:
        super().__init__(fs, conn, action)
        self._left = expect  # bytes still announced, when the caller knows
        self._watch = _watch(fs, conn)

    def readinto(self, buffer: memoryview | bytearray) -> int:
        """Fill as much of ``buffer`` as arrives: a TLS socket gives one record (16 KiB) per
        call, and a full buffer means one file write and one progress call, not sixteen."""
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise self._failed(error) from error
        if self._conn is None or self._eof:
            return 0
        view = memoryview(buffer)
        if self._receive is None:
            self._receive = receiver(self._conn)
            self._batch = _start_batches(self._conn, self._left)
        if self._batch and (self._left or 0) - len(view) < self._batch + _TAIL:
            self._batch = _stop_batches(self._conn)  # this fill may reach the last bytes
        receive, filled = self._receive, 0
        try:
            while filled < len(view):
                try:
                    count = receive(view[filled:])
                except TimeoutError:
                    if not self._batch or not _bytes_waiting(self._conn):
                        raise
                    # Less than a batch came in a whole timeout: fewer bytes than announced,
                    # or a slow link. Take what came; from now on every byte wakes the reader.
                    self._batch = _stop_batches(self._conn)
                    if self._watch is not None:
                        self._watch.restart()  # the bytes waited in the kernel: progress
                    continue
                if count == 0:
                    self._eof = True
                    break
                filled += count
                if self._watch is not None and not self._watch.count(count):
                    raise self._stalled()
        except (OSError, ssl.SSLError) as error:
            if filled:
                self._pending_error = error  # hand over what arrived; fail on the next call
                return filled
            raise self._failed(error) from error
        finally:
            if self._left is not None:
                self._left -= filled
        return filled

    def _stalled(self) -> ConnectionLost:
        assert self._watch is not None
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self._closed = True
        self._fs.drop()  # a stalled server may never answer on the control either
        return self._watch.stalled(self._action)

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

    def __init__(self, fs: FTPSession, conn: socket.socket, action: str) -> None:
        super().__init__(fs, conn, action)
        self._watch = _watch(fs, conn)

    def write(self, data: bytes | memoryview) -> int:
        if self._conn is None:
            raise TransferFailed(f"{self._action}: the upload is already closed")
        try:
            self._conn.sendall(data)
        except (OSError, ssl.SSLError) as error:
            raise self._failed(error) from error
        if self._watch is not None and not self._watch.count(len(data)):
            conn, self._conn = self._conn, None
            conn.close()  # abrupt: the server must not take a partial upload as whole
            self._closed = True
            self._fs.drop()
            raise self._watch.stalled(self._action)
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


def _start_batches(conn: socket.socket, announced: int | None) -> int:
    """Have the kernel wake the reader of ``conn`` only once a batch is waiting; returns
    the batch size, or 0 when the download is too short or its length unknown.

    The batch stays under a third of the receive buffer: Linux narrows the TCP window to
    the batch when the batch would not fit in the buffer twice over.
    """
    if announced is None or announced < _BATCH_WORTH:
        return 0
    try:
        room = conn.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        batch = min(BATCH, room // 3)
        if batch <= 1:
            return 0
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, batch)
    except (OSError, AttributeError):  # AttributeError: a platform without SO_RCVLOWAT
        return 0
    return batch


def _stop_batches(conn: socket.socket) -> int:
    """Wake the reader for every byte again; returns the new batch size, 0."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
    except OSError:
        pass  # a closed socket: the next read reports it
    return 0


def _bytes_waiting(conn: socket.socket) -> bool:
    """Whether received bytes wait unread in ``conn`` (True when that cannot be told)."""
    try:
        import fcntl
        import termios

        answer = fcntl.ioctl(conn.fileno(), termios.FIONREAD, bytes(4))
    except (ImportError, OSError):
        return True
    return int.from_bytes(answer, sys.byteorder) > 0
