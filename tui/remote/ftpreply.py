"""Provides the bounded framing of FTP replies and the time and size limits every reply obeys.

ftplib's reader trusts the server: a reply may take forever (each read only has an idle
timeout, so one byte a second never ends), a multi-line reply may grow without end (an
endless ``220-`` greeting reached 2 GB in 22 s), and any first three characters pass as a
reply code. Here:

- **Every line is bounded** (``MAX_LINE``, 8 KiB without its CRLF; RFC 959 servers send
  lines of well under 1 KiB).
- **Every reply is bounded**: ``MAX_REPLY_LINES`` lines and ``MAX_REPLY_BYTES`` in all; the
  longest real replies (FEAT, HELP, STAT of a big folder on ProFTPD) stay far below.
- **Every reply has a deadline** besides the idle timeout of each read: it must be complete
  within ``REPLY_DEADLINE_FACTOR`` times the session's timeout from the moment the client
  starts waiting for it (the first byte must come within one timeout, as before, which
  leaves at least one more timeout for the rest). Over any working link a whole reply takes
  milliseconds; only a server that trickles bytes meets this limit.
- **Every reply code is three ASCII digits** whose first is 1-5, followed by a space, a
  hyphen or the end of the line; a multi-line reply ends at the same code and a space.

``ReplyFramer`` does no I/O, so its rules are tested on arbitrary byte streams. In the other
direction, ``check_sendable`` keeps CR, LF and NUL out of every command line.
"""

from __future__ import annotations

from tui.errors import InvalidName, ProtocolError, UsageError

MAX_LINE = 8 * 1024
"""The longest reply line accepted, in bytes, without its line end."""
MAX_REPLY_LINES = 10_000
"""The most lines one (multi-line) reply may have."""
MAX_REPLY_BYTES = 1024 * 1024
"""The most bytes one (multi-line) reply may have, line ends counted."""
REPLY_DEADLINE_FACTOR = 2.0
"""A reply must be complete within this many session timeouts (see the module's notes)."""


def reply_deadline(timeout: float) -> float:
    """Seconds a whole reply (or greeting) may take, for a session with ``timeout``."""
    return REPLY_DEADLINE_FACTOR * timeout


def is_reply_start(line: str) -> bool:
    """Whether ``line`` begins a reply: three ASCII digits (the first 1-5), then a space,
    a hyphen (a multi-line reply) or nothing."""
    return (
        len(line) >= 3
        and "1" <= line[0] <= "5"
        and "0" <= line[1] <= "9"
        and "0" <= line[2] <= "9"
        and line[3:4] in ("", " ", "-")
    )


def _size(limit: int) -> str:
    return f"{limit // 1024} KiB" if limit < 1024 * 1024 else f"{limit // (1024 * 1024)} MiB"


class ReplyFramer:
    """Cuts a byte stream from the server into replies, within the limits. Not thread-safe.

    ``feed`` the bytes as they arrive and ask ``next_reply`` after each; the bytes held
    never exceed one reply's limit plus the last chunk fed.

    Args:
        where: Names the server in messages, e.g. ``"ftp.example.com port 21"``.
    """

    def __init__(
        self,
        where: str,
        *,
        max_line: int = MAX_LINE,
        max_lines: int = MAX_REPLY_LINES,
        max_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        self.where = where
        self.max_line = max_line
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer known to hold no line end
        self._lines: list[str] = []  # the reply being assembled
        self._size = 0

    @property
    def held(self) -> int:
        """Bytes held: unread input and the lines of the reply being assembled."""
        return len(self._buffer) + self._size

    @property
    def pending(self) -> bool:
        """Whether bytes beyond the last complete reply have arrived."""
        return bool(self._buffer or self._lines)

    def feed(self, data: bytes) -> None:
        """Take bytes from the server."""
        self._buffer += data

    def next_reply(self) -> str | None:
        """The next complete reply (its lines joined by ``"\\n"``, line ends removed), or
        None when more bytes are needed.

        Raises:
            ProtocolError: a line or the reply is too long, or a reply does not start with
                a valid reply code.
        """
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end < 0:
                self._scanned = len(self._buffer)
                if len(self._buffer) > self.max_line + 1:  # + 1: a CR before the LF to come
                    raise self._too_long_line()
                return None
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            self._scanned = 0
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if len(raw) > self.max_line:
                raise self._too_long_line()
            reply = self._take(raw.decode("latin-1"))
            if reply is not None:
                return reply

    def _take(self, line: str) -> str | None:
        if not self._lines:
            if not is_reply_start(line):
                raise ProtocolError(
                    f"{self.where} sent a malformed reply: {line[:80]!r}", reply=line[:80]
                )
            if line[3:4] != "-":
                return line
        elif len(self._lines) >= self.max_lines or self._size + len(line) + 1 > self.max_bytes:
            raise ProtocolError(
                f"{self.where} sent a reply longer than {self.max_lines:,} lines or "
                f"{_size(self.max_bytes)}; refusing to read more"
            )
        self._lines.append(line)
        self._size += len(line) + 1
        first = self._lines[0]
        if len(self._lines) > 1 and line[:3] == first[:3] and line[3:4] in ("", " "):
            reply = "\n".join(self._lines)
            self._lines, self._size = [], 0
            return reply
        return None

    def _too_long_line(self) -> ProtocolError:
        return ProtocolError(
            f"{self.where} sent a reply line longer than {_size(self.max_line)}; "
            "refusing to read more"
        )


_UNSENDABLE = ("\r", "\n", "\x00")


def check_sendable(line: str) -> None:
    """Refuse a command line whose argument holds CR, LF or NUL, which would end the
    command early and could smuggle in a second one. The message never shows a password.

    Raises:
        UsageError: a user name, password or account holds one (it came from the user).
        InvalidName: any other argument does (a path, from the user or a server listing).
    """
    if not any(character in line for character in _UNSENDABLE):
        return
    verb, _, argument = line.partition(" ")
    what = {"PASS": "password", "USER": "user name", "ACCT": "account"}.get(verb.upper())
    if what is not None:
        raise UsageError(f"The {what} contains a line break or NUL, which FTP cannot send")
    shown = repr(argument[:100]) + ("…" if len(argument) > 100 else "")
    raise InvalidName(
        f"Cannot send {verb.upper()} {shown}: it contains a line break or NUL, "
        "which FTP cannot send"
    )
