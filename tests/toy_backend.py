"""A toy backend for the seam's tests: a "server" that is a folder on the local disk, reached
as ``toy://NAME:PORT/path``, whose identity is a toy key (the bytes of the folder's
``.toy-key`` file) of its own identity kind.

It is registered like any backend (``tui.backends.register``), declares its kind like any
kind (``tui.identity.register_kind``), and calls the decider it is given during its
"handshake" like the FTP backend does, so the trust policy, the store, the prompts and the
CLI treat it exactly as they treat FTPS. Nothing in ``tui`` knows it exists.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator

from tui import backends
from tui.errors import CertificateNotTrusted, ConnectFailed
from tui.identity import Identity, fingerprint, register_kind
from tui.remote.base import RemoteFS, Security, SessionSettings
from tui.remote.local import LocalFS
from tui.sites import Site

KIND = "toy-key"
SCHEME = "toy"
KEY_FILE = ".toy-key"

#: (host, port) → the folder it serves; tests add theirs with ``serving``.
SERVERS: dict[tuple[str, int], str] = {}


class ToyFS(LocalFS):
    """The served folder; a path outside it is taken as relative to it (``/x`` is the
    folder's ``x``), so nothing outside is ever reached. ``resolve`` is idempotent."""

    def __init__(self, root: str, site: Site) -> None:
        super().__init__(root)
        self.label = site.url(path="")
        self.key = read_key(root)

    def resolve(self, path: str) -> str:
        native = os.path.normpath(os.path.join(self.home, path))
        if native == self.home or native.startswith(self.home + os.sep):
            return native
        inside = os.path.normpath("/" + path).lstrip("/")  # never above the folder
        return os.path.join(self.home, inside) if inside else self.home

    @property
    def security(self) -> Security:
        return Security(True, "TOY-1", "TOY", KIND)


class ToySession:
    """The backend's session: the "handshake" presents the key to the decider first."""

    def __init__(self, site: Site, settings: SessionSettings) -> None:
        self.site = site
        self.settings = settings

    def fetch_identity(self) -> Identity:
        root = SERVERS.get((self.site.host, self.site.port))
        if root is None:
            raise ConnectFailed(f"{self.site.key} refused the connection (no toy server)")
        key = read_key(root)
        revoked = key.decode(errors="replace") if key.startswith(b"REVOKED") else None
        return Identity(
            site=self.site.key,
            host=self.site.host,
            kind=KIND,
            sha256=fingerprint(key),
            problems=("The toy key is vouched for by nobody",),
            details=(("Key type", "toy"), ("Key length", f"{len(key)} bytes")),
            revoked=revoked,
        )

    def connect(self) -> RemoteFS:
        identity = self.fetch_identity()
        if not self.settings.decider(identity):
            raise CertificateNotTrusted(f"The toy key of {self.site.key} is refused", identity)
        if self.settings.before_login is not None:
            self.settings.before_login(self.site, True)
        return ToyFS(SERVERS[(self.site.host, self.site.port)], self.site)


def read_key(root: str) -> bytes:
    with open(os.path.join(root, KEY_FILE), "rb") as handle:
        return handle.read()


def set_key(root: str, key: bytes) -> str:
    """Give the server in ``root`` a new key; returns its fingerprint (hex pairs)."""
    with open(os.path.join(root, KEY_FILE), "wb") as handle:
        handle.write(key)
    return fingerprint(key)


BACKEND = backends.Backend(
    protocol="toy",
    title="Toy (a folder)",
    schemes={SCHEME: backends.Scheme(7)},
    features=backends.Features(identity_kinds=(KIND,)),
    session=ToySession,
)


@contextlib.contextmanager
def registered() -> Iterator[None]:
    """The toy backend and its identity kind, registered for the duration."""
    register_kind(KIND, "toy key", "openssh")
    backends.register(BACKEND)
    try:
        yield
    finally:
        backends.unregister(BACKEND.protocol)


@contextlib.contextmanager
def serving(root: str, host: str = "toy.test", port: int = 7) -> Iterator[str]:
    """Serve ``root`` as ``toy://host:port/``; yields that URL."""
    if not os.path.exists(os.path.join(root, KEY_FILE)):
        set_key(root, hashlib.sha256(root.encode()).digest())
    SERVERS[(host, port)] = root
    try:
        yield f"{SCHEME}://{host}:{port}/"
    finally:
        SERVERS.pop((host, port), None)
