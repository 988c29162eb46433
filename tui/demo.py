"""Provides the sandbox FTPS server behind ``ferryman --demo`` (pyftpdlib on 127.0.0.1).

It serves a temporary folder of sample files with a freshly made self-signed certificate,
so a new user meets the certificate decision at once. The test suite uses the same
:class:`SandboxServer` for its in-process servers.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyftpdlib.servers import FTPServer

    from tui.config import Config

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """PEM files for a server: ``cert`` may hold the leaf followed by intermediates."""

    cert: str
    key: str


def self_signed(directory: str, host: str = "127.0.0.1", days: int = 30) -> TLSFiles:
    """Write a new RSA-2048 self-signed certificate for ``host`` (and localhost)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, host),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ferryman demo"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    files = TLSFiles(
        os.path.join(directory, "demo-cert.pem"), os.path.join(directory, "demo-key.pem")
    )
    with open(files.cert, "wb") as handle:
        handle.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    return files


class SandboxServer:
    """A pyftpdlib server in a background thread, on 127.0.0.1.

    Args:
        root: The folder it serves (the user's home, chrooted by pyftpdlib).
        user, password: The one account; anonymous access is off.
        tls: Certificate and key for explicit FTPS (AUTH TLS); ``None`` for plain FTP only.
        require_tls: Refuse logins and data connections without TLS.
        mlsd: Offer MLST/MLSD; without it clients must parse LIST (like vsftpd).
        weak_crypto: Serve certificates OpenSSL calls too weak (RSA-1024, SHA-1), as an
            old server would; only the tests want this.
        port: 0 picks a free port.
    """

    def __init__(
        self,
        root: str,
        *,
        user: str = DEMO_USER,
        password: str = DEMO_PASSWORD,
        tls: TLSFiles | None = None,
        require_tls: bool = False,
        mlsd: bool = True,
        weak_crypto: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.root = root
        self.user = user
        self.password = password
        self.tls = tls
        self.require_tls = require_tls
        self.mlsd = mlsd
        self.weak_crypto = weak_crypto
        self.host = host
        self.port = port
        self._server = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> SandboxServer:
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
        from pyftpdlib.ioloop import IOLoop
        from pyftpdlib.servers import FTPServer

        # pyftpdlib sets up INFO logging to stderr unless its logger has a handler already.
        logger = logging.getLogger("pyftpdlib")
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
        logger.setLevel(logging.WARNING)
        authorizer = DummyAuthorizer()
        authorizer.add_user(self.user, self.password, self.root, perm="elradfmwMT")
        base = TLS_FTPHandler if self.tls else FTPHandler
        attributes: dict[str, object] = {
            "authorizer": authorizer,
            "banner": "Ferryman sandbox ready",
            "timeout": 60,
            "ssl_context": None,  # each server class builds its own context
        }
        commands = dict(base.proto_cmds)
        if not self.mlsd:
            commands.pop("MLSD", None)
            commands.pop("MLST", None)
        attributes["proto_cmds"] = commands
        if self.tls:
            attributes.update(
                certfile=self.tls.cert,
                keyfile=self.tls.key,
                ssl_context=self._tls_context(),
                tls_control_required=self.require_tls,
                tls_data_required=self.require_tls,
            )
        handler = type("SandboxHandler", (base,), attributes)
        # Its own IOLoop: pyftpdlib's default is one per process, shared by every server,
        # so two sandboxes at once (tests) would race and stopping one would close both.
        server = self._server = FTPServer((self.host, self.port), handler, ioloop=IOLoop())
        self.port = server.address[1]
        self._stopping = False  # a restart after a stop serves again
        self._thread = threading.Thread(
            target=self._serve,
            args=(server,),
            name=f"sandbox-ftp-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def _tls_context(self) -> object:
        from OpenSSL import SSL

        assert self.tls is not None
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        if self.weak_crypto:
            context.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
        context.use_certificate_chain_file(self.tls.cert)
        context.use_privatekey_file(self.tls.key)
        return context

    def _serve(self, server: FTPServer) -> None:
        # The loop itself, not serve_forever, which first logs the listening address: a
        # server stopped before its thread got there raised EBADF reading it. ``stop`` closes
        # the sockets and the poller from another thread (pyftpdlib has no thread-safe stop),
        # so the poll under way may fail with EBADF: that is the stop, not a fault.
        try:
            server.ioloop.loop(timeout=0.2, blocking=True)
        except (OSError, ValueError):
            if not self._stopping:
                raise

    def stop(self) -> None:
        self._stopping = True
        if self._server is not None:
            self._server.close_all()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def url(self, scheme: str = "ftpes", path: str = "", *, credentials: bool = True) -> str:
        auth = f"{self.user}:{self.password}@" if credentials else ""
        return f"{scheme}://{auth}{self.host}:{self.port}/{path}"

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


SAMPLE_FILES = {
    "README.txt": "Welcome to the Ferryman demo.\n\nEverything here is a temporary sandbox.\n",
    "docs/guide.md": "# Guide\n\nPress F5 to copy, F6 to move, F8 to delete.\n",
    "docs/notes.txt": "Notes for the demo.\n",
    "src/hello.py": 'def main() -> None:\n    print("Hello from Ferryman")\n',
    "src/data/values.csv": "name,value\nalpha,1\nbeta,2\n",
    "photos/ÉtéParis.txt": "A name with non-ASCII letters.\n",
}


def make_sample_tree(root: str) -> None:
    """Fill ``root`` with a few text files, folders and one binary file."""
    for relative, text in SAMPLE_FILES.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(os.path.join(root, "archive.bin"), "wb") as handle:
        handle.write(bytes(range(256)) * 64)


def run_demo_app(config: Config | None = None) -> int:
    """``ferryman --demo``: the app, connected to a fresh sandbox over FTPS.

    The sandbox has its own trust store, so trusting the demo's certificate (made anew
    each run) leaves nothing behind in yours.
    """
    from tui.app import FerrymanApp
    from tui.trust.store import TrustStore

    with tempfile.TemporaryDirectory(prefix="ferryman-demo-") as workdir:
        remote_root = os.path.join(workdir, "server")
        local_root = os.path.join(workdir, "local")
        os.makedirs(remote_root)
        os.makedirs(local_root)
        make_sample_tree(remote_root)
        with open(os.path.join(local_root, "notes-to-upload.txt"), "w", encoding="utf-8") as handle:
            handle.write("Select me and press F5 to upload me to the server.\n")
        server = SandboxServer(remote_root, tls=self_signed(workdir)).start()
        try:
            app = FerrymanApp(
                url=server.url("ftpes"),
                local_path=local_root,
                store=TrustStore(os.path.join(workdir, "trust.json")),
                check_revocation=False,
                config=config,
            )
            app.run()
        finally:
            server.stop()
    return app.return_code or 0
