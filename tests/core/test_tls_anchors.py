"""Where the verifying context finds the system's trust anchors, against pyftpdlib over FTPS.

The system store stands in a temporary folder laid out as ``update-ca-certificates`` lays
out /etc/ssl/certs: the bundle, and each certificate again under its subject-hash name.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess

import certifi
import pytest

from tui.connection import ConnectionService
from tui.remote import tls


def _certifi_count() -> int:
    return ssl.create_default_context(cafile=certifi.where()).cert_store_stats()["x509"]


@pytest.fixture
def system_store(tmp_path, pki, monkeypatch):
    """Make the test CA the only system anchor; returns a function that lays the folder out."""
    folder = tmp_path / "certs"
    folder.mkdir()
    bundle = folder / "ca-certificates.crt"
    shutil.copyfile(pki.ca_file, bundle)

    def lay_out(*, hashed: bool, bundle_is_the_systems: bool = True) -> None:
        if hashed:
            subject_hash = subprocess.run(
                ["openssl", "x509", "-hash", "-noout", "-in", pki.ca_file],
                capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            shutil.copyfile(pki.ca_file, folder / f"{subject_hash}.0")
        default_bundle = str(bundle) if bundle_is_the_systems else "/usr/lib/ssl/cert.pem"
        paths = ssl.DefaultVerifyPaths(
            str(bundle), str(folder), "SSL_CERT_FILE", default_bundle, "SSL_CERT_DIR", str(folder)
        )
        monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: paths)
        # What OpenSSL itself reads when the bundle is loaded whole.
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        monkeypatch.setenv("SSL_CERT_DIR", str(folder))

    tls._verifying_context.cache_clear()
    yield lay_out
    tls._verifying_context.cache_clear()


def _connects_verified(server) -> bool:
    service = ConnectionService(timeout=10, check_revocation=False)  # no --ca-file
    with service.open(server.url("ftpes")) as fs:
        return fs.tls is not None and fs.tls.verified


def test_a_hashed_system_folder_is_searched_when_a_chain_needs_it(system_store, tls_server):
    system_store(hashed=True)
    context = tls.verifying_context()
    assert context.cert_store_stats()["x509"] == _certifi_count()  # the bundle was not parsed
    assert _connects_verified(tls_server)  # the CA was found under its hash name
    assert context.cert_store_stats()["x509"] == _certifi_count() + 1


def test_an_unhashed_system_folder_means_the_bundle_is_loaded_whole(system_store, tls_server):
    system_store(hashed=False)
    context = tls.verifying_context()
    assert context.cert_store_stats()["x509"] == _certifi_count() + 1
    assert _connects_verified(tls_server)


def test_a_bundle_named_by_ssl_cert_file_is_loaded_whole(system_store, tls_server):
    system_store(hashed=True, bundle_is_the_systems=False)
    context = tls.verifying_context()
    assert context.cert_store_stats()["x509"] == _certifi_count() + 1
    assert _connects_verified(tls_server)
