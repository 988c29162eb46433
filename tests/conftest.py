"""Shared fixtures: test certificates and in-process pyftpdlib servers (the fast suite)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.certs import make_ca, make_leaf
from tui.demo import SandboxServer, TLSFiles


@pytest.fixture(autouse=True)
def hermetic_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test gets its own config and data folders (trust store included), and so do
    the processes it starts: no test reads or writes the user's real files or keyring."""
    home = str(tmp_path_factory.mktemp("ferryman-home"))
    monkeypatch.setenv("FERRYMAN_HOME", home)
    # Nor the user's keyring: keyring's "fail" backend means "no keyring here".
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@dataclass(frozen=True)
class TestPKI:
    ca_file: str
    tls: TLSFiles
    leaf_der: bytes
    directory: str


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """A root CA (trust it with --ca-file) and a leaf it signed for 127.0.0.1 and localhost."""
    directory = str(tmp_path_factory.mktemp("pki"))
    ca = make_ca()
    ca_file, _ = ca.write(directory, "ca")
    leaf = make_leaf(ca)
    cert, key = leaf.write(directory, "leaf")
    return TestPKI(ca_file, TLSFiles(cert, key), leaf.der, directory)


@pytest.fixture
def root(tmp_path) -> str:
    """The folder the server serves."""
    path = tmp_path / "served"
    path.mkdir()
    return str(path)


@pytest.fixture
def plain_server(root: str) -> Iterator[SandboxServer]:
    """pyftpdlib, plain FTP only (no AUTH TLS)."""
    with SandboxServer(root) as server:
        yield server


@pytest.fixture
def tls_server(root: str, pki: TestPKI) -> Iterator[SandboxServer]:
    """pyftpdlib with explicit TLS (AUTH TLS) and a CA-signed certificate."""
    with SandboxServer(root, tls=pki.tls) as server:
        yield server


@pytest.fixture
def list_only_server(root: str, pki: TestPKI) -> Iterator[SandboxServer]:
    """pyftpdlib without MLST/MLSD, so clients must parse LIST (like vsftpd)."""
    with SandboxServer(root, tls=pki.tls, mlsd=False) as server:
        yield server


def write(root: str, relative: str, data: bytes) -> str:
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def files_under(base) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """Every file below ``base`` by relative path, with its bytes (to compare trees)."""
    found = {}
    for folder, _, names in os.walk(base):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, base)] = handle.read()
    return found


@pytest.fixture(scope="session")
def revocation_server() -> Iterator[object]:
    """OCSP and CRL over HTTP on 127.0.0.1 (the matrix's responders)."""
    from tests.revocation import RevocationServer

    server = RevocationServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory, revocation_server: object) -> object:
    """Every certificate of the trust matrix, written once per session."""
    from tests.trust_matrix import build_matrix

    directory = str(tmp_path_factory.mktemp("matrix"))
    os.chmod(directory, 0o755)  # the interop servers read their certificates from here
    return build_matrix(directory, revocation_server)  # type: ignore[arg-type]
