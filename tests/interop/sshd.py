"""Starts a private OpenSSH ``sshd`` on 127.0.0.1 for the SFTP tests, and writes the client's
side (an ssh_config, known_hosts files, a key) that the tests hand to ssh through
``FERRYMAN_SSH_CONFIG`` (``ssh -F``; ssh ignores ``$HOME``, so a temporary HOME would not do).

Each server has its own folder: host keys (ed25519 and RSA, made by ``ssh-keygen``), an
optional host certificate signed by a test CA, an ``authorized_keys`` for the ``ferrytest``
account (tests/interop/install-servers.sh), its own config and a free port (never 22). It
never touches the system's sshd, its config or its keys. Password logins check the
account's shadow password (``UsePAM no``); the account's shell is ``nologin``, which the
``internal-sftp`` subsystem does not need.
"""

from __future__ import annotations

import base64
import os
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from tests.interop.servers import USER, free_port, wait_listening
from tests.interop.sftp_probe import registered
from tui.identity import fingerprint, openssh_fingerprint
from tui.remote import sshbridge

SSHD_BINARY = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"


def missing() -> str | None:
    """Why the private sshd cannot run here, or None."""
    if os.geteuid() != 0:
        return "the private sshd needs root (it logs in the ferrytest account)"
    for path in (
        SSHD_BINARY,
        shutil.which("ssh-keygen") or "ssh-keygen",
        shutil.which("ssh") or "ssh",
    ):
        if not os.path.exists(path):
            return f"{path} is not installed (openssh-server, openssh-client)"
    return None


def keygen(path: str, key_type: str, passphrase: str = "") -> str:
    """Make a key pair; the public key's line."""
    bits = ["-b", "2048"] if key_type == "rsa" else []
    subprocess.run(
        ["ssh-keygen", "-q", "-t", key_type, *bits, "-N", passphrase, "-C", "ferryman-test",
         "-f", path], check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    with open(path + ".pub", encoding="ascii") as handle:
        return handle.read().strip()


class SSHD:
    """One private sshd.

    Args:
        directory: Its own folder (host keys, config, log); a new one under /tmp when
            None, which the account can enter (it reads ``authorized_keys`` there).
        subsystem: Offer the ``sftp`` subsystem (off: the "no SFTP" case).
        certificate_ca: Sign the host keys with this CA key (a path), giving the server host
            certificates for ``principals``.
    """

    def __init__(
        self,
        directory: str | None = None,
        *,
        subsystem: bool = True,
        certificate_ca: str | None = None,
        principals: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        self.directory = directory or ""  # made by start(): an SSHD never started leaves none
        self.port = port or free_port()
        self.subsystem = subsystem
        self.certificate_ca = certificate_ca
        self.principals = principals
        self.host_keys: dict[str, str] = {}  # "ssh-ed25519" → the public key's line
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        """How known_hosts names it: ``[127.0.0.1]:PORT``."""
        return f"[127.0.0.1]:{self.port}"

    def key(self, key_type: str = "ssh-ed25519") -> str:
        """The host key's base64."""
        return self.host_keys[key_type].split()[1]

    def start(self, authorized: str = "") -> SSHD:
        self.directory = self.directory or tempfile.mkdtemp(prefix="ferryman-sshd-")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation
        os.chmod(self.directory, 0o755)  # the account reads authorized_keys
        lines = [f"Port {self.port}", "ListenAddress 127.0.0.1", "PidFile none"]
        for kind in ("ed25519", "rsa"):
            path = os.path.join(self.directory, f"host_{kind}")
            public = keygen(path, kind)
            self.host_keys[public.split()[0]] = public
            lines.append(f"HostKey {path}")
            if self.certificate_ca:
                subprocess.run(
                    ["ssh-keygen", "-q", "-s", self.certificate_ca, "-I", "ferryman-test-host",
                     "-h", "-n", self.principals, "-V", "-5m:+1h", path + ".pub"],
                    check=True, capture_output=True, timeout=30,
                )  # fmt: skip
                lines.append(f"HostCertificate {path}-cert.pub")
        keys = os.path.join(self.directory, "authorized_keys")
        with open(keys, "w", encoding="ascii") as handle:
            handle.write(authorized + "\n")
        os.chmod(keys, 0o644)
        lines += [
            f"AuthorizedKeysFile {keys}",
            "StrictModes no",  # the test folder is root's, not the account's
            "UsePAM no",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            f"AllowUsers {USER}",
            "MaxStartups 100:30:200",
            "LogLevel VERBOSE",
        ]
        if self.subsystem:
            lines.append("Subsystem sftp internal-sftp")
        config = os.path.join(self.directory, "sshd_config")
        with open(config, "w", encoding="ascii") as handle:
            handle.write("\n".join(lines) + "\n")
        self.log = os.path.join(self.directory, "sshd.log")
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [SSHD_BINARY, "-D", "-e", "-f", config], stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, start_new_session=True,
            )  # fmt: skip
        if wait_listening(self.process, self.port, 10):
            return self
        if self.process.poll() is not None:
            raise RuntimeError(f"sshd exited: {self.log_text()[-4000:]}")
        self.stop()
        raise RuntimeError(f"sshd did not listen on {self.port}: {self.log_text()[-4000:]}")

    def authorize(self, public_key: str) -> None:
        """Let ``public_key`` log in as the account (sshd reads the file at each login)."""
        with open(os.path.join(self.directory, "authorized_keys"), "a", encoding="ascii") as f:
            f.write(public_key + "\n")

    def log_text(self) -> str:
        """sshd's whole log (tests count the logins in it)."""
        with open(self.log, encoding="utf-8", errors="replace") as handle:
            return handle.read(16 * 1024 * 1024)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=5)
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)


class Client:
    """The client side: an ssh_config with known_hosts files and a key of its own.

    Attributes:
        config: The ssh_config to give ssh (``FERRYMAN_SSH_CONFIG``).
        known_hosts: The user known_hosts file it names (empty at first).
        public_key: The user key's public line (for a server's ``authorized_keys``).
    """

    def __init__(self, directory: str, passphrase: str = "") -> None:
        self.directory = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.config = os.path.join(directory, "ssh_config")
        self.known_hosts = os.path.join(directory, "known_hosts")
        self.global_known_hosts = os.path.join(directory, "ssh_known_hosts")
        self.identity = os.path.join(directory, "id_ed25519")
        self.public_key = keygen(self.identity, "ed25519", passphrase)
        for path in (self.known_hosts, self.global_known_hosts):
            open(path, "w").close()
        self.hosts: list[str] = []
        self.write()

    def add_host(self, alias: str, server: SSHD, *extra: str) -> None:
        """An alias for ``server`` (``Host alias`` / ``HostName`` / ``Port``), plus lines."""
        self.hosts.append(
            "\n".join(
                [
                    f"Host {alias}",
                    "  HostName 127.0.0.1",
                    f"  Port {server.port}",
                    *(f"  {line}" for line in extra),
                ]
            )  # fmt: skip
        )
        self.write()

    def write(self, *, key: bool = True, agent: bool = False) -> None:
        common = [
            "Host *",
            f"  User {USER}",
            f"  UserKnownHostsFile {self.known_hosts}",
            f"  GlobalKnownHostsFile {self.global_known_hosts}",
            "  IdentitiesOnly " + ("no" if agent else "yes"),
            "  IdentityAgent " + ("SSH_AUTH_SOCK" if agent else "none"),
            "  PubkeyAuthentication " + ("yes" if key or agent else "no"),
            f"  IdentityFile {self.identity}" if key else "  IdentityFile none",
        ]
        with open(self.config, "w", encoding="ascii") as handle:
            handle.write("\n\n".join([*self.hosts, "\n".join(common)]) + "\n")

    def know(self, line: str, *, hashed: bool = False) -> None:
        """Add a line to the user known_hosts (hashed with ``ssh-keygen -H`` if asked)."""
        with open(self.known_hosts, "a", encoding="ascii") as handle:
            handle.write(line + "\n")
        if hashed:
            subprocess.run(["ssh-keygen", "-q", "-H", "-f", self.known_hosts], check=True,
                           capture_output=True, timeout=30)  # fmt: skip
            os.unlink(self.known_hosts + ".old")


# --- fixtures (imported by the SFTP test modules) ------------------------------------------


def host_fingerprint(server: SSHD, key_type: str = "ssh-ed25519") -> str:
    """The host key's SHA256 in OpenSSH's form, as ``ssh-keygen -l`` prints it."""
    return openssh_fingerprint(fingerprint(base64.b64decode(server.key(key_type))))


@pytest.fixture(scope="session")
def sshd_ready() -> None:
    reason = missing()
    if reason is not None:
        message = (
            f"private sshd unavailable: {reason}. Install: sudo tests/interop/install-servers.sh"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session", name="server")
def sshd_server(sshd_ready: None) -> Iterator[SSHD]:
    """The shared private sshd (ed25519 and RSA host keys, key and password logins)."""
    started = SSHD().start()
    yield started
    started.stop()


@pytest.fixture(name="client")
def ssh_client(
    server: SSHD, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Client]:
    """A client of its own (config, known_hosts, key) whose key ``server`` accepts; the
    probe backend registered; no agent. Its shared connections are stopped afterwards, so
    the next test logs in anew."""
    made = Client(str(tmp_path / "client"))
    server.authorize(made.public_key)
    monkeypatch.setenv("FERRYMAN_SSH_CONFIG", made.config)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with registered():
        yield made
    sshbridge.stop_masters()
