"""Provides the options of every ssh Ferryman runs, and the ProxyJump chain it runs itself,
so that a jump host's key is judged by the same trust policy as the site's.

Options on ssh's command line apply to the destination only. With ssh's own ProxyJump, the
ssh it starts for the jump host checks that host's key against known_hosts alone, and asks
"continue connecting (yes/no)?" about one it does not know (a yes would write known_hosts).
So when ``ssh -G`` says the destination has a ``ProxyJump``, :func:`route` replaces it by
what ssh would have run, ``ssh -W '[%h]:%p' JUMP``, with the same :func:`safety_options`
as the destination's and a ``KnownHostsCommand`` that names the hop, ``known-hosts … N``
(``tui.remote.sshchannel`` hands hop N's key to the policy under the hop's own site,
``host:port``): ``-oProxyJump=none -oProxyCommand=…``. For ``ProxyJump a,b`` the hop to
``b`` is itself run through ``a`` (as ssh's ``-J a``), and a jump host whose own
configuration has a ``ProxyJump`` is reached through that one, so every hop of a chain is
judged, nearest first; a chain longer than MAX_HOPS (a loop) is an error. The jump host's
own ``User``, ``Port``, ``IdentityFile``… apply, since ssh is run for ``JUMP`` as written; a
user or port written in the ProxyJump wins, as ``-l``/``-p`` (as ssh's own ``-J`` passes
them). A jump host's ssh shares no ControlMaster, not even one the user's configuration
names: its key is judged each time (the site's shared connection keeps its jump open, so
that is once per shared connection). A ``ProxyCommand`` in the user's configuration
(rather than a ``ProxyJump``) is left alone.

ssh runs a ProxyCommand through the user's shell (``exec`` + the command) after expanding
its ``%`` tokens: each argument is quoted with ``shlex.quote`` and every ``%`` doubled, but
for the ``[%h]:%p`` that names where to go next.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from tui.errors import ConfigError
from tui.identity import SSH_HOST_KEY, show_fingerprint
from tui.remote import sshbridge
from tui.remote.sshbridge import escape_percent
from tui.remote.sshexplain import files_in, resolved
from tui.textsafe import printable

if TYPE_CHECKING:
    from tui.remote.base import SessionSettings
    from tui.sites import Site

MAX_HOPS = 8  # a longer chain is a loop in the configuration (a ProxyJump b, b ProxyJump a)


class Hop(NamedTuple):
    """One jump host, as a ProxyJump names it.

    Attributes:
        host: As written: an alias of the user's configuration, a name or an address.
        port: As written, or None (the host's configured ``Port``).
        user: As written, or None (the host's configured ``User``).
    """

    host: str
    port: int | None = None
    user: str | None = None

    @property
    def key(self) -> str:
        """The trust store's key for it, as for ``sftp://host[:port]/``: ``host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port or 22}"


class Route(NamedTuple):
    """How to reach the destination: ssh's options, and the hops numbered from 1 (the
    first host connected to) with the known_hosts files each one's configuration names,
    and where each hop's ssh logs (``-E``; none when ``route`` was given no place)."""

    options: list[str]
    hops: list[tuple[Hop, tuple[str, ...]]]
    logs: tuple[str, ...] = ()


def safety_options(settings: SessionSettings, hop: int | None = None) -> list[str]:
    """The options every ssh Ferryman runs gets: the site's, or jump host ``hop``'s (whose
    KnownHostsCommand names it, and which shares no connection: its key is judged anew)."""
    runtime = sshbridge.runtime()
    helper = sshbridge.escape_percent(runtime.helper)
    which = f" {hop}" if hop is not None else ""
    options = [
        # As sftp(1) runs ssh: no terminal, agent or X11 forwarding, no forwardings, no
        # RemoteCommand, and no LocalCommand (its output would land in the SFTP stream).
        "-T", "-a", "-x",
        "-oClearAllForwardings=yes",
        "-oRemoteCommand=none",
        "-oPermitLocalCommand=no",
        "-oLogLevel=INFO",  # what failure() reads, whatever a config's LogLevel says
        "-oStrictHostKeyChecking=yes",
        "-oUpdateHostKeys=no",
        # CheckHostIP would add the server's address to known_hosts even under strict
        # checking (ssh skips it for loopback addresses, so no test here shows it).
        "-oCheckHostIP=no",
        f'-oKnownHostsCommand="{helper}" known-hosts %I %H %t %f %K{which}',
        "-oNumberOfPasswordPrompts=1",
        f"-oConnectTimeout={max(1, math.ceil(settings.timeout))}",
        # A server that stops answering (even in the middle of the key exchange, where
        # nothing else bounds the wait) is dropped after about the session's timeout.
        f"-oServerAliveInterval={max(1, math.ceil(settings.timeout / 3))}",
        "-oServerAliveCountMax=3",
    ]  # fmt: skip
    if hop is not None:
        options += ["-oControlMaster=no", "-oControlPath=none"]
    return options


def site_route(
    base: list[str], site: Site, settings: SessionSettings
) -> tuple[Route, tuple[str, ...]]:
    """The jump chain to the site (``sshjump``) and the site's known_hosts files, from what
    ``ssh -G`` says of the site.

    Raises:
        ConfigError: a ProxyJump Ferryman cannot read, or a loop.
    """
    config = resolved(base, site.host, site.port if site.port != 22 else None, site.user)
    # Each hop's ssh logs to a file of its own: with ControlPersist, ssh sends a
    # ProxyCommand's stderr to /dev/null, and a jump host's failure would go unexplained.
    logs = os.path.join(sshbridge.runtime().directory, f"log-jump-{secrets.token_hex(8)}-")
    jumps = route(base, config, lambda hop: safety_options(settings, hop), site.host, logs)
    return jumps, files_in(config)


def parse_jump(spec: str) -> list[Hop]:
    """A ProxyJump value (``[user@]host[:port]`` or ``ssh://[user@]host[:port]``, comma
    separated, as ``ssh -G`` prints it) as hops, in the order they are visited; ``[]`` for
    ``none``. The user is everything before the last ``@``, as ssh reads it; an IPv6 address
    with a port is in brackets. A hop is named in printable characters only.

    Raises:
        ConfigError: a hop that ssh would not accept either.
    """
    if spec.strip().lower() in ("", "none"):
        return []
    hops = []
    for part in spec.split(","):
        text = part.strip()
        if text[:6].lower() == "ssh://":
            text = text[6:].removesuffix("/")
        user, at, rest = text.rpartition("@")
        host, port = _host_port(rest)
        # Nor a name with terminal escapes or invisible characters (ssh takes them): it
        # would reach the screen, the trust store and the advice to trust it as it stands.
        unsafe = printable(text) != text or any(c.isspace() or c in "'\"\\%" for c in text)
        if not host or (at and not user) or unsafe:
            raise ConfigError(f"ssh's ProxyJump {printable(spec)[:200]!r} names a hop Ferryman "
                              f"cannot read: {printable(part)[:100]!r}")  # fmt: skip
        hops.append(Hop(host, port, user if at else None))
    return hops


def _host_port(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; ``("", None)`` if it is none."""
    port_text = ""
    if text.startswith("["):
        host, bracket, after = text[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            return "", None
        port_text = after[1:] if after else ""
        if after and not port_text:
            return "", None
    else:
        host, colon, port_text = text.partition(":")
        if colon and not port_text:
            return "", None
    if not port_text:
        return host, None
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) <= 65535:
        return "", None
    return host, int(port_text)


def jumps_of(config: dict[str, str], name: str) -> list[Hop]:
    """The hops a resolved configuration's ``ProxyJump`` names, its tokens (``%h``, ``%n``,
    ``%p``, ``%r``, ``%%``; ``ssh -G`` prints them unexpanded) expanded as ssh would for the
    host called ``name``.

    Raises:
        ConfigError: a token ssh does not allow there, or a hop that cannot be read.
    """
    spec = config.get("proxyjump", "")
    if "%" in spec:
        values = {"%": "%", "h": config.get("hostname", name), "n": name,
                  "p": config.get("port", "22"), "r": config.get("user", "")}  # fmt: skip

        def expand(match: re.Match[str]) -> str:
            if match.group(1) not in values:
                token = printable(match.group(0))
                raise ConfigError(f"ssh's ProxyJump {printable(spec)[:200]!r} holds a token "
                                  f"Ferryman cannot expand: {token!r}")  # fmt: skip
            return values[match.group(1)]

        spec = re.sub(r"%(.?)", expand, spec, flags=re.DOTALL)
    return parse_jump(spec)


def route(
    base: list[str],
    destination: dict[str, str],
    options_for: Callable[[int], list[str]],
    name: str = "",
    logs: str | None = None,
) -> Route:
    """The options that take ssh to the destination through Ferryman's own jump chain.

    Args:
        base: ``ssh_command()``'s (ssh, and ``-F CONFIG`` when set).
        destination: The destination's resolved configuration (``sshexplain.resolved``).
        options_for: The options of the ssh for hop N (its ``KnownHostsCommand`` names N).
        name: The destination as given to ssh (``%n`` in its ProxyJump).
        logs: Hop N's ssh logs to this path + N (``-E``), when given.

    Raises:
        ConfigError: a ProxyJump that cannot be read, or a chain of more than MAX_HOPS.
    """
    hops: list[tuple[Hop, tuple[str, ...]]] = []

    def command_for(chain: list[Hop], depth: int) -> str:
        """The ProxyCommand that reaches ``%h``:``%p`` through ``chain``'s last hop."""
        if depth > MAX_HOPS:
            raise ConfigError(
                f"ssh's ProxyJump chain is longer than {MAX_HOPS} hops: a loop in its "
                "configuration?"
            )
        last, before = chain[-1], chain[:-1]
        config = resolved(base, last.host, last.port, last.user)
        # The hops written before it lead to it (ssh's -J); else its own ProxyJump, if any.
        inner = before or jumps_of(config, last.host)
        through = command_for(inner, depth + 1) if inner else None
        hops.append((last, files_in(config)))
        argv = [*base, *options_for(len(hops))]
        if logs is not None:
            argv += ["-E", f"{logs}{len(hops)}"]
        if last.port is not None:
            argv += ["-p", str(last.port)]
        if last.user:
            argv += ["-l", last.user]
        if through is not None:
            argv += ["-oProxyJump=none", f"-oProxyCommand={through}"]
        return (f"{escape_percent(shlex.join(argv))} -W '[%h]:%p' "
                f"{escape_percent(shlex.join(['--', last.host]))}")  # fmt: skip

    chain = jumps_of(destination, name)
    if not chain:
        return Route([], [])
    command = command_for(chain, 1)
    made = tuple(f"{logs}{number}" for number in range(1, len(hops) + 1)) if logs else ()
    return Route(["-oProxyJump=none", f"-oProxyCommand={command}"], hops, made)


def jump_refusal(error: Exception, hop: str, site: str) -> str:
    """The one line for a jump host's refused key: the policy's refusal (``error``, whose
    ``certificate`` is the report) told as the jump host's, and how to trust it, since
    ``--trust`` names the site's own key only."""
    report = getattr(error, "certificate", None)
    verdict, shown = getattr(report, "verdict", ""), getattr(report, "fingerprint", "")
    where = f"the ProxyJump host {hop} (on the way to {site})"
    add = f"ferryman trust add sftp://{hop.removesuffix(':22')}/ --fingerprint {shown}"
    if getattr(report, "revocation", "") == "revoked" or not shown:
        return str(error).replace(f" of {hop} ", f" of {where} ", 1)
    if verdict == "changed":
        previous = show_fingerprint(getattr(report, "previous", "") or "", SSH_HOST_KEY)
        return (
            f"WARNING: the host key of {where} has CHANGED since you trusted it (trusted "
            f"{previous}, now {shown}). This may be an attack; accept only if its owner "
            f"confirms the new fingerprint: {add}"
        )
    reasons = "; ".join(getattr(report, "all_problems", None) or []) or "not trusted"
    return (
        f"The host key of {where} is not trusted ({reasons}); {shown}. --trust names "
        f"{site}'s key only: trust this host with {add}, or list it in known_hosts"
    )
