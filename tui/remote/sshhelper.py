"""Provides the helper ssh runs for host keys and prompts: it asks the running Ferryman.

ssh runs it (through a small script in Ferryman's private runtime directory) as
``KnownHostsCommand`` (``known-hosts %I %H %t %f %K``, plus the hop's number for a jump
host's ssh: ``tui.remote.sshjump``) and as ``SSH_ASKPASS``
(``askpass PROMPT``). It sends one JSON line to the Unix socket named by
``FERRYMAN_SSH_SOCKET`` (with the channel's ``FERRYMAN_SSH_TOKEN``), reads one JSON line
back, prints the answer and exits (with no answer: nothing printed, so ssh refuses the key;
or exit status 1, which ssh takes as a cancelled prompt). Nothing here decides anything;
the running Ferryman does (``tui.remote.sshchannel``).

It is run as a file by ``python -I -S``, not imported: standard library only, so that it
starts in a few milliseconds and no environment variable can change what it imports.
"""

from __future__ import annotations

import json
import os
import socket
import sys

SOCKET_ENV = "FERRYMAN_SSH_SOCKET"
TOKEN_ENV = "FERRYMAN_SSH_TOKEN"
LIMIT = 1 << 20  # a reply larger than this is not Ferryman's


def ask(operation: str, arguments: list[str]) -> str | None:
    """Send one request to the running Ferryman; its answer, or None for none."""
    path, token = os.environ.get(SOCKET_ENV), os.environ.get(TOKEN_ENV)
    if not path or not token:
        return None
    request = json.dumps({"token": token, "op": operation, "args": arguments}) + "\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(path)
            connection.sendall(request.encode("utf-8", "surrogateescape"))
            connection.shutdown(socket.SHUT_WR)
            received = bytearray()
            while len(received) < LIMIT:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                received += chunk
        reply = json.loads(received.decode("utf-8"))
    except (OSError, ValueError):
        return None
    answer = reply.get("answer") if isinstance(reply, dict) else None
    return answer if isinstance(answer, str) else None


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("known-hosts", "askpass"):
        print("usage: sshhelper.py known-hosts|askpass ARGS…", file=sys.stderr)
        return 2
    operation, arguments = argv[0], argv[1:]
    if operation == "askpass" and os.environ.get("SSH_ASKPASS_PROMPT") == "none":
        return 0  # a notice ("touch your security key"): ssh does not wait for an answer
    if operation == "askpass":
        # Which ssh asks: the one Ferryman started, or one it started in turn (ProxyJump).
        prompt_kind = os.environ.get("SSH_ASKPASS_PROMPT", "")
        arguments = [*arguments[:1], prompt_kind, str(os.getppid())]
    answer = ask(operation, arguments)
    if answer is None:
        # known-hosts: printing no line refuses the key (a failing command would stop ssh
        # before it says why); askpass: a failure is ssh's "cancelled".
        return 0 if operation == "known-hosts" else 1
    sys.stdout.write(answer + ("\n" if answer and not answer.endswith("\n") else ""))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
