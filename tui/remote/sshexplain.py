"""Provides what the SSH channel learns from ssh itself: its stderr explained as one clear
error, and the known_hosts files its configuration names for a host (``ssh -G``).

ssh's messages are stable English (``Permission denied (publickey,password).``,
``Could not resolve hostname``, ``subsystem request failed``); each is mapped to the error a
user of any backend meets (``AuthFailed``, ``ConnectFailed``, ``NotSupported``,
``IdentityNotTrusted``), with ssh's own line kept as the error's ``reply``.
"""

from __future__ import annotations

import os
import pwd
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
        return ConnectFailed(f"{where} closed the connection before SFTP began ({line})", reply=line)
    meaningful = [line for line, low in zip(lines, lower, strict=True)
                  if not low.startswith(_NOISE)]  # fmt: skip
    if status == 255 and meaningful:
        return ConnectFailed(f"ssh could not connect to {where}: {meaningful[-1][:300]}")
    if status == 255:
        return ConnectFailed(f"ssh could not connect to {where} (it said nothing)")
    detail = f": {meaningful[-1][:300]}" if meaningful else ""
    return ConnectionLost(f"The SSH connection to {where} ended (ssh exit {status}){detail}")


def known_hosts_files(command: list[str], site: Site) -> tuple[str, ...]:
    """The known_hosts files ssh reads for ``site``, as ``ssh -G`` reports them (user files
    first), with ``~`` expanded as ssh does (the account's home, not ``$HOME``); OpenSSH's
    defaults when ``ssh -G`` cannot say."""
    base = command[:3] if command[1:2] == ["-F"] else command[:1]
    query = [*base, "-G"]
    if site.port != 22:
        query += ["-p", str(site.port)]
    if site.user:
        query += ["-l", site.user]
    try:
        result = subprocess.run(
            [*query, "--", site.host], stdin=subprocess.DEVNULL, capture_output=True,
            timeout=10, start_new_session=True,
        )  # fmt: skip
        said = result.stdout.decode("utf-8", "surrogateescape").splitlines()
    except (OSError, subprocess.SubprocessError):
        said = []
    found: dict[str, list[str]] = {}
    for line in said:
        key, _, value = line.partition(" ")
        if key in ("userknownhostsfile", "globalknownhostsfile"):
            found[key] = value.split()
    files = found.get("userknownhostsfile", []) + found.get("globalknownhostsfile", [])
    return tuple(_expand(name) for name in (files or DEFAULT_FILES) if name != "none")


def _expand(name: str) -> str:
    if name.startswith("~/") or name == "~":
        try:
            home = pwd.getpwuid(os.getuid()).pw_dir
        except KeyError:
            home = os.path.expanduser("~")
        return home + name[1:]
    return name
