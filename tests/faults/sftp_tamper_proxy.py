"""OpenSSH's sftp-server behind a proxy that tampers with one kind of request or reply, one
lie per mode (the first argument; the rest is the sftp-server command). Everything else is
the real server's. Run by ``tests.sftp_local.script_channel(__file__, MODE, *COMMAND)``;
never imported by ``tui``.

Modes: ``fsync-failure`` (fsync@openssh.com answers FAILURE), ``fsync-garbage`` (it answers
a HANDLE), ``fsync-hangup`` (the server is gone when it comes), ``rename-hangup`` (gone when a
rename comes, after the flush), ``fsync-unsupported`` (offered, then OP_UNSUPPORTED),
``slow-reader`` (reads requests steadily at 128 KiB/s, as a slow link takes them).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import time

RATE = 0  # bytes a second the client's requests are read at (``slow-reader``); 0: at once


def read_exact(fd: int, count: int) -> bytes:
    data = b""
    while len(data) < count:
        want = count - len(data)
        if RATE and fd == 0:
            want = min(want, RATE // 20)
            time.sleep(0.05)
        chunk = os.read(fd, want)
        if not chunk:
            os._exit(0)
        data += chunk
    return data


def packet(fd: int) -> bytes:
    length = struct.unpack(">I", read_exact(fd, 4))[0]
    return read_exact(fd, length)


def send(fd: int, body: bytes) -> None:
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(fd, data) :]


def string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def main(mode: str, command: list[str]) -> None:
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert server.stdin is not None and server.stdout is not None
    to_server, from_server = server.stdin.fileno(), server.stdout.fileno()
    tampered: dict[int, str] = {}
    lock = threading.Lock()

    def replies() -> None:
        while True:
            body = packet(from_server)
            rid = struct.unpack(">I", body[1:5])[0] if body[0] != 2 else -1
            with lock:
                what = tampered.pop(rid, None)
            if what == "failure":
                body = (
                    bytes([101]) + struct.pack(">II", rid, 4) + string(b"I/O error") + string(b"")
                )
            elif what == "garbage":
                body = bytes([102]) + struct.pack(">I", rid) + string(b"not a status")
            elif what == "unsupported":
                body = bytes([101]) + struct.pack(">II", rid, 8) + string(b"no") + string(b"")
            send(1, body)

    threading.Thread(target=replies, daemon=True).start()
    while True:
        body = packet(0)
        kind = body[0]
        rid = struct.unpack(">I", body[1:5])[0] if kind != 1 else -1
        fsync = kind == 200 and body[5:].startswith(string(b"fsync@openssh.com"))
        rename = kind == 18 or (
            kind == 200 and body[5:].startswith(string(b"posix-rename@openssh.com"))
        )
        if (fsync and mode == "fsync-hangup") or (rename and mode == "rename-hangup"):
            server.kill()
            os._exit(0)
        if fsync and mode.startswith("fsync-"):
            with lock:
                tampered[rid] = mode.removeprefix("fsync-")
        send(to_server, body)


if __name__ == "__main__":
    if sys.argv[1] == "slow-reader":
        RATE = 128 * 1024
    main(sys.argv[1], sys.argv[2:])
