"""Fixtures for the interop suite: real servers, started once per test session (per worker).

Outside CI a missing server skips the suite with what to install; in CI (CI=true) it fails,
so a green CI run always means the interop suite ran.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.interop.servers import ProFTPD, PureFTPd, ServerProcess, Vsftpd, missing
from tests.interop.sshd import ssh_client, sshd_ready, sshd_server  # noqa: F401  (SFTP fixtures)

IN_CI = os.environ.get("CI", "").lower() == "true"

# (server class, implicit) → the schemes it serves; eight server × mode combinations.
KINDS = {
    "vsftpd": (Vsftpd, False),
    "vsftpd-implicit": (Vsftpd, True),
    "proftpd": (ProFTPD, False),
    "proftpd-implicit": (ProFTPD, True),
    "pure-ftpd": (PureFTPd, False),
}
TARGETS = [
    ("vsftpd", "ftp"), ("vsftpd", "ftpes"), ("vsftpd-implicit", "ftps"),
    ("proftpd", "ftp"), ("proftpd", "ftpes"), ("proftpd-implicit", "ftps"),
    ("pure-ftpd", "ftp"), ("pure-ftpd", "ftpes"),
]  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/interop/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session")
def interop_ready() -> None:
    reason = missing()
    if reason is None:
        return
    message = (
        f"interop servers unavailable: {reason}. Install: sudo tests/interop/install-servers.sh"
    )
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def servers(interop_ready, pki) -> Iterator[dict[str, ServerProcess]]:
    started: dict[str, ServerProcess] = {}
    try:
        for kind, (server_class, implicit) in KINDS.items():
            started[kind] = server_class(pki.tls, implicit=implicit).start()
        yield started
    finally:
        for server in started.values():
            server.stop()


@dataclass
class Target:
    """One server in one mode, with a fresh folder for the test."""

    server: ServerProcess
    scheme: str
    folder: str
    ca_file: str

    @property
    def id(self) -> str:
        return f"{self.server.name}/{self.scheme}"

    def url(self, relative: str = "", **options: str) -> str:
        path = os.path.join(self.folder, relative) if relative else self.folder
        return self.server.url(self.scheme, path, **options)  # "//abs/path": absolute


@pytest.fixture(params=TARGETS, ids=[f"{kind}-{scheme}" for kind, scheme in TARGETS])
def target(request, servers, pki) -> Target:
    kind, scheme = request.param
    server = servers[kind]
    return Target(server, scheme, server.fresh_dir(), pki.ca_file)
