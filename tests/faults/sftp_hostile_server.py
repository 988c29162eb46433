"""A scripted SFTP v3 server on stdin/stdout that tells the lies OpenSSH's sftp-server never
tells, one per mode (the first argument). It serves one folder ``/srv`` holding ``data.bin``
(``SIZE`` bytes of a known pattern) and, for the listing lies, the names of ``EVIL_NAMES``.

Run by ``tests.sftp_local.script_channel(__file__, MODE)``; never imported by ``tui``.
"""

from __future__ import annotations

import os
import struct
import sys
import time

SIZE = 300_000
DATA = bytes((i * 7 + i // 251) & 0xFF for i in range(SIZE))
EVIL_NAMES = [b"../evil.txt", b"sub/../../x", b"..", b".", b"/etc/passwd", b"ok.txt",
              b"red\x1b[31m.txt", b"caf\xe9.txt"]  # fmt: skip


def out(kind: int, body: bytes) -> None:
    os.write(1, struct.pack(">IB", len(body) + 1, kind) + body)


def s(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def attrs_file(size: int) -> bytes:
    return struct.pack(">IQI", 0x1 | 0x4, size, 0o100644)


def status(rid: int, code: int, message: bytes = b"") -> None:
    out(101, struct.pack(">II", rid, code) + s(message) + s(b"en"))


def read_exact(count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = os.read(0, count - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def main(mode: str) -> None:
    read_exact(9)  # INIT
    if mode == "huge-length":
        os.write(1, struct.pack(">I", 0xFFFFFFF0) + b"\x02")
        time.sleep(5)
        return
    if mode == "version-4":
        out(2, struct.pack(">I", 4))
    else:
        out(2, struct.pack(">I", 3))
    held: list[tuple[int, int, int]] = []
    listed = False
    while True:
        length = struct.unpack(">I", read_exact(4))[0]
        packet = read_exact(length)
        kind, rid = packet[0], struct.unpack(">I", packet[1:5])[0]
        body = packet[5:]
        if kind == 16:  # REALPATH
            out(104, struct.pack(">II", rid, 1) + s(b"/srv") + s(b"/srv") + struct.pack(">I", 0))
            if mode == "deaf":  # reads nothing more, ever
                time.sleep(60)
                return
        elif kind in (7, 17, 8):  # LSTAT, STAT, FSTAT
            if mode == "status-control":
                status(rid, 4, b"bad\x1b[2Jthing\r\nFAKE: all fine\x07")
            else:
                out(105, struct.pack(">I", rid) + attrs_file(SIZE))
        elif kind in (3, 11):  # OPEN, OPENDIR
            listed = False
            out(102, struct.pack(">I", rid) + s(b"H"))
        elif kind == 12:  # READDIR
            if mode == "endless-empty":
                out(104, struct.pack(">II", rid, 0))
                continue
            if mode == "endless-names":
                names = [b"n%d" % (rid * 10 + i) for i in range(10)]
                entries = b"".join(s(n) + s(n) + attrs_file(1) for n in names)
                out(104, struct.pack(">II", rid, len(names)) + entries)
                continue
            if listed:
                status(rid, 1, b"EOF")
                continue
            listed = True
            names = EVIL_NAMES if mode == "evil-names" else [b"data.bin"]
            entries = b"".join(s(n) + s(b"-rw-r--r-- " + n) + attrs_file(SIZE) for n in names)
            out(104, struct.pack(">II", rid, len(names)) + entries)
        elif kind == 4:  # CLOSE
            status(rid, 0)
        elif kind == 5:  # READ
            handle_length = struct.unpack(">I", body[:4])[0]
            offset, asked = struct.unpack(">QI", body[4 + handle_length : 16 + handle_length])
            if mode == "stall":
                continue
            if mode == "trickle":  # a byte at a time: never silent long enough to time out
                reply = struct.pack(">IBI", 13 + asked, 103, rid) + s(DATA[offset : offset + asked])
                for byte in reply:
                    os.write(1, bytes([byte]))
                    time.sleep(0.02)
                continue
            if mode == "unknown-id":
                rid += 1000
            if offset >= SIZE:
                reply = (rid, -1, 0)
            else:
                give = min(asked, SIZE - offset)
                if mode == "short-reads":
                    give = min(give, 1000 + offset % 777)
                if mode == "long-read":
                    give = asked + 10
                reply = (rid, offset, give)
            held.append(reply)
            if mode == "out-of-order" and len(held) < 4 and offset < SIZE:
                continue  # answer in batches, last first
            for rid2, offset2, give2 in reversed(held):
                if offset2 < 0:
                    status(rid2, 1, b"EOF")
                else:
                    chunk = (DATA + b"\0" * 64)[offset2 : offset2 + give2]
                    out(103, struct.pack(">I", rid2) + s(chunk))
            held.clear()
        else:
            status(rid, 8, b"unsupported")


if __name__ == "__main__":
    main(sys.argv[1])
