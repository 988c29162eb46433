"""Starts Debian's vsftpd, ProFTPD and pure-ftpd on 127.0.0.1 with generated configs.

``install-servers.sh`` (run by .ci/run) installs them and the ``ferrytest`` account. Each
server serves the real file system; every test works in a fresh folder owned by
``ferrytest`` and addresses it by absolute path (``ftp://host//abs/path``).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from urllib.parse import quote

from tui.demo import TLSFiles

SERVERS_DIR = os.environ.get("FERRYMAN_SERVERS_DIR", "/opt/ferryman-servers")
USER = "ferrytest"
PASSWORD_FILE = "/etc/ferryman-test/password"
VSFTPD = "/usr/sbin/vsftpd"
PROFTPD = os.path.join(SERVERS_DIR, "usr/sbin/proftpd")
PUREFTPD = os.path.join(SERVERS_DIR, "usr/sbin/pure-ftpd")
PROFTPD_MODULES = os.path.join(SERVERS_DIR, "usr/lib/proftpd")


def missing() -> str | None:
    """Why the interop servers cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "the interop servers need root (they switch to the ferrytest account)"
    for path in (VSFTPD, PROFTPD, PUREFTPD, os.path.join(PROFTPD_MODULES, "mod_tls.so")):
        if not os.path.exists(path):
            return f"{path} is not installed"
    if not os.path.exists(PASSWORD_FILE):
        return f"{PASSWORD_FILE} is missing (no ferrytest account)"
    return None


def password() -> str:
    with open(PASSWORD_FILE, encoding="ascii") as handle:
        return handle.read().strip()


def free_port() -> int:
    """A free port below the kernel's ephemeral range, so that none of the many client
    connections the tests make can take it between this check and the server's bind."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as handle:
            low = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = random.randint(max(1024, low - 12000), low - 1)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found for a test server")


def wait_listening(process: subprocess.Popen[bytes], port: int, seconds: float) -> bool:
    """Wait (bounded) until a server process accepts connections on 127.0.0.1:``port``;
    False when it exited first (``process.poll()`` says so) or did not within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)  # until it listens: no event to wait on from outside
    return False


def _owned_dir(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    shutil.chown(path, USER, USER)
    os.chmod(path, 0o755)
    return path


class ServerProcess:
    """One FTP server process. ``modes`` are the URL schemes it answers."""

    name = "server"
    modes: tuple[str, ...] = ()

    def __init__(self, tls: TLSFiles, *, implicit: bool = False, base: str = "/tmp") -> None:
        self.tls = tls
        self.implicit = implicit
        # base: where the served files live (/dev/shm for benchmarks that must not time
        # the disk); the ferrytest account must be able to reach it.
        self.workdir = tempfile.mkdtemp(prefix=f"ferryman-{self.name}-", dir=base)
        os.chmod(self.workdir, 0o755)  # the ferrytest account must reach root/ below it
        self.root = _owned_dir(os.path.join(self.workdir, "root"))
        self.port = free_port()
        self.log_path = os.path.join(self.workdir, "server.log")
        self.process: subprocess.Popen[bytes] | None = None
        self.password = password()

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> ServerProcess:
        """Start; if the port was taken meanwhile (another worker's server), try another."""
        for attempt in range(3):
            try:
                return self._start()
            except RuntimeError:
                if attempt == 2 or self.restarting:
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def _start(self) -> ServerProcess:
        with open(self.log_path, "w+b") as log:
            # vsftpd reports start-up errors on fd 0, the others on stderr: catch both.
            self.process = subprocess.Popen(
                self.command(), stdin=log, stdout=log, stderr=log, start_new_session=True
            )
        if wait_listening(self.process, self.port, 15):
            return self
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited at start-up:\n{self.log()}")
        self.stop()
        raise RuntimeError(f"{self.name} did not listen on port {self.port}:\n{self.log()}")

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return handle.read()[-4000:]
        except OSError:
            return "(no log)"

    restarting = False  # after kill(): start again on the same port, or fail

    def kill(self) -> None:
        """SIGKILL the server and every session process, as a crash would; keep its files.

        vsftpd's session processes leave the server's process group, so they are found by
        their command line, which names this server's own config in its folder.
        """
        self.restarting = True
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=5)
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    if self.workdir.encode() in handle.read():
                        os.kill(int(pid), 9)
            except (OSError, ProcessLookupError):
                continue  # gone already, or not ours to read

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=5)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def fresh_dir(self) -> str:
        """A new empty folder for one test, owned by the login account."""
        return _owned_dir(os.path.join(self.root, uuid.uuid4().hex[:12]))

    def url(self, scheme: str, path: str = "", *, secret: str | None = None) -> str:
        """A URL with credentials for ``path``, an absolute path on this machine."""
        credential = quote(self.password if secret is None else secret, safe="")
        return f"{scheme}://{USER}:{credential}@127.0.0.1:{self.port}/{quote(path)}"

    def _write(self, name: str, text: str) -> str:
        path = os.path.join(self.workdir, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path


class Vsftpd(ServerProcess):
    name = "vsftpd"

    @property
    def modes(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("ftps",) if self.implicit else ("ftp", "ftpes")

    def command(self) -> list[str]:
        empty = os.path.join(self.workdir, "empty")
        os.makedirs(empty, exist_ok=True)
        config = f"""\
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={self.port}
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pam_service_name=ferryman-test
secure_chroot_dir={empty}
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
use_localtime=NO
xferlog_enable=NO
vsftpd_log_file={self.workdir}/vsftpd-protocol.log
log_ftp_protocol=YES
connect_from_port_20=NO
ssl_enable=YES
rsa_cert_file={self.tls.cert}
rsa_private_key_file={self.tls.key}
ssl_ciphers=HIGH
allow_anon_ssl=NO
force_local_data_ssl=NO
force_local_logins_ssl=NO
require_ssl_reuse=YES
implicit_ssl={"YES" if self.implicit else "NO"}
"""
        return [VSFTPD, self._write("vsftpd.conf", config)]


class ProFTPD(ServerProcess):
    name = "proftpd"
    store_restart = True  # AllowStoreRestart; off, REST+STOR is refused (APPE is not)

    @property
    def modes(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("ftps",) if self.implicit else ("ftp", "ftpes")

    def command(self) -> list[str]:
        implicit = "TLSOptions UseImplicitSSL" if self.implicit else ""
        config = f"""\
ServerType standalone
ServerName "Ferryman interop ProFTPD"
DefaultServer on
Port {self.port}
DefaultAddress 127.0.0.1
UseIPv6 off
User {USER}
Group {USER}
PidFile {self.workdir}/proftpd.pid
ScoreboardFile {self.workdir}/proftpd.scoreboard
DelayTable none
WtmpLog off
UseReverseDNS off
RequireValidShell off
AuthOrder mod_auth_unix.c
SystemLog {self.workdir}/proftpd-system.log
TransferLog none
AllowOverwrite on
AllowStoreRestart {"on" if self.store_restart else "off"}
AllowRetrieveRestart on
TimesGMT on
Umask 022
ModulePath {PROFTPD_MODULES}
LoadModule mod_tls.c
LoadModule mod_digest.c
DigestEngine on
TLSEngine on
TLSLog {self.workdir}/proftpd-tls.log
TLSProtocol TLSv1.2 TLSv1.3
TLSRSACertificateFile {self.tls.cert}
TLSRSACertificateKeyFile {self.tls.key}
TLSRequired off
TLSVerifyClient off
TLSRenegotiate none
{implicit}
"""
        return [PROFTPD, "--nodaemon", "--quiet", "-c", self._write("proftpd.conf", config)]


class PureFTPd(ServerProcess):
    name = "pure-ftpd"
    modes = ("ftp", "ftpes")

    def command(self) -> list[str]:
        with (
            open(self.tls.cert, encoding="ascii") as cert,
            open(self.tls.key, encoding="ascii") as key,
        ):
            combined = self._write("pure-ftpd.pem", cert.read() + key.read())
        os.chmod(combined, 0o600)
        return [
            PUREFTPD,
            "--bind", f"127.0.0.1,{self.port}",
            "--login", "pam",
            "--noanonymous",
            "--dontresolve",
            "--tls", "1",  # TLS offered, not required: plain and explicit on one port
            "--certfile", combined,
            "--pidfile", os.path.join(self.workdir, "pure-ftpd.pid"),
            "--minuid", "1",
        ]  # fmt: skip
