"""Provides the reading of one FTP listing (MLSD or LIST): parsed as it arrives, and only
evidence once the server confirmed it whole.

A listing that failed is never an empty folder. Servers report a folder they cannot read in
different ways, all seen here on a folder the login can enter but not read (mode 0311):

- vsftpd: no data, then ``226 Transfer done (but failed to open directory).``
- pure-ftpd: LIST gives no data and ``226-Sorry, we were unable to read [.]``; MLSD ``550``.
- ProFTPD: MLSD ``550 …: Permission denied``; LIST no data and a plain
  ``226 Transfer complete``, which only the missing ``.`` and ``..`` give away (its
  ``LIST -a`` shows them in every folder it can read).

So a final reply is checked for words of failure even when its code says success, and an
empty ``LIST -a`` from a server that showed ``.``/``..`` before is an error.
"""

from __future__ import annotations

import ftplib
import re
import socket

from tui.errors import ListingFailed
from tui.remote.base import Entry
from tui.remote.ftpcontrol import Control, close_data
from tui.remote.ftpio import MinimumProgress, stall_watch
from tui.remote.listing import ListingReader
from tui.remote.tlsdata import receiver

_CHUNK = 64 * 1024

# Words in a 2xx reply after a listing that say the listing is not the folder's contents.
_FAILURE = re.compile(
    r"fail|unable to|cannot|can't|could ?n[o']t|denied|error|not readable", re.IGNORECASE
)


def failure_in(reply: str) -> bool:
    """Whether a listing's final reply, whatever its code, says the listing failed."""
    return reply[:1] != "2" or _FAILURE.search(reply) is not None


def receive_listing(
    control: Control,
    conn: socket.socket,
    reader: ListingReader,
    action: str,
    *,
    rule: MinimumProgress | None = None,
) -> list[Entry]:
    """Read a listing's data connection into ``reader``, then the server's verdict.

    Returns:
        The entries, when the server confirmed the listing without a word of failure.

    Raises:
        ListingFailed: the server said the listing failed (even with a 226), or the listing
            was over the reader's bounds (the transfer is then abandoned).
        ConnectionLost: the listing stalled (``rule``, by default 1 KiB per timeout).
        OSError, ssl.SSLError, ftplib.Error: from the connections, for the caller to map.
    """
    receive = receiver(conn)
    watch = stall_watch(rule, conn)
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    try:
        while count := receive(view):
            if watch is not None and not watch.count(count):
                raise watch.stalled(action)
            reader.feed(buffer[:count])
    except ListingFailed:
        conn.close()  # abrupt: the server stops sending and answers 426
        _expect_abort(control)
        raise
    except BaseException:
        conn.close()
        raise
    close_data(conn, sending=False)
    reply = control.voidresp()
    if failure_in(reply):
        raise ListingFailed(f"{action}: the server could not list it ({reply.strip()})",
                            reply=reply)  # fmt: skip
    return reader.finish()


def _expect_abort(control: Control) -> None:
    """Read the reply to an abandoned listing (426, or 226 if it had just ended)."""
    try:
        control.getresp()
    except ftplib.Error:
        pass  # the 426 that an abandoned transfer is answered with
    except (OSError, EOFError):
        control.abandon()  # no answer: the session is unusable, and the next use says so
