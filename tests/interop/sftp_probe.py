"""A probe backend for the SSH transport's tests (``sftpprobe://``): it opens the SSH channel
exactly as the SFTP backend does (``tui.remote.sshchannel.open_channel``) and speaks the
first SFTP exchange over it (INIT version 3, expecting VERSION), then serves an empty
folder. Registered like any backend, so the connection service, the trust policy, the store
and the CLI treat it as they treat any protocol; the SFTP backend's own tests cover the rest.
"""

from __future__ import annotations

import contextlib
import select
import struct
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from tui import backends
from tui.errors import ConnectionLost, NotSupported
from tui.identity import SSH_HOST_KEY
from tui.remote.base import Capabilities, Entry, EntryType, RemoteFS, Security, SessionSettings
from tui.remote.sshchannel import SSHChannel, fetch_identity, open_channel
from tui.sites import Site

SCHEME = "sftpprobe"


def sftp_version(channel: SSHChannel, timeout: float = 20.0) -> int:
    """Send SFTP INIT (version 3) and read the VERSION reply's version.

    Raises:
        What ``channel.failure()`` says when ssh ends instead.
    """
    try:
        channel.stdin.write(struct.pack(">IBI", 5, 1, 3))
        channel.stdin.flush()
    except OSError:  # ssh has already ended
        raise channel.failure() from None
    received = b""
    deadline = time.monotonic() + timeout
    while len(received) < 9 and time.monotonic() < deadline:
        ready, _, _ = select.select([channel.stdout], [], [], 0.5)
        if not ready:
            continue
        chunk = channel.stdout.read(9 - len(received))
        if not chunk:
            raise channel.failure()
        received += chunk
    if len(received) < 9 or received[4] != 2:
        raise ConnectionLost(f"no SFTP VERSION reply: {received!r}")
    return int(struct.unpack(">I", received[5:9])[0])


class ProbeFS(RemoteFS):
    """An empty root folder over a live SSH channel."""

    def __init__(self, channel: SSHChannel, site: Site, version: int) -> None:
        self.channel, self.version = channel, version
        self.label = site.url(path="")

    @property
    def security(self) -> Security:
        return Security(True, "SSH-2.0", "SSH", SSH_HOST_KEY)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    @property
    def home(self) -> str:
        return "/"

    def resolve(self, path: str) -> str:
        return "/"

    def listdir(self, path: str) -> list[Entry]:
        return []

    def stat(self, path: str) -> Entry:
        return Entry("/", EntryType.DIR, mtime=datetime.now(UTC))

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise NotSupported("the probe only connects")

    mkdir = remove = rmdir = rename = size = mtime = open_read = open_write = _refuse  # type: ignore[assignment]

    def keepalive(self) -> None:
        pass

    def close(self) -> None:
        self.channel.close()


class ProbeSession:
    def __init__(self, site: Site, settings: SessionSettings) -> None:
        self.site, self.settings = site, settings

    def connect(self) -> RemoteFS:
        channel = open_channel(self.site, self.settings)
        try:
            version = sftp_version(channel, 60)  # through login prompts, as the backend
        except BaseException:
            channel.close()
            raise
        return ProbeFS(channel, self.site, version)

    def fetch_identity(self) -> object:
        return fetch_identity(self.site, self.settings)


BACKEND = backends.Backend(
    protocol="sftpprobe",
    title="SFTP probe",
    schemes={SCHEME: backends.Scheme(22)},
    features=backends.Features(identity_kinds=(SSH_HOST_KEY,)),
    session=ProbeSession,
)


@contextlib.contextmanager
def registered() -> Iterator[None]:
    backends.register(BACKEND)
    try:
        yield
    finally:
        backends.unregister(BACKEND.protocol)
