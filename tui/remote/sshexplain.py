"""Provides what the SSH channel learns from ssh itself: which ssh to run (OpenSSH 8.5 or
newer), its stderr explained as one clear error, the known_hosts files its configuration
names for a host (``ssh -G``), and a host certificate's keys.

ssh's messages are stable English (``Permission denied (publickey,password).``,
``Could not resolve hostname``, ``subsystem request failed``); each is mapped to the error a
user of any backend meets (``AuthFailed``, ``ConnectFailed``, ``NotSupported``,
``IdentityNotTrusted``), with ssh's own line kept as the error's ``reply``.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from typing import TYPE_CHECKING

from tui.errors import (
    AuthFailed,
    ConnectFailed,
    ConnectionLost,
    FerrymanError,
    IdentityNotTrusted,
    NotSupported,
)
from tui.textsafe import printable

if TYPE_CHECKING:
    from tui.identity import Identity
    from tui.sites import Site

CONFIG_ENV = "FERRYMAN_SSH_CONFIG"
"""An ssh_config file to use instead of ``~/.ssh/config`` (``ssh -F``), for tests."""
MINIMUM = (8, 5)  # KnownHostsCommand
_VERSIONS: dict[tuple[str, float], tuple[int, int]] = {}


def ssh_command() -> list[str]:
    """``ssh`` found on PATH (and ``-F CONFIG`` when set), checked to be OpenSSH ≥ 8.5.

    Raises:
        NotSupported: no ssh, not OpenSSH, or older than 8.5.
    """
    path = shutil.which("ssh")
    if path is None:
        raise NotSupported("SFTP needs the OpenSSH client (ssh), and none is on PATH")
    version = _version(path)
    if version < MINIMUM:
        raise NotSupported(
            f"SFTP needs OpenSSH 8.5 or newer (for KnownHostsCommand); {path} is "
            f"OpenSSH {version[0]}.{version[1]}"
        )
    config = os.environ.get(CONFIG_ENV)
    return [path, "-F", config] if config else [path]


def _version(path: str) -> tuple[int, int]:
    try:
        key = (path, os.stat(path).st_mtime)
    except OSError:
        key = (path, 0.0)
    if key not in _VERSIONS:
        try:
            result = subprocess.run(
                [path, "-V"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                start_new_session=True,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as error:
            raise NotSupported(f"Cannot run {path}: {error}") from None
        said = (result.stderr + result.stdout).decode("utf-8", "replace")
        found = re.search(r"OpenSSH_([0-9]+)\.([0-9]+)", said)
        if found is None:
            first = printable(said.strip().splitlines()[0] if said.strip() else "nothing")
            raise NotSupported(f"SFTP needs the OpenSSH client; {path} says {first[:80]!r}")
        _VERSIONS[key] = (int(found.group(1)), int(found.group(2)))
    return _VERSIONS[key]


DEFAULT_FILES = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2", "/etc/ssh/ssh_known_hosts",
                 "/etc/ssh/ssh_known_hosts2")  # fmt: skip

# Lines that say nothing about a failure (a server's banner is unknowable, hence the last
# meaningful line is a fallback only).
_NOISE = ("warning: permanently added", "** ", "pseudo-terminal", "debug")


def explain(text: str, status: int, site: Site, identity: Identity | None) -> FerrymanError:
    """ssh's stderr and exit status as one error."""
    lines = [printable(line.strip()) for line in text.splitlines() if line.strip()]
    lower = [line.lower() for line in lines]

    def find(*needles: str) -> str | None:
        for line, low in zip(lines, lower, strict=True):
            if any(needle in low for needle in needles):
                return line[:300]
        return None

    where = site.key
    if line := find("remote host identification has changed", "revoked host key",
                    "host key verification failed", "was revoked"):  # fmt: skip
        revoked = find("revoked")
        what = "is REVOKED in known_hosts" if revoked else "was not accepted"
        if identity is not None:
            return IdentityNotTrusted(f"The host key of {where} {what} (ssh: {line})", identity)
        return ConnectFailed(f"ssh refused the host key on the way to {where}: {line}", reply=line)
    if line := find("permission denied", "too many authentication failures",
                    "no more authentication methods"):  # fmt: skip
        who = f"{site.user}@" if site.user else ""
        return AuthFailed(f"{who}{where} refused the login ({line})", reply=line)
    if line := find("subsystem request failed"):
        return NotSupported(f"{where} offers no SFTP: its sshd has no sftp subsystem", reply=line)
    if line := find("could not resolve hostname"):
        return ConnectFailed(f"Unknown host {site.host}: ssh could not resolve it", reply=line)
    if line := find("connection refused"):
        return ConnectFailed(f"{where} refused the connection", reply=line)
    if line := find("timed out"):
        return ConnectFailed(f"{where} did not answer in time", reply=line)
    if line := find("no route to host", "network is unreachable", "host is unreachable"):
        return ConnectFailed(f"{where} is unreachable ({line})", reply=line)
    if line := find("kex_exchange_identification", "connection closed by", "connection reset",
                    "stdio forwarding failed", "channel 0: open failed"):  # fmt: skip
        return ConnectFailed(
            f"{where} closed the connection before SFTP began ({line})", reply=line
        )
    meaningful = [line for line, low in zip(lines, lower, strict=True)
                  if not low.startswith(_NOISE)]  # fmt: skip
    if status == 255 and meaningful:
        return ConnectFailed(f"ssh could not connect to {where}: {meaningful[-1][:300]}")
    if status == 255:
        return ConnectFailed(f"ssh could not connect to {where} (it said nothing)")
    detail = f": {meaningful[-1][:300]}" if meaningful else ""
    return ConnectionLost(f"The SSH connection to {where} ended (ssh exit {status}){detail}")


def explain_hop(text: str, hop: Site, following: str, site: str) -> FerrymanError | None:
    """What a jump host's ssh logged (``sshjump``), as the error of the connection to
    ``site``, or None when it logged no failure. ``following`` is the host it leads to: a
    jump host that cannot open the way there says so itself (``channel 0: open failed``)."""
    lines = [printable(line.strip()) for line in text.splitlines() if line.strip()]
    meaningful = [line for line in lines if not line.lower().startswith(_NOISE)]
    if not meaningful:
        return None
    needles = ("channel 0: open failed", "stdio forwarding failed", "administratively prohibited")
    onward = [line for line in meaningful if any(needle in line.lower() for needle in needles)]
    if onward:
        return ConnectFailed(
            f"The ProxyJump host {hop.key} could not reach {following} on the way to {site} "
            f"({onward[0][:300]})", reply=onward[0][:300],
        )  # fmt: skip
    error = explain(text, 255, hop, None)
    error.message = f"On the way to {site} (ProxyJump): {error.message}"
    error.args = (error.message,)
    return error


def resolved(
    base: list[str], host: str, port: int | None = None, user: str | None = None
) -> dict[str, str]:
    """What ssh's configuration says for a destination, as ``ssh -G`` prints it (keys in
    lower case, each with the rest of its first line); empty when ``ssh -G`` fails.
    ``base`` is ``ssh_command()``'s (ssh, and ``-F CONFIG`` when set)."""
    query = [*base, "-G"]
    if port is not None:
        query += ["-p", str(port)]
    if user:
        query += ["-l", user]
    try:
        result = subprocess.run(
            [*query, "--", host], stdin=subprocess.DEVNULL, capture_output=True,
            timeout=10, start_new_session=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return {}
    found: dict[str, str] = {}
    if result.returncode != 0:
        return found
    for line in result.stdout.decode("utf-8", "surrogateescape").splitlines():
        key, _, value = line.partition(" ")
        found.setdefault(key.lower(), value)
    return found


def files_in(config: dict[str, str]) -> tuple[str, ...]:
    """The known_hosts files a resolved configuration names (user files first), with ``~``
    expanded as ssh does (the account's home, not ``$HOME``); OpenSSH's defaults when it
    names none."""
    files = (config.get("userknownhostsfile", "").split()
             + config.get("globalknownhostsfile", "").split())  # fmt: skip
    return tuple(_expand(name) for name in (files or DEFAULT_FILES) if name != "none")


def known_hosts_files(command: list[str], site: Site) -> tuple[str, ...]:
    """The known_hosts files ssh reads for ``site``, as ``ssh -G`` reports them."""
    base = command[:3] if command[1:2] == ["-F"] else command[:1]
    port = site.port if site.port != 22 else None
    return files_in(resolved(base, site.host, port, site.user))


def _expand(name: str) -> str:
    if name.startswith("~/") or name == "~":
        try:
            home = pwd.getpwuid(os.getuid()).pw_dir
        except KeyError:
            home = os.path.expanduser("~")
        return home + name[1:]
    return name


# --- host certificates ------------------------------------------------------------------------

#: A certificate's public-key fields, by the plain key type (PROTOCOL.certkeys).
_KEY_FIELDS = {
    "ssh-rsa": 2, "ssh-dss": 4, "ssh-ed25519": 1, "ecdsa-sha2-nistp256": 2,
    "ecdsa-sha2-nistp384": 2, "ecdsa-sha2-nistp521": 2, "sk-ssh-ed25519@openssh.com": 2,
    "sk-ecdsa-sha2-nistp256@openssh.com": 3,
}  # fmt: skip
_CERT_SUFFIX = "-cert-v01@openssh.com"


def _strings(blob: bytes, offset: int, count: int) -> tuple[list[bytes], int]:
    """``count`` SSH strings from ``offset``; raises ValueError past the end."""
    found = []
    for _ in range(count):
        if offset + 4 > len(blob):
            raise ValueError("truncated")
        size = int.from_bytes(blob[offset : offset + 4], "big")
        if offset + 4 + size > len(blob):
            raise ValueError("truncated")
        found.append(blob[offset + 4 : offset + 4 + size])
        offset += 4 + size
    return found, offset


def plain_type(certificate_type: str) -> str:
    """``ssh-ed25519-cert-v01@openssh.com`` → ``ssh-ed25519`` (security-key types keep
    their ``@openssh.com``)."""
    base = certificate_type.removesuffix(_CERT_SUFFIX)
    return base + "@openssh.com" if base.startswith("sk-") else base


def certificate_keys(blob: bytes) -> tuple[str, bytes, bytes] | None:
    """An OpenSSH host certificate's plain key and signing CA key: (plain key type, plain
    key blob, CA key blob), or None when ``blob`` is not a certificate this reads. The
    signature is not checked here: ssh checks it (and the names and dates) itself."""
    try:
        (name, _nonce), offset = _strings(blob, 0, 2)
        kind = plain_type(name.decode("ascii"))
        if not name.decode("ascii").endswith(_CERT_SUFFIX) or kind not in _KEY_FIELDS:
            return None
        start = offset
        _, offset = _strings(blob, offset, _KEY_FIELDS[kind])
        fields = blob[start:offset]
        offset += 8 + 4  # serial, type
        _, offset = _strings(blob, offset, 2)  # key id, principals
        offset += 16  # valid after, valid before
        (_, _, _, authority, _), _ = _strings(blob, offset, 5)
    except (ValueError, UnicodeDecodeError):
        return None
    encoded = kind.encode("ascii")
    return kind, len(encoded).to_bytes(4, "big") + encoded + fields, authority


def listed_authority(files: tuple[str, ...], name: str, authority: bytes) -> str | None:
    """Where a known_hosts file lists ``authority`` as ``@cert-authority`` for ``name``
    (``file:line``), asked of ``ssh-keygen -F`` so that the matching is ssh's own (hashed
    names, wildcards, negation); None when none does."""
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        return None
    import base64

    wanted = base64.b64encode(authority).decode("ascii")
    for path in files:
        if not os.path.isfile(path):
            continue
        try:
            result = subprocess.run(
                [keygen, "-F", name, "-f", path], stdin=subprocess.DEVNULL,
                capture_output=True, timeout=10, start_new_session=True,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            continue
        line_number = "?"
        for line in result.stdout.decode("utf-8", "replace").splitlines():
            if line.startswith("# Host ") and " found: line " in line:
                line_number = line.split(" found: line ")[1].split()[0]
            fields = line.split()
            if fields[:1] == ["@cert-authority"] and wanted in fields[2:]:
                return f"{path}:{line_number}"
    return None
