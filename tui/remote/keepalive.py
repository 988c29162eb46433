"""Provides KeptAlive: a session that stays up while the user reads, and comes back quietly.

Servers close idle control connections (vsftpd's ``idle_session_timeout`` is 300 s,
pyftpdlib's 300 s, some hosting providers 60 to 120 s). The app's browsing session is idle
most of the time, so:

- a daemon thread sends the session's ``keepalive`` (FTP: NOOP, which the protocol log
  shows) after ``interval`` seconds without a command, never while one is in flight: every
  operation holds the session's lock, and an open data stream counts as one;
- a session that was dropped anyway (the server's timeout was shorter, the network went
  away) reconnects on the next action without a word to the user but a line in the log:
  known dropped before it, or found dropped by its first command after an idle spell, which
  is then sent again once. Reconnecting judges the certificate again (the ConnectionService's
  TrustPolicy decides every handshake), so a certificate that changed meanwhile is asked
  about, never taken on the old decision.

Protocol-neutral: anything a RemoteFS does, through its ``keepalive``, ``connected`` and
``reconnect``. Thread-safe: operations are serialised by the lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Self

from tui.errors import ConnectionLost, FerrymanError, TLSError
from tui.remote.base import Capabilities, Entry, Reader, RemoteFS, Security, Writer

Note = Callable[[str], None]

QUIET_AFTER = 1.0
"""Seconds of idleness after which a lost connection is taken for the server's idle
timeout (reconnect and send again), not for a failure of the operation itself."""


class KeptAlive(RemoteFS):
    """``session`` kept open by NOOPs while idle, and reconnected when it dropped anyway.

    Args:
        session: A connected session (``ConnectionService.open``).
        interval: Seconds without a command before a keep-alive; 0 sends none (the quiet
            reconnect still works).
        note: Told, in a line for the log, of each keep-alive and reconnect.
        clock: Monotonic seconds (tests inject one).
    """

    def __init__(
        self,
        session: RemoteFS,
        *,
        interval: float = 60.0,
        note: Note | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.interval = interval
        self.note = note or (lambda _text: None)
        self.label = session.label
        self.lock = threading.RLock()  # the session's: one command at a time
        self._clock = clock
        self._last = clock()  # the end of the last command
        self._streams = 0  # data streams open: a transfer is in flight
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __getattr__(self, name: str) -> Any:
        # What is not RemoteFS (an FTP session's ``tls``, ``site``) is the session's own.
        if name == "session":  # not set yet (a copy being made): no endless recursion
            raise AttributeError(name)
        return getattr(self.session, name)

    # --- keeping it open -----------------------------------------------------------------

    def start(self) -> Self:
        """Start the thread that sends the keep-alives (none when ``interval`` is 0)."""
        if self.interval > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="keepalive", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        # Wakes a few times per interval: a keep-alive is at most a quarter late.
        while not self._stop.wait(max(0.05, min(self.interval / 4, 5.0))):
            self.tick()

    def tick(self) -> bool:
        """Send a keep-alive if the session has been idle for ``interval``; returns whether
        one was sent. Never waits: a busy session is not idle."""
        if self._streams or not self.lock.acquire(blocking=False):
            return False
        try:
            idle = self._clock() - self._last
            if self._streams or idle < self.interval or not self.session.connected:
                return False
            self.note(f"keep-alive: {idle:.0f} s idle, sending NOOP so the server keeps "
                      "the session")  # fmt: skip
            try:
                self.session.keepalive()
            except FerrymanError as error:
                self.note(f"keep-alive failed ({error}); the session reconnects at the next "
                          "action")  # fmt: skip
                return False
            self._last = self._clock()
            return True
        finally:
            self.lock.release()

    # --- every operation -----------------------------------------------------------------

    def _call(self, operation: Callable[..., Any], *args: Any, **options: Any) -> Any:
        with self.lock:
            idle = self._clock() - self._last
            try:
                if not self.session.connected:
                    self._reconnect("the session had been closed")
                try:
                    return operation(*args, **options)
                except (ConnectionLost, TLSError):
                    if idle < QUIET_AFTER or self.session.connected:
                        raise  # lost in the middle of work: the caller's failure
                    self._reconnect(f"the server closed the session after {idle:.0f} s idle")
                    return operation(*args, **options)
            finally:
                self._last = self._clock()

    def _reconnect(self, why: str) -> None:
        self.note(f"{why}: reconnecting (the certificate is checked again)")
        self.session.reconnect()
        self.note(f"reconnected to {self.label}")

    @property
    def capabilities(self) -> Capabilities:
        return self.session.capabilities

    @property
    def home(self) -> str:
        return self.session.home

    def resolve(self, path: str) -> str:
        return self.session.resolve(path)

    def listdir(self, path: str) -> list[Entry]:
        return self._call(lambda: self.session.listdir(path))  # type: ignore[no-any-return]

    def iterdir(self, path: str) -> Iterator[Entry]:
        return iter(self.listdir(path))

    def stat(self, path: str) -> Entry:
        return self._call(self.session.stat, path)  # type: ignore[no-any-return]

    def mkdir(self, path: str) -> None:
        self._call(self.session.mkdir, path)

    def remove(self, path: str) -> None:
        self._call(self.session.remove, path)

    def rmdir(self, path: str) -> None:
        self._call(self.session.rmdir, path)

    def rename(self, source: str, target: str) -> None:
        self._call(self.session.rename, source, target)

    def flush_to_disk(self, path: str) -> None:
        self._call(self.session.flush_to_disk, path)

    def size(self, path: str) -> int:
        return self._call(self.session.size, path)  # type: ignore[no-any-return]

    def mtime(self, path: str) -> datetime:
        return self._call(self.session.mtime, path)  # type: ignore[no-any-return]

    def set_mtime(self, path: str, when: datetime) -> None:
        self._call(self.session.set_mtime, path, when)

    def checksum(self, path: str) -> tuple[str, str] | None:
        return self._call(self.session.checksum, path)  # type: ignore[no-any-return]

    def chmod(self, path: str, mode: int) -> None:
        self._call(self.session.chmod, path, mode)

    def open_read(self, path: str, offset: int = 0, *, expect: int | None = None) -> Reader:
        stream = self._call(self.session.open_read, path, offset, expect=expect)
        return _Stream(self, stream)  # type: ignore[return-value]

    def open_write(self, path: str, offset: int | None = None, *, append: bool = False) -> Writer:
        stream = self._call(self.session.open_write, path, offset, append=append)
        return _Stream(self, stream)  # type: ignore[return-value]

    def keepalive(self) -> None:
        self._call(self.session.keepalive)

    @property
    def security(self) -> Security:
        return self.session.security

    @property
    def connected(self) -> bool:
        return self.session.connected

    def reconnect(self) -> None:
        with self.lock:
            self.session.reconnect()
            self._last = self._clock()

    def close(self) -> None:
        self._stop.set()
        with self.lock:
            self.session.close()

    def _opened(self, change: int) -> None:
        with self.lock:
            self._streams += change
            self._last = self._clock()


class _Stream:
    """A data stream of a KeptAlive session: while it is open, no keep-alive is sent."""

    def __init__(self, owner: KeptAlive, stream: Any) -> None:
        self._owner = owner
        self._stream = stream
        self._open = True
        for name in ("readinto", "read_chunk", "read", "write"):  # bound once, not per block
            if hasattr(stream, name):
                setattr(self, name, getattr(stream, name))
        owner._opened(+1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)  # readinto, read, write: straight through

    def _done(self) -> None:
        if self._open:
            self._open = False
            self._owner._opened(-1)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._done()

    def abort(self) -> None:
        try:
            self._stream.abort()
        finally:
            self._done()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
