"""Benchmark: memory per entry of a 100,000-line listing, read whole (as ``ftpio.read_lines``
did: the text read, joined, split and decoded, then parsed) and as now (parsed as it
arrives). Both use today's parser, which shares times and permission strings; with the
parser before issue 19, reading whole kept 247 B/entry (LIST) and 236 (MLSD), peak 355/351.

    python tests/bench/bench_listing_memory.py

Both read the same bytes from a socket pair under tracemalloc; "kept" is what the entries
hold afterwards, "peak" the most held at once. Not a test: the numbers go in the notes.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import tracemalloc
from collections.abc import Callable

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from tui.remote.base import Entry  # noqa: E402
from tui.remote.listing import ListingReader, parse_listing  # noqa: E402

N = 100_000
LISTINGS = {
    "LIST": (
        b"".join(
            b"-rw-r--r--   1 ftp ftp   %d Nov 24 01:57 f%06d\r\n" % (n + 1000, n) for n in range(N)
        ),
        False,
    ),  # fmt: skip
    "MLSD": (
        b"".join(
            b"type=file;size=%d;modify=20250102030405;perm=r; f%06d\r\n" % (n + 1000, n)
            for n in range(N)
        ),
        True,
    ),  # fmt: skip
    "tiny": (b"x\n" * N, False),
}


def whole(conn: socket.socket, mlsd: bool) -> list[Entry]:
    """The old way (ftpio.read_lines, then parse_listing)."""
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    lines = [line.rstrip(b"\r").decode("utf-8", "surrogateescape")
             for line in b"".join(chunks).split(b"\n") if line.strip()]  # fmt: skip
    return parse_listing(lines, mlsd=mlsd)


def now(conn: socket.socket, mlsd: bool) -> list[Entry]:
    reader = ListingReader(mlsd=mlsd)
    buffer = bytearray(65536)
    while count := conn.recv_into(buffer):
        reader.feed(buffer[:count])
    return reader.finish()


def measure(read: Callable[[socket.socket, bool], list[Entry]], data: bytes,
            mlsd: bool) -> tuple[float, float]:  # fmt: skip
    ours, theirs = socket.socketpair()
    sender = threading.Thread(target=lambda: (theirs.sendall(data), theirs.close()))
    tracemalloc.start()
    sender.start()
    entries = read(ours, mlsd)
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sender.join()
    ours.close()
    return kept / len(entries), peak / len(entries)


def main() -> None:
    for label, (data, mlsd) in LISTINGS.items():
        line = len(data) / N
        for name, read in (("whole", whole), ("now", now)):
            kept, peak = measure(read, data, mlsd)
            print(
                f"{label:5} {name:7} {line:4.0f} B/line: kept {kept:4.0f} B/entry "
                f"({kept / line:4.1f}x), peak {peak:4.0f} B/entry ({peak / line:4.1f}x)"
            )


if __name__ == "__main__":
    main()
