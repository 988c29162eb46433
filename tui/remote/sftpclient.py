"""Provides SFTPClient: a pipelined SFTP v3 client over two binary pipes.

The pipes are an ssh process's (``tui.remote.sshchannel.SSHChannel``: ``stdin``, ``stdout``,
``close()``, ``failure()``) or, in tests, OpenSSH's ``sftp-server`` run directly. Requests
carry ids and replies are matched by id, in whatever order they come; a reply to no request
is a protocol error. Many requests are in flight at once (reads and writes of one file at
the server's ``limits@openssh.com`` sizes, small files at once), so a round trip is paid per
window, not per block.

Both pipes are driven by one ``poll`` loop: requests wait in an outbox and are written as
the pipe takes them, while replies are read as they come, so a client that writes much and
a server that answers much can never each wait for the other (OpenSSH's server stops reading
requests while its replies are not taken). A request with a payload (a WRITE) waits, while
replies are due, until the pipe has room for all of it: written whole, it needs no copy, and
Ferryman wakes once per reply rather than each time ssh takes 32 KiB from a full pipe (a
1 GiB upload: about 28,000 wake-ups and 0.15 s of CPU fewer). Memory is bounded: one
packet buffer, the outbox (``send`` waits once it holds ``OUTBOX_LIMIT``), and the replies
to requests in flight, which each file stream bounds by its window. Every wait has an idle
timeout, which bytes moving either way put off: replies read, requests written, and requests
ssh takes from the pipe (a slow link's WRITE is answered long after it began to go).

Not thread-safe: one thread uses a client at a time (as every ``RemoteFS``).
"""

from __future__ import annotations

import collections
import os
import select
import struct
import time
from collections.abc import Callable
from typing import BinaryIO, Protocol

from tui.errors import ConnectionLost, FerrymanError, ProtocolError
from tui.remote import sftppipe
from tui.remote import sftpwire as wire
from tui.remote.base import MinimumProgress

FLUSH_AT = 64 * 1024
"""Queued requests are written once they add up to this much (or a reply is awaited)."""
OUTBOX_LIMIT = 1024 * 1024
"""Bytes of requests that may wait for the pipe before ``send`` waits for it."""
DEFAULT_BLOCK = 32 * 1024  # filexfer-02 guarantees 32 KiB reads and writes everywhere
MAX_BLOCK = 255 * 1024  # OpenSSH 9.2 announces 261,120-byte reads
DEFAULT_IN_FLIGHT = 64
GREETING_TIMEOUT = 600.0
"""How long the greeting may wait: ssh logs in first, and its prompts (host key, password,
one-time code) wait for a person; ssh's own ``ConnectTimeout`` bounds the network."""
WINDOW_BYTES = 8 * 1024 * 1024
"""The most bytes one file stream keeps in flight (its replies may wait in memory)."""

IOV_MAX = 512  # parts a writev takes at once (Linux's limit is 1024)


class Channel(Protocol):
    """The transport: ``tui.remote.sshchannel.SSHChannel`` (or a test's ``sftp-server``)."""

    stdin: BinaryIO
    stdout: BinaryIO

    def close(self) -> None: ...

    def failure(self) -> FerrymanError: ...


class SFTPClient:
    """One SFTP session over ``channel``.

    Args:
        channel: The pipes; the client owns them from now on (``close`` closes them).
        timeout: Seconds a wait may pass without a byte moving before the connection
            counts as lost.
        min_progress: While a reply is awaited, fewer bytes than its ``min_bytes`` in a
            window is a stall, which drops the connection (a server trickling a byte at a
            time never lets the timeout run out). Default: 1 KiB in ``timeout``.
        log: Receives ``("*", text)`` notes about the session.
    """

    def __init__(
        self,
        channel: Channel,
        *,
        timeout: float = 30.0,
        log: Callable[[str, str], None] | None = None,
        min_progress: MinimumProgress | None = None,
    ) -> None:
        self.channel = channel
        self.timeout = timeout
        self._log = log
        self._rule = min_progress or MinimumProgress()
        self._window = self._rule.seconds or timeout
        self._window_start = 0.0
        self._window_bytes = 0
        self._out = channel.stdin.fileno()
        self._in = channel.stdout.fileno()
        os.set_blocking(self._out, False)
        for fd in (self._in, self._out):
            sftppipe.widen(fd)
        self._capacity = sftppipe.capacity(self._out)
        self._unsettled = False  # requests may wait in the pipe (its level is worth reading)
        self._level = bytearray(4)  # FIONREAD's answer: bytes in the request pipe
        self._outbox: collections.deque[memoryview] = collections.deque()
        self._queued = 0
        self._inbox = bytearray(2 * wire.MAX_PACKET + 8)
        self._view = memoryview(self._inbox)
        self._start = self._end = 0
        self._poll = select.poll()
        self._poll.register(self._in, select.POLLIN)
        self._polling_out = False
        self._next_id = 0
        self._pending: set[int] = set()
        self._discard: set[int] = set()
        self._replies: dict[int, tuple[int, wire.Cursor]] = {}
        self._version: bytes | None = None
        self.broken: FerrymanError | None = None
        self.extensions: dict[bytes, bytes] = {}
        self.read_size = self.write_size = DEFAULT_BLOCK
        self.in_flight = DEFAULT_IN_FLIGHT

    # --- starting ----------------------------------------------------------------------

    def start(self) -> None:
        """Greet the server, read its version and extensions, learn its limits.

        Raises:
            ConnectionLost (what ``channel.failure()`` says), ProtocolError.
        """
        self._queue([memoryview(wire.init_packet())])
        self._window_start = time.monotonic() + GREETING_TIMEOUT  # ssh's login: no rule
        deadline = time.monotonic() + max(self.timeout, GREETING_TIMEOUT)
        while self._version is None:
            deadline = self._pump(deadline)
        version = wire.parse_version(self._version)
        self.extensions = version.extensions
        if self._log:
            names = ", ".join(sorted(n.decode("ascii", "replace") for n in self.extensions))
            self._log("*", f"SFTP version 3; extensions: {names or 'none'}")
        if self.offers(b"limits@openssh.com"):
            reply = self.extended(b"limits@openssh.com", b"", "Cannot read the server's limits")
            _packet, read, write, _handles = wire.parse_limits(reply)
            if read:
                self.read_size = max(1024, min(read, MAX_BLOCK))
            if write:
                # A power of two: the copy loop's 256 KiB blocks then split evenly (255 KiB
                # requests left a 1 KiB straggler after each block).
                self.write_size = 1 << (max(1024, min(write, MAX_BLOCK)).bit_length() - 1)

    def offers(self, extension: bytes) -> bool:
        return extension in self.extensions

    # --- sending -----------------------------------------------------------------------

    def send(self, kind: int, body: bytes, payload: bytes | memoryview = b"") -> int:
        """Queue one request (``payload`` follows ``body`` without being joined to it);
        returns its id. Waits while the outbox is full."""
        self._check()
        if self._queued > OUTBOX_LIMIT:
            self._wait_while(lambda: self._queued > OUTBOX_LIMIT)
        if payload and self._capacity:
            need = min(len(body) + len(payload) + 9, self._capacity - sftppipe.PIPE_SLACK)
            if self._room() < need and self._due():
                self._wait_while(lambda: self._room() < need and self._due())
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        while self._next_id in self._pending or self._next_id in self._discard:
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        request_id = self._next_id
        head = struct.pack(">IBI", 5 + len(body) + len(payload), kind, request_id) + body
        self._pending.add(request_id)
        self._queue([memoryview(head), memoryview(payload)] if payload else [memoryview(head)])
        return request_id

    def _wait_while(self, condition: Callable[[], object]) -> None:
        self._watch()
        deadline = time.monotonic() + self.timeout
        while condition():
            deadline = self._pump(deadline)

    def _room(self) -> int:
        """Bytes the request pipe takes before it is nearly full."""
        return self._capacity - sftppipe.PIPE_SLACK - self._pipe_level()

    def _due(self) -> bool:
        """Replies are on their way: one will wake the poll loop."""
        return bool(self._pending or self._discard)

    def _queue(self, parts: list[memoryview]) -> None:
        """Queue a request. Small ones wait for the next flush (a wait, or ``FLUSH_AT``
        bytes), so a window of READ requests goes out in one write, not one each; one
        with a payload goes now, and the pipe usually takes it without a copy."""
        if len(parts) > 1 or self._queued + len(parts[0]) >= FLUSH_AT:
            parts = self._write([*self._outbox, *parts])
            self._outbox.clear()
            self._queued = 0
        for part in parts:
            # What waits must outlive the caller's buffer (a copy loop reuses it).
            kept = part if isinstance(part.obj, bytes) else memoryview(bytes(part))
            self._outbox.append(kept)
            self._queued += len(kept)
        self._want_out(bool(self._outbox))

    def _write(self, parts: list[memoryview]) -> list[memoryview]:
        """Write what the pipe takes now, at most ``IOV_MAX`` parts a call; returns what is
        left."""
        while parts:
            batch = parts[:IOV_MAX]
            try:
                written = os.writev(self._out, batch)
            except BlockingIOError:
                return parts
            except OSError as error:
                raise self._lost() from error
            self._unsettled = True  # bytes in the pipe: _pump watches them go
            done = 0
            while done < len(batch) and written >= len(batch[done]):
                written -= len(batch[done])
                done += 1
            if done < len(batch):  # the pipe is full: the rest waits
                return [batch[done][written:], *batch[done + 1 :], *parts[len(batch) :]]
            parts = parts[len(batch) :]
        return parts

    def _flush(self) -> int:
        """Write what the outbox holds as the pipe takes it; returns the bytes written."""
        parts = list(self._outbox)
        left = self._write(parts)
        self._outbox = collections.deque(left)
        before = self._queued
        self._queued = sum(len(part) for part in left)
        self._want_out(bool(left))
        self._window_bytes += before - self._queued
        return before - self._queued

    def _pipe_level(self) -> int:
        """Bytes in the request pipe that ssh has not taken yet (0 when not known)."""
        if not self._capacity:
            return 0
        try:
            return sftppipe.level(self._out, self._level)
        except OSError as error:  # the pipe is gone: what the transport says happened
            raise self._lost() from error

    def _want_out(self, wanted: bool) -> None:
        if wanted != self._polling_out:
            self._polling_out = wanted
            if wanted:
                self._poll.register(self._out, select.POLLOUT)
            else:
                self._poll.unregister(self._out)

    # --- receiving ---------------------------------------------------------------------

    def _pump(self, deadline: float) -> float:
        """Move bytes both ways once; returns the idle deadline (moved on by progress)."""
        self._check()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._fail(ConnectionLost(
                f"The server did not answer within {self.timeout:g} s; the connection was dropped"
            ))  # fmt: skip
        moved = False
        level = self._pipe_level() if self._unsettled else 0  # a download's pipe: empty
        written = 0
        for fd, _events in self._poll.poll(min(remaining, 0.25) * 1000):
            if fd == self._out:
                written += self._flush()
            elif fd == self._in:
                moved = self._read() or moved
        # Requests taken from the pipe are bytes moving too: over a slow link a WRITE's
        # status comes long after ssh began to take it, and nothing else moves meanwhile.
        taken = 0
        if level or written:
            after = self._pipe_level()
            self._unsettled = after > 0
            taken = level + written - after
            self._window_bytes += max(0, taken - written)  # what was written: counted
        moved = moved or written > 0 or taken > 0
        now = time.monotonic()
        if self._rule.min_bytes and now - self._window_start >= self._window:
            if self._window_bytes < self._rule.min_bytes:
                raise self._fail(ConnectionLost(
                    f"The SFTP connection stalled ({self._rule.describe(self.timeout)}); "
                    "it was dropped"
                ))  # fmt: skip
            self._window_start, self._window_bytes = now, 0
        return now + self.timeout if moved else deadline

    def _watch(self) -> None:
        """A wait begins: the minimum-progress window starts now."""
        self._window_start, self._window_bytes = time.monotonic(), 0

    def _read(self) -> bool:
        if self._start:  # keep the unparsed tail at the front: room for a whole packet
            self._inbox[: self._end - self._start] = self._view[self._start : self._end]
            self._end -= self._start
            self._start = 0
        try:
            count = os.readv(self._in, [self._view[self._end :]])
        except OSError as error:
            raise self._lost() from error
        if not count:
            raise self._lost()
        self._window_bytes += count
        self._end += count
        self._parse()
        return True

    def _parse(self) -> None:
        view, start, end = self._view, self._start, self._end
        while end - start >= 4:
            length = wire.packet_length(bytes(view[start : start + 4]))
            if end - start - 4 < length:
                break
            payload = bytes(view[start + 4 : start + 4 + length])
            start += 4 + length
            self._start = start
            self._dispatch(payload)
        self._start = start

    def _dispatch(self, payload: bytes) -> None:
        if self._version is None:
            self._version = payload
            return
        try:
            kind, request_id, cursor = wire.parse_reply(payload)
        except ProtocolError as error:
            raise self._fail(error) from None
        if request_id in self._discard:
            self._discard.discard(request_id)
        elif request_id in self._pending:
            self._pending.discard(request_id)
            self._replies[request_id] = (kind, cursor)
        else:
            raise self._fail(ProtocolError(
                f"The server answered request {request_id}, which was never made (or twice)"
            ))  # fmt: skip

    def wait(self, request_id: int) -> tuple[int, wire.Cursor]:
        """The reply to one request, as (type, cursor after the id)."""
        if request_id not in self._replies:
            self._watch()
            deadline = time.monotonic() + self.timeout
            while request_id not in self._replies:
                deadline = self._pump(deadline)
        return self._replies.pop(request_id)

    def forget(self, request_id: int) -> None:
        """Its reply is not wanted (a cancelled read): dropped when it comes."""
        if self._replies.pop(request_id, None) is None and request_id in self._pending:
            self._pending.discard(request_id)
            self._discard.add(request_id)

    # --- replies by type ----------------------------------------------------------------

    def status(self, request_id: int, action: str) -> None:
        """Wait for an OK status; anything else raises."""
        kind, cursor = self.wait(request_id)
        self._expect(kind, cursor, wire.STATUS, action)

    def handle(self, request_id: int, action: str) -> bytes:
        kind, cursor = self.wait(request_id)
        self._expect(kind, cursor, wire.HANDLE, action)
        return wire.parse_handle(cursor)

    def attrs(self, request_id: int, action: str) -> wire.Attrs:
        kind, cursor = self.wait(request_id)
        self._expect(kind, cursor, wire.ATTRS, action)
        attrs = wire.read_attrs(cursor)
        cursor.end()
        return attrs

    def names(self, request_id: int, action: str) -> list[wire.Name] | None:
        """A NAME reply's entries, or None at EOF (the end of a folder)."""
        kind, cursor = self.wait(request_id)
        if kind == wire.STATUS and wire.is_eof(cursor):
            return None
        self._expect(kind, cursor, wire.NAME, action)
        return wire.parse_names(cursor)

    def data(self, request_id: int, asked: int, action: str) -> memoryview | None:
        """A READ's bytes (at most ``asked``), or None at the end of the file."""
        kind, cursor = self.wait(request_id)
        if kind == wire.STATUS and wire.is_eof(cursor):
            return None
        self._expect(kind, cursor, wire.DATA, action)
        return wire.parse_data(cursor, asked)

    def extended(self, name: bytes, body: bytes, action: str) -> bytes:
        """Run an extension that answers EXTENDED_REPLY; returns its data."""
        kind, cursor = self.wait(self.send(wire.EXTENDED, wire.string(name) + body))
        self._expect(kind, cursor, wire.EXTENDED_REPLY, action)
        return cursor.data[cursor.pos :]

    def call(self, kind: int, body: bytes, action: str) -> None:
        """Send a request that answers with a status, and wait for an OK."""
        self.status(self.send(kind, body), action)

    def _expect(self, kind: int, cursor: wire.Cursor, wanted: int, action: str) -> None:
        if kind == wire.STATUS:
            status = wire.parse_status(cursor)
            if wanted == wire.STATUS and status.code == wire.OK:
                return
            if status.code in (wire.OK, wire.EOF):
                raise ProtocolError(f"{action}: the server answered '{status.message or 'OK'}'"
                                    " where it owed data")  # fmt: skip
            error = wire.error_for_status(status, action)
            if isinstance(error, ConnectionLost):
                raise self._fail(error)
            raise error
        if kind != wanted:
            raise ProtocolError(f"{action}: the server sent a reply of type {kind}, not {wanted}")

    # --- failure -------------------------------------------------------------------------

    def _check(self) -> None:
        if self.broken is not None:
            raise self.broken

    def _lost(self) -> FerrymanError:
        """The pipes ended: what the transport says happened."""
        try:
            error = self.channel.failure()
        except Exception as problem:  # noqa: BLE001 - the transport's own fault, reported
            error = ConnectionLost(f"The SFTP connection ended ({problem})")
        return self._fail(error)

    def _fail(self, error: FerrymanError) -> FerrymanError:
        if self.broken is None:
            self.broken = error
            self._close_channel()
        return self.broken

    def _close_channel(self) -> None:
        try:
            self.channel.close()
        except Exception:  # noqa: BLE001, S110 - closing is best effort
            pass

    @property
    def alive(self) -> bool:
        return self.broken is None

    def close(self) -> None:
        """Flush what is queued (briefly) and end the transport; never raises."""
        if self.broken is None:
            deadline = time.monotonic() + min(self.timeout, 1.0)
            try:
                while self._outbox and time.monotonic() < deadline:
                    self._pump(deadline)
            except FerrymanError:
                pass
            self.broken = ConnectionLost("The SFTP session was closed")
        self._close_channel()
