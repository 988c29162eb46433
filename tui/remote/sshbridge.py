"""Provides the bridge between the ssh processes and the running Ferryman: a private runtime
directory, a Unix socket the helper (``tui.remote.sshhelper``) talks to, and the cleanup.

One :class:`Runtime` per Ferryman process, made on first use: a directory only the user can
enter (``mkdtemp``, mode 0700, under ``$XDG_RUNTIME_DIR`` when there is one) holding the
socket, the helper script ssh runs, and the ControlMaster sockets (``cm-%C``). Each channel
registers a handler under a random token (its ssh gets the token in its environment); a
request with an unknown token gets no answer. At exit every master still running is stopped
(``ssh -O exit``) and the directory removed; a Ferryman killed outright leaves its masters to
``ControlPersist`` (60 s idle), and their directory to the system's temporary-file cleanup.

Thread-safe: each request is served in its own thread (a handler may wait for the user).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable

from tui.errors import ConfigError
from tui.remote import sshhelper

Handler = Callable[[str, list[str]], str | None]
"""Called with an operation (``known-hosts``, ``askpass``) and its arguments; the answer."""

REQUEST_LIMIT = 64 * 1024  # a request larger than this is not the helper's


class Runtime:
    """The process's private directory, socket and helper script."""

    def __init__(self) -> None:
        base = os.environ.get("XDG_RUNTIME_DIR")
        if not (base and os.path.isdir(base) and os.access(base, os.W_OK | os.X_OK)):
            base = None
        self.directory = tempfile.mkdtemp(prefix="ferryman-ssh-", dir=base)
        os.chmod(self.directory, 0o700)
        self.socket_path = os.path.join(self.directory, "bridge")
        self.helper = os.path.join(self.directory, "helper")
        with open(self.helper, "w", encoding="utf-8") as script:
            # ssh's ordering hints (ORDER, ADDRESS) get no answer: spare them a Python
            # start, which costs 0.1-0.2 s on a busy machine. -I -S: the helper imports only
            # the standard library, whatever the environment says, and starts sooner.
            script.write(
                "#!/bin/sh\n"
                'if [ "$1" = known-hosts ] && [ "$2" != HOSTNAME ]; then exit 0; fi\n'
                f"exec {shlex.quote(sys.executable)} -I -S {shlex.quote(sshhelper.__file__)} "
                '"$@"\n'
            )
        os.chmod(self.helper, 0o700)
        # SSH_ASKPASS names a program, not a command line: a script of its own.
        with open(self.helper + "-askpass", "w", encoding="utf-8") as script:
            script.write(f'#!/bin/sh\nexec {shlex.quote(self.helper)} askpass "$@"\n')
        os.chmod(self.helper + "-askpass", 0o700)
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.socket_path)
        os.chmod(self.socket_path, 0o600)
        self._listener.listen(16)
        self.ssh_for_exit: str | None = None  # the ssh that stops the masters at exit
        threading.Thread(target=self._serve, name="ferryman-ssh-bridge", daemon=True).start()

    def register(self, handler: Handler) -> str:
        """A new token whose requests go to ``handler``."""
        token = secrets.token_hex(16)
        with self._lock:
            self._handlers[token] = handler
        return token

    def unregister(self, token: str) -> None:
        with self._lock:
            self._handlers.pop(token, None)

    def environment(self, token: str) -> dict[str, str]:
        """What ssh needs besides the user's own environment."""
        return {
            sshhelper.SOCKET_ENV: self.socket_path,
            sshhelper.TOKEN_ENV: token,
            "SSH_ASKPASS": self.helper + "-askpass",
            "SSH_ASKPASS_REQUIRE": "force",  # with "force", ssh needs no DISPLAY (8.4+)
        }

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed at exit
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.settimeout(10)
                received = bytearray()
                while len(received) <= REQUEST_LIMIT:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                request = json.loads(received.decode("utf-8", "surrogateescape"))
                handler, arguments = None, []
                if isinstance(request, dict) and isinstance(request.get("args", []), list):
                    with self._lock:
                        handler = self._handlers.get(str(request.get("token")))
                    arguments = [str(item) for item in request.get("args", [])][:8]
                answer = handler(str(request.get("op")), arguments) if handler else None
                connection.settimeout(None)
                connection.sendall((json.dumps({"answer": answer}) + "\n").encode("utf-8"))
            except (OSError, ValueError):
                return  # a helper that went away, or a request that is not the helper's

    def close(self) -> None:
        """Stop the masters, close the socket, remove the directory (at exit)."""
        with contextlib.suppress(OSError):
            self._listener.close()
        self.stop_masters()
        shutil.rmtree(self.directory, ignore_errors=True)

    def stop_masters(self) -> None:
        """Stop every shared connection (``ssh -O exit``): the next session logs in anew."""
        for name in os.listdir(self.directory):
            if not (name.startswith("cm-") and self.ssh_for_exit):
                continue
            path = escape_percent(os.path.join(self.directory, name))
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    [self.ssh_for_exit, "-F", "/dev/null", "-o", f"ControlPath={path}",
                     "-O", "exit", "ferryman"],
                    stdin=subprocess.DEVNULL, capture_output=True, timeout=5,
                )  # fmt: skip


def escape_percent(text: str) -> str:
    """``text`` with ssh's token character doubled, so that ssh takes it literally."""
    return text.replace("%", "%%")


_RUNTIME: Runtime | None = None
_RUNTIME_LOCK = threading.Lock()


def stop_masters() -> None:
    """Stop this process's shared connections, if it has any (tests; a forgotten site)."""
    if _RUNTIME is not None:
        _RUNTIME.stop_masters()


def runtime() -> Runtime:
    """The process's runtime, made on first use and removed at exit.

    Raises:
        ConfigError: the private directory or its socket cannot be made.
    """
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is None:
            try:
                _RUNTIME = Runtime()
            except OSError as error:
                raise ConfigError(
                    f"Cannot make a private directory for ssh's helper: {error.strerror or error}"
                ) from None
            atexit.register(_RUNTIME.close)
        return _RUNTIME
