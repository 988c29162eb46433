"""OpenSSH's own ``sftp-server`` on pipes: the real SFTP server without ssh, for the client's
and the backend's tests while the transport is tested on its own (``tests/interop``).

:class:`LocalChannel` has the shape of ``tui.remote.sshchannel.SSHChannel`` (``stdin``,
``stdout``, ``close()``, ``failure()``) around ``sftp-server -d FOLDER -e``; any other program
speaking SFTP on stdin/stdout (the hostile scripted server) runs the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from tui.errors import ConnectionLost, FerrymanError
from tui.remote.base import SessionSettings
from tui.remote.sftp import SFTPFS
from tui.sites import Site

SFTP_SERVER = next((path for path in ("/usr/lib/openssh/sftp-server", "/usr/libexec/sftp-server",
                                      "/usr/lib/sftp-server") if os.path.exists(path)),
                   shutil.which("sftp-server"))  # fmt: skip


class LocalChannel:
    """A program speaking SFTP on its stdin/stdout. Closing it ends the program."""

    def __init__(self, command: list[str]) -> None:
        self._errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self._errors, bufsize=0)  # fmt: skip
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin = self.process.stdin
        self.stdout = self.process.stdout

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
        for pipe in (self.stdin, self.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        self._errors.close()

    def failure(self) -> FerrymanError:
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            pass
        self._errors.seek(0)
        said = self._errors.read()[-400:].decode(errors="replace").strip().splitlines()
        last = said[-1] if said else f"exit status {self.process.returncode}"
        return ConnectionLost(f"The SFTP server ended the session ({last})")


def server_channel(folder: str, *extra: str) -> LocalChannel:
    """``sftp-server`` starting in ``folder``."""
    if SFTP_SERVER is None:
        raise RuntimeError("sftp-server is not installed (apt-get install openssh-sftp-server)")
    return LocalChannel([SFTP_SERVER, "-d", folder, "-e", "-l", "ERROR", *extra])


def script_channel(script: str, *args: str) -> LocalChannel:
    """A Python script (the hostile server) speaking SFTP."""
    return LocalChannel([sys.executable, script, *args])


def local_site(folder: str = "") -> Site:
    return Site("sftp.test", 22, protocol="sftp", path=folder)


def open_local(folder: str, timeout: float = 10.0) -> SFTPFS:
    """An SFTPFS on ``sftp-server`` in ``folder`` (reconnects start it again)."""
    site = local_site()
    return SFTPFS(site, server_channel(folder), timeout=timeout,
                  reopen=lambda: server_channel(folder))  # fmt: skip


def local_session_factory(folder: str):  # type: ignore[no-untyped-def]
    """A session factory like ``tui.remote.sftp.session`` whose channel is ``sftp-server``
    in ``folder``: the registry's SFTP entry can point at it for the engine and CLI tests."""

    class LocalSession:
        def __init__(self, site: Site, settings: SessionSettings) -> None:
            self.site, self.settings = site, settings

        def connect(self) -> SFTPFS:
            return SFTPFS(self.site, server_channel(folder), timeout=self.settings.timeout,
                          log=self.settings.log, reopen=lambda: server_channel(folder))  # fmt: skip

        def fetch_identity(self) -> object:
            raise NotImplementedError

    return LocalSession
