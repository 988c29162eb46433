"""Provides SSHChannel: the user's own OpenSSH client, running the server's ``sftp`` subsystem.

``open_channel`` runs ``ssh [-F CONFIG] [-p PORT] [-l USER] -s -- HOST sftp``, so every
``~/.ssh/config`` feature works as the user set it (aliases, ``IdentityFile``, ``ProxyJump``,
the agent, FIDO keys); HOST is passed as given, never resolved or rewritten. The SFTP
client speaks over the process's stdin and stdout; stderr is captured (never on the screen)
and explained by :meth:`SSHChannel.failure`. ssh gets the user's environment as it is, plus
the bridge's variables (``tui.remote.sshbridge``).

Host keys: ``-oStrictHostKeyChecking=yes -oUpdateHostKeys=no`` and OpenSSH 8.5's
``KnownHostsCommand``, which hands the key offered in the live handshake to the bridge. It
is described as an ``ssh-host-key`` identity and judged by ``settings.decider`` (the trust
policy; ``tui.trust.hostkey`` reads the user's known_hosts for it) before any credential is
used: accepted, the helper prints a known_hosts line for exactly that key; refused, it prints
nothing, ssh gives up, and :meth:`failure` is the decider's error. The user's known_hosts is
never written. A host *certificate* is judged by its plain key (what is pinned); when a
known_hosts file lists its CA as ``@cert-authority`` for the host (``ssh-keygen -F`` says,
so the matching is ssh's own) it is vouched for, and the helper prints nothing: ssh's own
CA check then decides (signature, principals, validity, revoked CAs), so an invalid
certificate is refused, never let through as a plain key. Otherwise the plain key is judged
like any host key, and accepted, printed: ssh falls back to it.

Jump hosts: a ``ProxyJump`` (``ssh -G`` says) is run by Ferryman itself (``sshjump``), each
hop's ssh with the same options and a KnownHostsCommand that names the hop: its key is
judged the same way under the hop's own site (``jumphost:22``, as ``sftp://jumphost/``),
nearest hop first, with an ``on_the_way_to`` detail naming the site (``--trust``, which
names the site's key, does not apply to it). Refused, the error names the jump host and
how to trust it (``trust add``, or known_hosts).

Prompts (password, passphrase, one-time code) reach ``settings.ask`` through ``SSH_ASKPASS``
with ``SSH_ASKPASS_REQUIRE=force``; with no ``ask`` a prompt fails as ``AuthFailed``. One
password prompt per connection (``NumberOfPasswordPrompts=1``): the caller decides whether
to ask again. A prompt from an ssh that ssh started in turn (a ProxyJump host's) starts
with ``OTHER_HOST_PROMPT``, so that the site's own password never answers it. An ssh run by
the user's own ProxyCommand may ask "continue connecting?" about a host key it does not
know: that is answered no (a yes would write known_hosts).

Sessions to one destination share one authenticated connection: ``ControlMaster=auto`` with
a ``ControlPath`` in the process's private runtime directory and ``ControlPersist=60``; the
masters are stopped with ``ssh -O exit`` when Ferryman exits (``sshbridge``).

Not thread-safe: one channel serves one session.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from typing import BinaryIO, cast

from tui.errors import (
    AuthFailed,
    ConnectFailed,
    ConnectionLost,
    FerrymanError,
    IdentityNotTrusted,
    NotSupported,
)
from tui.identity import (
    ON_THE_WAY,
    SSH_HOST_KEY,
    Identity,
    IdentityDecider,
    fingerprint,
    openssh_fingerprint,
)
from tui.remote import sshbridge
from tui.remote.base import OTHER_HOST_PROMPT, SessionSettings
from tui.remote.sshexplain import (
    CONFIG_ENV,  # noqa: F401  (the variable ssh_command reads, named here too)
    certificate_keys,
    explain,
    explain_hop,
    known_hosts_files,
    listed_authority,
    ssh_command,
)
from tui.remote.sshjump import Hop, jump_refusal, safety_options, site_route
from tui.sites import Site
from tui.textsafe import printable

STDERR_LIMIT = 64 * 1024


class SSHChannel:
    """A running ssh whose stdin and stdout carry the SFTP packets.

    Attributes:
        stdin: SFTP packets are written here (unbuffered).
        stdout: And read from here (unbuffered: reads may be short).
    """

    stdin: BinaryIO
    stdout: BinaryIO

    def __init__(
        self,
        site: Site,
        settings: SessionSettings,
        command: list[str],
        *,
        files: tuple[str, ...] | None = None,
        hops: Sequence[tuple[Hop, tuple[str, ...]]] = (),
        hop_decider: IdentityDecider | None = None,
        hop_logs: Sequence[str] = (),
    ) -> None:
        self.site = site
        self.settings = settings
        self.identity: Identity | None = None  # the site's host key judged, if ssh asked
        self.hops = list(hops)  # the jump hosts (sshjump.route), numbered from 1
        self._hop_decider = hop_decider or settings.decider
        self._hop_logs = list(hop_logs)  # where each hop's ssh logs (sshjump)
        self._errors: list[FerrymanError] = []
        self._stderr: collections.deque[bytes] = collections.deque()
        self._stderr_size = 0
        self._closed = False
        self._files = files
        self._runtime = sshbridge.runtime()
        self._runtime.ssh_for_exit = command[0]
        self._token = self._runtime.register(self._handle)
        self._command = command
        # ssh's messages go to a file (-E): with ControlPersist, a session's failure is told
        # by the master, which no longer has a stderr (see failure()).
        self.log_path = os.path.join(self._runtime.directory, f"log-{self._token}")
        command = [command[0], "-E", self.log_path, *command[1:]]
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                bufsize=0, start_new_session=True,
                env={**os.environ, **self._runtime.environment(self._token)},
            )  # fmt: skip
        except OSError as error:
            self._runtime.unregister(self._token)
            raise NotSupported(f"Cannot run {command[0]}: {error.strerror or error}") from None
        assert self.process.stdin and self.process.stdout and self.process.stderr
        # Unbuffered pipes (FileIO), which are binary streams as the interface promises.
        self.stdin = cast(BinaryIO, self.process.stdin)
        self.stdout = cast(BinaryIO, self.process.stdout)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    # --- the bridge's requests (in the bridge's threads) ---------------------------------

    def _handle(self, operation: str, arguments: list[str]) -> str | None:
        try:
            if operation == "known-hosts":
                return self._known_hosts(arguments)
            if operation == "askpass":
                return self._askpass(arguments)
        except FerrymanError as error:
            self._errors.append(error)
        except Exception as error:  # a decider or prompt that broke: refuse, and say why
            self._errors.append(ConnectFailed(f"SSH connection to {self.site.key} failed: {error}"))
        return None

    def _known_hosts(self, arguments: list[str]) -> str | None:
        reason, name, key_type, _, key, hop = (arguments + [""] * 6)[:6]
        if reason != "HOSTNAME":
            return None  # ordering hints: ssh's own order stands
        try:
            blob = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            return None
        if hop:  # the ssh of a jump host (sshjump), which names its hop
            if not (hop.isascii() and hop.isdigit() and 0 < int(hop) <= len(self.hops)):
                return None
            jump, files = self.hops[int(hop) - 1]
            site, host, decide = jump.key, jump.host, self._hop_decider
            on_the_way: tuple[tuple[str, str], ...] = ((ON_THE_WAY, self.site.key),)
        else:
            if self._files is None:
                self._files = known_hosts_files(self._command, self.site)
            files, site, host, decide = self._files, self.site.key, self.site.host, None
            on_the_way = ()
        details: tuple[tuple[str, str], ...] = ()
        vouched = False
        if key_type.endswith("-cert-v01@openssh.com"):
            # A host certificate: the plain key inside it is what is judged and pinned.
            keys = certificate_keys(blob)
            if keys is None:
                return None
            key_type, blob, authority = keys
            key = base64.b64encode(blob).decode("ascii")
            listed = listed_authority(files, name, authority)
            vouched = listed is not None
            ca = openssh_fingerprint(fingerprint(authority))
            where = f"listed in {listed}" if listed else "which known_hosts does not list"
            details = (("certificate", f"signed by the CA {ca}, {where}"),)
        identity = Identity(
            site=site, host=host, kind=SSH_HOST_KEY, sha256=fingerprint(blob), verified=vouched,
            details=(("key_type", key_type), ("key", key), *details, *on_the_way,
                     ("known_hosts_name", name), ("known_hosts_files", " ".join(files))),
        )  # fmt: skip
        if decide is not None:
            self._judge_hop(identity, decide)
        else:
            self.identity = identity
            if not self.settings.decider(identity):
                raise IdentityNotTrusted(f"The host key of {site} was refused", identity)
        if vouched:
            # ssh checks the certificate against that CA itself (signature, names, dates);
            # printing the plain key would let an invalid certificate through.
            return None
        return f"{name} {key_type} {key}"

    def _judge_hop(self, identity: Identity, decide: IdentityDecider) -> None:
        """Judge a jump host's key; refused, the error names the jump host and how to trust
        it (``--trust`` names the site's key only: the policy does not apply it here)."""
        try:
            accepted = decide(identity)
        except IdentityNotTrusted as error:
            raise IdentityNotTrusted(
                jump_refusal(error, identity.site, self.site.key), error.certificate
            ) from None
        if not accepted:
            raise IdentityNotTrusted(
                f"The host key of the ProxyJump host {identity.site} (on the way to "
                f"{self.site.key}) was refused", identity,
            )  # fmt: skip

    def _askpass(self, arguments: list[str]) -> str | None:
        prompt, style, asker = (arguments + ["", "", ""])[:3]
        shown = printable(prompt.strip())[:300]
        if "continue connecting (yes/no" in prompt:
            # Only an ssh we did not start asks this: one that the user's own ProxyCommand
            # runs (a ProxyJump's is ours, and never asks). A yes would write known_hosts.
            first = printable(prompt.strip().splitlines()[0] if prompt.strip() else "")[:200]
            raise ConnectFailed(
                f"ssh met a host key it does not know on the way to {self.site.key} (through "
                f"a ProxyCommand of your ssh configuration): {first}. Connect to that host "
                "with ssh once and add its key to known_hosts"
            )
        if self.settings.ask is None:
            raise AuthFailed(f"ssh asks {shown!r} for {self.site.key}, and no one can answer here")
        text = prompt.strip()
        if asker != str(self.process.pid):
            text = OTHER_HOST_PROMPT + text  # a ProxyJump host's: never the site's password
        answer = self.settings.ask(text, style == "confirm")
        if answer is None:
            raise AuthFailed(f"Login to {self.site.key} cancelled ({shown})")
        return answer

    # --- the process -----------------------------------------------------------------------

    def _read_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        with contextlib.suppress(OSError, ValueError):
            for line in iter(stream.readline, b""):
                self._stderr.append(line[:4096])
                self._stderr_size += len(line[:4096])
                while self._stderr_size > STDERR_LIMIT and len(self._stderr) > 1:
                    self._stderr_size -= len(self._stderr.popleft())

    def stderr_text(self) -> str:
        """What ssh said: its log file's end, and anything on stderr."""
        return _tail(self.log_path) + b"".join(list(self._stderr)).decode("utf-8", "replace")

    def failure(self) -> FerrymanError:
        """What went wrong, as one clear error: the decider's or the prompt's own error
        first, else what ssh's stderr says (waiting a few seconds for ssh to end)."""
        if not self._errors:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            self._reader.join(timeout=2)
        if self._errors:
            return self._errors[0]
        if self.process.returncode is None:
            return ConnectionLost(f"The SSH connection to {self.site.key} stopped answering")
        for number, log in enumerate(self._hop_logs, start=1):  # the nearest jump host first
            hop = self.hops[number - 1][0]
            following = self.hops[number][0].key if number < len(self.hops) else self.site.key
            at = Site(hop.host, hop.port or 22, user=hop.user, protocol="sftp")
            if (error := explain_hop(_tail(log), at, following, self.site.key)) is not None:
                return error
        said = self.stderr_text()
        if not said.strip() and self.process.returncode == 255 and self._master_alive():
            # Logged in (the shared connection is up), yet the session ended at once without
            # a word: the server refused the subsystem. Under ControlPersist only the master
            # hears the refusal, and it does not log it.
            said = "subsystem request failed (the shared connection is up)"
        return explain(said, self.process.returncode, self.site, self.identity)

    def _master_alive(self) -> bool:
        """Whether a shared (ControlMaster) connection to this destination is running."""
        check = [*self._command[:-4], "-O", "check", "--", self.site.host]
        try:
            return subprocess.run(
                check, stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                start_new_session=True,
            ).returncode == 0  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return False

    def close(self) -> None:
        """End ssh: end of input first (the server ends the session), then a bounded wait,
        then SIGTERM and SIGKILL to its process group. Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError, ValueError):
            self.stdin.close()
        for stop, wait in ((None, 2.0), (signal.SIGTERM, 1.0), (signal.SIGKILL, 2.0)):
            if stop is not None:
                with contextlib.suppress(OSError):
                    os.killpg(self.process.pid, stop)
            try:
                self.process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        for stream in (self.stdout, self.process.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.close()  # type: ignore[union-attr]
        self._reader.join(timeout=1)
        self._runtime.unregister(self._token)

    def __enter__(self) -> SSHChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tail(path: str) -> str:
    """The last ``STDERR_LIMIT`` bytes of a log file ('' if there is none)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(path) - STDERR_LIMIT))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _options(site: Site, settings: SessionSettings) -> list[str]:
    options = safety_options(settings)
    if site.port != 22:  # else the alias's own Port applies (ssh_config)
        options += ["-p", str(site.port)]
    if site.user:
        options += ["-l", site.user]
    return options


def fetch_identity(site: Site, settings: SessionSettings) -> Identity:
    """The host key the server offers, without logging in (``ferryman cert``).

    ssh is started with no shared connection and every authentication method off, so it
    negotiates the host key exactly as a connection would (preferring the key types
    known_hosts lists), hands it to the helper, which records it, and then gives up at
    the login having offered no credential (only the user name, in the "none" method).
    Jump hosts on the way are logged in to as for a connection, so their keys are judged
    by ``settings.decider`` as ever, and their prompts go to ``settings.ask``.

    Raises:
        NotSupported, ConnectFailed: as ``open_channel``; ConnectFailed when ssh ended
        without offering a key. IdentityNotTrusted: a jump host's key was refused.
    """
    seen: list[Identity] = []

    def record(identity: object) -> bool:
        if isinstance(identity, Identity):
            seen.append(identity)
        return True  # printed for this ssh only, which cannot log in

    no_login = [f"-o{method}Authentication=no" for method in (
        "Pubkey", "Password", "KbdInteractive", "Hostbased", "GSSAPI")]  # fmt: skip
    base = ssh_command()
    jumps, files = site_route(base, site, settings)
    command = [
        *base, *_options(site, settings), *jumps.options, "-oBatchMode=yes", *no_login,
        "-oControlMaster=no", "-oControlPath=none", "-s", "--", site.host, "sftp",
    ]  # fmt: skip
    # Jump hosts are judged for real (they are logged in to) and may ask for a password.
    channel = SSHChannel(site, settings._replace(decider=record), command, files=files,
                         hops=jumps.hops, hop_decider=settings.decider,
                         hop_logs=jumps.logs)  # fmt: skip
    try:
        with contextlib.suppress(subprocess.TimeoutExpired):
            channel.process.wait(timeout=settings.timeout + 5)
        if seen:
            return seen[0]
        error = channel.failure()
    finally:
        channel.close()
    about = getattr(getattr(error, "certificate", None), "site", site.key)
    if isinstance(error, IdentityNotTrusted) and about == site.key:  # not a jump host's
        error = ConnectFailed(f"{site.key} offered no host key that ssh could show")
    raise error


def open_channel(site: Site, settings: SessionSettings) -> SSHChannel:
    """Start ssh for the site's sftp subsystem.

    The host key is judged through ``settings.decider`` (an ``ssh-host-key`` identity)
    before any credential is used; prompts go to ``settings.ask``. HOST is given to ssh as
    it is (an alias works); ``-p`` is passed only for a port other than 22, so that an
    alias's own ``Port`` applies. ssh is started and the
    channel returned at once: a failure to connect (refused key, login, unreachable host,
    no subsystem) shows as the end of ``stdout``, and :meth:`SSHChannel.failure` then says
    which, as ``ConnectFailed``, ``IdentityNotTrusted``, ``AuthFailed`` or ``NotSupported``.

    Raises:
        NotSupported: no ssh, or one older than OpenSSH 8.5.
    """
    base = ssh_command()
    runtime = sshbridge.runtime()
    jumps, files = site_route(base, site, settings)
    control = sshbridge.escape_percent(os.path.join(runtime.directory, "cm-")) + "%C"
    shared = ["-oControlMaster=auto", f"-oControlPath={control}", "-oControlPersist=60"]
    options = [*_options(site, settings), *jumps.options, *shared]
    return SSHChannel(site, settings, [*base, *options, "-s", "--", site.host, "sftp"],
                      files=files, hops=jumps.hops, hop_logs=jumps.logs)  # fmt: skip
