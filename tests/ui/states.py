"""The app in the states the snapshot tests check and ``screenshots.py`` writes for the README.

Everything that would change between runs is fixed: file times, the certificates (committed
in ``data/``), the clock the certificate is judged at, the home folder (paths show as
``~/local``). The one thing a real run cannot fix is the sandbox server's port, so the main
screen's status line is given the name a real site would have.
"""

from __future__ import annotations

import base64
import os
import pathlib
import ssl
from datetime import UTC, datetime

from tui.app import FerrymanApp
from tui.config import Config
from tui.demo import SandboxServer, self_signed
from tui.identity import SSH_HOST_KEY, Identity
from tui.remote.tls import PeerCertificate, TLSCheck, fingerprint
from tui.screens.certificate import CertificateScreen
from tui.screens.identity import trust_viewer
from tui.screens.main import MainScreen
from tui.sites import Site, save_sites
from tui.transfer.queue import Direction, Job, State
from tui.trust.certificate import CertificateReport
from tui.trust.hostkey import HostKeyRules
from tui.trust.kinds import Report
from tui.trust.policy import TrustPolicy
from tui.trust.store import TrustedCertificate, TrustedIdentity, TrustStore
from tui.trust.verify import build_report, trust_anchors

DATA = pathlib.Path(__file__).parent / "data"
SIZE = (80, 24)
SMALL = (60, 20)  # the narrow terminal every key bar, dialog and panel must also fit
CLOCK = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OLD = datetime(2025, 6, 1, 9, 30, tzinfo=UTC).timestamp()

REMOTE_TREE = {
    "docs/guide.md": b"# Guide\n",
    "docs/release-notes.txt": b"1.0: first release\n" * 40,
    "site/index.html": b"<h1>Hello</h1>\n" * 100,
    "backups/db-2025-05-31.sql.gz": b"\x1f\x8b" + b"\x00" * 180_000,
    "README.txt": b"Welcome\n",
    "upload-me-later.iso": b"\x00" * 1_500_000,
}
LOCAL_TREE = {"notes.txt": b"to do\n" * 30, "photos/beach.jpg": b"\xff\xd8" + b"\x00" * 90_000,
              "report.pdf": b"%PDF-1.7\n" + b"\x00" * 250_000}  # fmt: skip


def _write_tree(root: str, tree: dict[str, bytes]) -> None:
    for relative, data in tree.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.utime(os.path.join(folder, name), (OLD, OLD))


def prepare(workdir: str) -> str:
    """A home folder with ``local/`` to browse and two saved sites; returns ``local/``."""
    local = os.path.join(workdir, "local")
    _write_tree(local, LOCAL_TREE)
    os.environ["HOME"] = workdir
    os.environ["FERRYMAN_HOME"] = os.path.join(workdir, ".ferryman")
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # same on every machine
    save_sites([
        Site(host="ftp.example.test", port=21, tls="explicit", user="deploy", name="Web server",
             path="/var/www"),
        Site(host="backup.example.test", port=990, tls="implicit", user="backup", name="Backups"),
    ])  # fmt: skip
    return local


def report(verdict: str) -> CertificateReport:
    """The committed certificate, judged by the real policy at a fixed time: its issuer is
    unknown and the host is not one of its names; ``changed`` after another was trusted."""
    der = ssl.PEM_cert_to_DER_cert((DATA / "snapshot-cert.pem").read_text())
    check = TLSCheck(
        site="ftp.example.org:21",
        host="ftp.example.org",
        peer=PeerCertificate((der,), "TLSv1.3", "TLS_AES_256_GCM_SHA384"),
        verified=False,
        problems=("unable to get local issuer certificate",),
    )
    store = TrustStore(os.path.join(os.environ["FERRYMAN_HOME"], "snapshot-trust.json"))
    if verdict == "changed":
        old = ssl.PEM_cert_to_DER_cert((DATA / "snapshot-cert-old.pem").read_text())
        store.add(check.site, TrustedCertificate(
            sha256=fingerprint(old), pem="", subject="ftp.example.test", failing=["issuer"],
            problems=[], accepted_at="2025-02-01T00:00:00Z", not_after="2027-01-01T00:00:00Z",
        ))  # fmt: skip
    # "expired": the same certificate judged after its end date (2027-01-01).
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC) if verdict == "expired" else CLOCK
    judged = build_report(check, trust_anchors(), now=now)
    judged.revocation_detail = "the certificate names no OCSP responder or CRL"
    TrustPolicy(store)._judge(judged)
    return judged


HOST_SITE = "sftp.example.org:22"


def hostkey_report(verdict: str, key: str = "hostkey-ed25519.pub") -> Report:
    """A committed host key (``data/``) as the SSH transport describes it, judged by the
    real rules (``HostKeyRules``: what an empty known_hosts says) and the real policy:
    ``untrusted`` (unknown), ``changed`` (another key was trusted), ``revoked`` (known_hosts
    marks it ``@revoked``)."""
    key_type, encoded = (DATA / key).read_text().split()[:2]
    home = os.environ["FERRYMAN_HOME"]
    os.makedirs(home, exist_ok=True)
    known_hosts = os.path.join(home, "known_hosts")
    with open(known_hosts, "w", encoding="ascii") as handle:
        if verdict == "revoked":
            handle.write(f"@revoked sftp.example.org {key_type} {encoded}\n")
    identity = Identity(
        site=HOST_SITE, host="sftp.example.org", kind=SSH_HOST_KEY,
        sha256=fingerprint(base64.b64decode(encoded)),
        details=(("key_type", key_type), ("key", encoded), ("known_hosts_name", "sftp.example.org"),
                 ("known_hosts_files", known_hosts)),
    )  # fmt: skip
    store = TrustStore(os.path.join(home, "snapshot-hostkey-trust.json"))
    if verdict == "changed":
        old_type, old = (DATA / "hostkey-ed25519-old.pub").read_text().split()[:2]
        store.add(HOST_SITE, TrustedIdentity(
            kind=SSH_HOST_KEY, sha256=fingerprint(base64.b64decode(old)), failing=["general"],
            problems=[], accepted_at="2026-01-01T00:00:00Z",
            details={"key_type": old_type, "key": old},
        ))  # fmt: skip
    judged = HostKeyRules().report(identity)
    TrustPolicy(store)._judge(judged)
    return judged


def hostkey_run_before(verdict: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await dismiss_connect(pilot)
        await pilot.app.push_screen(trust_viewer(hostkey_report(verdict)))
        await pilot.pause()
        await pilot.pause()  # the fingerprints are laid out again for their width

    return run_before


def app_for(local: str, url: str | None = None, store: TrustStore | None = None) -> FerrymanApp:
    return FerrymanApp(url=url, local_path=local, config=Config(), store=store,
                       check_revocation=False)  # fmt: skip


class ConnectedMain:
    """The main screen connected over explicit FTPS to a sandbox with a fixed tree."""

    def __init__(self, workdir: str) -> None:
        self.local = prepare(workdir)
        served = os.path.join(workdir, "served")
        _write_tree(served, REMOTE_TREE)
        tls = self_signed(workdir)
        self.server = SandboxServer(served, tls=tls).start()
        store = TrustStore(os.path.join(workdir, "trust.json"))
        with open(tls.cert, encoding="ascii") as handle:
            sha256 = fingerprint(ssl.PEM_cert_to_DER_cert(handle.read()))
        store.add(f"127.0.0.1:{self.server.port}", TrustedCertificate(
            sha256=sha256, pem="", subject="127.0.0.1", failing=["issuer"], problems=[],
            accepted_at="2026-01-01T00:00:00Z", not_after="2099-01-01T00:00:00Z",
        ))  # fmt: skip
        self.app = app_for(self.local, self.server.url("ftpes"), store)

    async def run_before(self, pilot) -> None:  # type: ignore[no-untyped-def]
        from tests.ui.conftest import settle

        await settle(pilot, self.app)
        screen = self.app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("enter")  # open docs/ in place
        await settle(pilot, self.app)
        screen.status.site = "ftp.example.test:21"  # the sandbox's port changes every run
        await pilot.pause()

    def stop(self) -> None:
        self.server.stop()


class ComparedMain(ConnectedMain):
    """The same, after ``=`` (compare): marks in both panes and the legend."""

    keys: tuple[str, ...] = ("equals_sign",)

    async def run_before(self, pilot) -> None:  # type: ignore[no-untyped-def]
        from tests.ui.conftest import settle

        await settle(pilot, self.app)
        main = self.app.screen
        assert isinstance(main, MainScreen)
        await pilot.press(*self.keys)
        await settle(pilot, self.app)
        main.status.site = "ftp.example.test:21"
        await pilot.pause()


class SyncPlan(ComparedMain):
    """The sync plan modal, remote to local (the remote pane is active after connecting)."""

    keys = ("y",)


class TransfersMain(ConnectedMain):
    """The transfer panel open under the panes, a queue caught mid-run: jobs with fixed
    states, sizes and progress, measured over two seconds of a stopped clock. They are only
    put in the queue (no engine takes them), so nothing is sent to the server."""

    MiB = 1024 * 1024
    JOBS = [  # (name, size, bytes at the first look, bytes two seconds later, state, reason)
        ("report-2025.pdf", 2_516_582, 2_516_582, 2_516_582, State.DONE, ""),
        ("ubuntu-24.04-live-server.iso", 2_754 * MiB, 1_130 * MiB, 1_206 * MiB, State.RUNNING, ""),
        ("db-2025-06-30.sql.gz", 812 * MiB, 601 * MiB, 643 * MiB, State.RUNNING, ""),
        ("photos-2025.tar", 1_390 * MiB, 0, 0, State.QUEUED, ""),
        ("logs/access.log", 96 * MiB, 0, 0, State.FAILED,
         "550 Permission denied (access.log)"),
        ("notes.txt", 180, 0, 0, State.QUEUED, ""),
    ]  # fmt: skip

    async def run_before(self, pilot) -> None:  # type: ignore[no-untyped-def]
        from tests.ui.conftest import settle

        await settle(pilot, self.app)
        main = self.app.screen
        assert isinstance(main, MainScreen)
        home = os.path.join(os.environ["HOME"], "local")
        jobs = [
            Job(Direction.DOWNLOAD, f"/{name}", os.path.join(home, name), size=size, state=state,
                done=first, reason=reason)
            for name, size, first, _, state, reason in self.JOBS
        ]  # fmt: skip
        await pilot.press("t")
        panel = main.transfer_panel()
        clock = [5000.0]  # stopped: the speeds come out the same on every run
        panel.clock = lambda: clock[0]
        self.app.transfers.add(jobs)
        panel.refresh_jobs()
        clock[0] += 2.0
        for job, (*_, later, _, _) in zip(jobs, self.JOBS, strict=True):
            job.done = later
        panel.refresh_jobs()
        main.status.site = "ftp.example.test:21"
        await pilot.pause()


async def dismiss_connect(pilot) -> None:  # type: ignore[no-untyped-def]
    from tests.ui.conftest import settle

    await settle(pilot, pilot.app)
    await pilot.press("escape")
    await pilot.pause()


def certificate_run_before(verdict: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await dismiss_connect(pilot)
        await pilot.app.push_screen(CertificateScreen(report(verdict)))
        await pilot.pause()

    return run_before


async def connect_run_before(pilot) -> None:  # type: ignore[no-untyped-def]
    from tests.ui.conftest import settle

    await settle(pilot, pilot.app)
    await pilot.press("down")  # pick the first saved site from the list
    await pilot.pause()


async def help_run_before(pilot) -> None:  # type: ignore[no-untyped-def]
    await dismiss_connect(pilot)
    await pilot.press("f1")
    await pilot.pause()


async def conflict_run_before(pilot) -> None:  # type: ignore[no-untyped-def]
    """The conflict dialog for a download onto an older local file of another size."""
    from tui.screens.confirm import ConflictScreen

    await dismiss_connect(pilot)
    job = Job(Direction.DOWNLOAD, "/var/www/index.html", "/home/ann/www/index.html", size=18_432,
              mtime=datetime(2026, 2, 27, 16, 5, tzinfo=UTC))  # fmt: skip
    await pilot.app.push_screen(ConflictScreen(job, (12_288, OLD)))
    await pilot.pause()


async def hex_viewer_run_before(pilot) -> None:  # type: ignore[no-untyped-def]
    """The viewer on a binary file: a hex dump of 16 bytes a row, the hint under it."""
    from tui.screens.viewer import ViewerScreen

    await dismiss_connect(pilot)
    data = bytes(range(256)) * 4
    await pilot.app.push_screen(ViewerScreen("firmware.bin", data, 1_048_576))
    await pilot.pause()
