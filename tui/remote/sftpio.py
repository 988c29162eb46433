"""Provides the file streams of an SFTP session: a pipelined reader and a pipelined writer.

A reader keeps a window of READ requests in flight ahead of what its caller has taken (at
most ``sftpclient.WINDOW_BYTES``, at most the server's in-flight count), and hands the
replies over in file order. A short reply (SFTP lets a server send less than asked before
the end) is not the end: the rest is asked for again, first in line. The end is a reply of
EOF; when the caller said how much it expects, the window stops there and one request past
it shows whether the file grew. Closing a reader does not wait: the replies still coming
are dropped as they arrive, so a cancelled download stops at once.

A writer sends WRITE requests as fast as the pipe takes them, with the same window, and
checks every status in order; ``close`` checks the last ones and closes the handle in one
round trip. (Flushing to the server's disk is the caller's choice: ``SFTPFS.flush_to_disk``
before a copy replaces a file.)
"""

from __future__ import annotations

import collections
from typing import Self

from tui.errors import FerrymanError
from tui.remote import sftpwire as wire
from tui.remote.sftpclient import WINDOW_BYTES, SFTPClient


def _window(client: SFTPClient, block: int) -> int:
    return max(2, min(client.in_flight, WINDOW_BYTES // block))


def close_handle(client: SFTPClient, handle: bytes) -> None:
    """Close a handle without waiting for the answer (nothing depends on it)."""
    if client.alive:
        try:
            client.forget(client.send(wire.CLOSE, wire.string(handle)))
        except FerrymanError:
            pass


class SFTPReader:
    """A file's bytes from ``offset``, read ahead. Not thread-safe."""

    def __init__(
        self, client: SFTPClient, handle: bytes, offset: int, expect: int | None, action: str
    ) -> None:
        self._client = client
        self._handle = handle
        self._action = action
        self._block = client.read_size
        self._window = _window(client, self._block)
        self._next = offset  # the next offset to ask for
        self._end = None if expect is None else offset + max(0, expect)
        self._probed = False  # the one request past the expected end is out
        self._queue: collections.deque[tuple[int, int, int]] = collections.deque()
        self._chunk: bytes | memoryview = b""
        self._taken = 0
        self._eof = False
        self._closed = False
        self.position = offset

    def _ask(self) -> None:
        send, head = self._client.send, wire.string(self._handle)
        while len(self._queue) < self._window:
            if self._end is not None and self._next >= self._end:
                if self._probed:
                    return
                self._probed = True
                length = self._block
            elif self._end is not None:
                length = min(self._block, self._end - self._next)
            else:
                length = self._block
            request = send(wire.READ, head + wire.u64(self._next) + wire.u32(length))
            self._queue.append((request, self._next, length))
            self._next += length

    def readinto(self, buffer: memoryview | bytearray) -> int:
        chunk = self.read_chunk(len(buffer))
        count = len(chunk)
        buffer[:count] = chunk
        return count

    def read_chunk(self, size: int) -> memoryview:
        """Up to ``size`` bytes as they arrived, without a copy (empty at the end). The view
        is the caller's until its next call: a copy loop writes it out and asks again."""
        while self._taken >= len(self._chunk):
            if self._eof or self._closed:
                return memoryview(b"")
            self._ask()
            request, offset, asked = self._queue.popleft()
            data = self._client.data(request, asked, self._action)
            if data is None or not data:
                self._eof = True
                self._drop_queue()
                return memoryview(b"")
            if len(data) < asked:  # a short read: ask for the rest before anything else
                rest, start = asked - len(data), offset + len(data)
                again = self._client.send(
                    wire.READ, wire.string(self._handle) + wire.u64(start) + wire.u32(rest)
                )
                self._queue.appendleft((again, start, rest))
            if self._end is not None and offset + len(data) > self._end:
                self._end = None  # the file grew: read on; the caller judges it
            self._chunk, self._taken = data, 0
        start = self._taken
        count = min(size, len(self._chunk) - start)
        self._taken += count
        self.position += count
        return memoryview(self._chunk)[start : start + count]

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size if size >= 0 else 1 << 62
        buffer = bytearray(min(wanted, 1 << 20))
        while wanted > 0:
            count = self.readinto(memoryview(buffer)[: min(wanted, len(buffer))])
            if not count:
                break
            parts.append(bytes(buffer[:count]))
            wanted -= count
        return b"".join(parts)

    def _drop_queue(self) -> None:
        while self._queue:
            self._client.forget(self._queue.popleft()[0])

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._drop_queue()
        close_handle(self._client, self._handle)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SFTPWriter:
    """Writes a file from ``offset`` with many WRITE requests in flight. Not thread-safe.

    Args:
        pending: Requests already sent for this file whose statuses come first (the
            truncation of a resumed upload).
    """

    def __init__(
        self,
        client: SFTPClient,
        handle: bytes,
        offset: int,
        action: str,
        *,
        pending: tuple[int, ...] = (),
    ) -> None:
        self._client = client
        self._handle = handle
        self._head = wire.string(handle)
        self._action = action
        self._block = client.write_size
        self._window = _window(client, self._block)
        self._sent: collections.deque[int] = collections.deque(pending)
        self._closed = False
        self.position = offset

    def _reap(self, keep: int) -> None:
        while len(self._sent) > keep:
            self._client.status(self._sent.popleft(), self._action)

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data).cast("B")
        block, send = self._block, self._client.send
        for start in range(0, len(view), block):
            self._reap(self._window - 1)
            chunk = view[start : start + block]
            head = self._head + wire.u64(self.position) + wire.u32(len(chunk))
            self._sent.append(send(wire.WRITE, head, chunk))
            self.position += len(chunk)
        return len(view)

    def close(self) -> None:
        """Check every write and close the file.

        Raises:
            What the server's statuses say (``DiskFull``, ``PermissionDenied`` …).
        """
        if self._closed:
            return
        self._closed = True
        client = self._client
        try:
            self._sent.append(client.send(wire.CLOSE, self._head))
            self._reap(0)
        except BaseException:
            self._abandon()
            raise

    def _abandon(self) -> None:
        while self._sent:
            self._client.forget(self._sent.popleft())

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._abandon()
        close_handle(self._client, self._handle)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc and exc[0] is not None:
            self.abort()
        else:
            self.close()
