"""Provides what the SFTP client knows of its pipes to ssh: their size and fill level.

Linux gives a pipe 64 KiB; the client asks for 1 MiB, a fourth as many wake-ups and reads
for a large file. It reads how full the request pipe is (``FIONREAD``) to write a request
only once the pipe has room for all of it, and to see ssh taking bytes from it on a slow
link (sftpclient.py says why). A socket, or a pipe a system limit keeps small, is written
as it takes, as before.
"""

from __future__ import annotations

import fcntl
import termios

PIPE_SIZE = 1024 * 1024
PIPE_SLACK = 128 * 1024
"""Room a payload leaves free in the request pipe: a pipe never quite full does not wake
Ferryman each time ssh reads from it (the pipe counts pages, not bytes: this covers both)."""
MIN_PACED_PIPE = 4 * PIPE_SLACK  # a smaller pipe (a system limit) is written as it takes


def widen(fd: int) -> None:
    """Give a pipe ``PIPE_SIZE`` (a socket or an unprivileged limit just keeps its size)."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except OSError:
        pass


def capacity(fd: int) -> int:
    """The pipe's size, or 0 when it is too small to pace writes by (or not a pipe)."""
    try:
        size = fcntl.fcntl(fd, getattr(fcntl, "F_GETPIPE_SZ", 1032))
        fcntl.ioctl(fd, termios.FIONREAD, bytearray(4))
    except OSError:
        return 0
    return size if size >= MIN_PACED_PIPE else 0


def level(fd: int, answer: bytearray) -> int:
    """Bytes in the pipe not read yet (``answer``: four reusable bytes for the kernel's).

    Raises:
        OSError: the pipe is gone.
    """
    fcntl.ioctl(fd, termios.FIONREAD, answer)
    return int.from_bytes(answer, "little")
