"""Provides ConnectionService: turns a URL or a Site into an open, logged-in session.

This is the one door to the servers for the app and the CLI alike. It resolves credentials
(URL, then ``~/.netrc``, then a prompt callback, else anonymous), opens the session with the
right TLS mode, and asks its certificate decider when a certificate does not verify.
Issue 3 puts the per-site trust store behind that decider.

Thread-safe: it holds only settings; every ``open`` makes a new session, which belongs to
the calling thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tui.remote.ftp import FTPFS
from tui.remote.ftpcontrol import LogCallback
from tui.remote.tls import CertificateDecider, refuse_all
from tui.sites import Site, netrc_credentials, parse_url

PasswordPrompt = Callable[[Site], str | None]
"""Asked for a password when a user name is known but no password is; ``None`` cancels."""


class ConnectionService:
    """Opens sessions.

    Args:
        decider: Judges certificates that do not verify; the default refuses them all.
        password_prompt: Asked when a user has no password in the URL or netrc.
        log: Receives every session's protocol conversation (password masked).
        timeout: Seconds for connecting and for each socket operation.
        ca_file: Extra trusted CA certificates (PEM).
        netrc_file: Where to look for credentials instead of ``~/.netrc``.
        tls: Overrides the TLS mode of plain ``ftp://`` sites (``"auto"`` tries AUTH TLS).
        passive: Passive (default) or active data connections.
    """

    def __init__(
        self,
        *,
        decider: CertificateDecider = refuse_all,
        password_prompt: PasswordPrompt | None = None,
        log: LogCallback | None = None,
        timeout: float = 30.0,
        ca_file: str | None = None,
        netrc_file: str | None = None,
        tls: str | None = None,
        passive: bool = True,
    ) -> None:
        self.decider = decider
        self.password_prompt = password_prompt
        self.log = log
        self.timeout = timeout
        self.ca_file = ca_file
        self.netrc_file = netrc_file
        self.tls = tls
        self.passive = passive

    def site_for(self, target: str | Site) -> Site:
        """Parse a URL (or copy a Site) and apply this service's settings and credentials.

        Raises:
            UsageError: the URL is malformed.
            ConfigError: ``~/.netrc`` cannot be read.
        """
        site = parse_url(target) if isinstance(target, str) else dataclasses.replace(target)
        if self.tls and site.tls == "none":
            site.tls = self.tls
        site.passive = self.passive
        return self._with_credentials(site)

    def _with_credentials(self, site: Site) -> Site:
        if site.password is not None:
            return site
        found = netrc_credentials(site.host, site.user, self.netrc_file)
        if found:
            site.user, site.password = found
            return site
        if site.user is None or site.user in ("anonymous", "ftp"):
            site.user = site.user or "anonymous"
            site.password = "anonymous@"
            return site
        if self.password_prompt is not None:
            site.password = self.password_prompt(site)
        return site

    def open(self, target: str | Site) -> FTPFS:
        """Connect and log in.

        Raises:
            UsageError, ConfigError, ConnectFailed, TLSNotOffered, TLSError,
            CertificateNotTrusted, AuthFailed, ConnectionLost, ProtocolError.
        """
        site = self.site_for(target)
        session = FTPFS(
            site, timeout=self.timeout, ca_file=self.ca_file, decider=self.decider, log=self.log
        )
        return session.connect()
