"""Provides ConnectionService: turns a URL or a Site into an open, logged-in session.

This is the one door to the servers for the app and the CLI alike. It resolves credentials
(URL, then ``~/.netrc``, then the system keyring, then a prompt callback; anonymous when
there is no user), opens the session with the
right TLS mode, and owns the trust store and the TrustPolicy that judges every certificate
(asking the TrustPrompt, the app's certificate modal, when one is not trusted).

Thread-safe: settings, a thread-safe policy and store; every ``open`` makes a new session,
which belongs to the calling thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tui import keychain
from tui.errors import TLSDowngrade
from tui.remote.ftp import FTPFS
from tui.remote.ftpcontrol import LogCallback
from tui.remote.ftpio import MinimumProgress
from tui.sites import Site, netrc_credentials, parse_url
from tui.trust.certificate import CertificateReport
from tui.trust.policy import TrustPolicy, TrustPrompt
from tui.trust.revocation import RevocationChecker
from tui.trust.store import TrustStore

PasswordPrompt = Callable[[Site], str | None]
"""Asked for a password when a user name is known but no password is; ``None`` cancels."""


class ConnectionService:
    """Opens sessions.

    Args:
        store: The per-site trust store (default: the user's data directory).
        prompt: Asked when a certificate is not trusted; ``None`` refuses (the CLI).
        trust: SHA-256 fingerprints to accept for this run (``--trust``).
        require_revocation: Refuse certificates whose revocation cannot be checked.
        check_revocation: Ask OCSP responders and CRLs at all.
        allow_downgrade: Let ``tls="auto"`` fall back to plain FTP on a site that spoke
            TLS before.
        password_prompt: Asked when a user has no password in the URL or netrc.
        log: Receives every session's protocol conversation (password masked).
        timeout: Seconds for connecting and for each socket operation.
        ca_file: Extra trusted CA certificates (PEM).
        netrc_file: Where to look for credentials instead of ``~/.netrc``.
        tls: Overrides the TLS mode of plain ``ftp://`` sites (``"auto"`` tries AUTH TLS).
        passive: Passive (default) or active data connections.
        min_progress: When a data connection counts as stalled (curl's ``--speed-limit``
            and ``--speed-time``; build it with ``MinimumProgress.from_speed``). Default:
            less than 1 KiB in a whole ``timeout``; ``MinimumProgress(0)`` turns it off.
    """

    def __init__(
        self,
        *,
        store: TrustStore | None = None,
        prompt: TrustPrompt | None = None,
        trust: tuple[str, ...] | list[str] = (),
        require_revocation: bool = False,
        check_revocation: bool = True,
        allow_downgrade: bool = False,
        password_prompt: PasswordPrompt | None = None,
        log: LogCallback | None = None,
        timeout: float = 30.0,
        ca_file: str | None = None,
        netrc_file: str | None = None,
        tls: str | None = None,
        passive: bool = True,
        min_progress: MinimumProgress | None = None,
    ) -> None:
        self.store = store or TrustStore()
        self.policy = TrustPolicy(
            self.store,
            ca_file=ca_file,
            prompt=prompt,
            fingerprints=trust,
            require_revocation=require_revocation,
            revocation=RevocationChecker(timeout=min(timeout, 5.0)) if check_revocation else None,
        )
        self.allow_downgrade = allow_downgrade
        self.password_prompt = password_prompt
        self.log = log
        self.timeout = timeout
        self.ca_file = ca_file
        self.netrc_file = netrc_file
        self.tls = tls
        self.passive = passive
        self.min_progress = min_progress

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
        site.password = keychain.load(site.user, site.key)
        if site.password is None and self.password_prompt is not None:
            site.password = self.password_prompt(site)
        return site

    def open(self, target: str | Site) -> FTPFS:
        """Connect and log in.

        Raises:
            UsageError, ConfigError, ConnectFailed, TLSNotOffered, TLSError,
            CertificateNotTrusted, AuthFailed, ConnectionLost, ProtocolError.
        """
        site = self.site_for(target)
        session = self._session(site).connect()
        if session.tls is not None:
            self.store.mark_tls(site.key)
        elif site.tls == "auto" and not self.allow_downgrade and self.store.used_tls(site.key):
            session.close()
            raise TLSDowngrade(
                f"{site.key} spoke TLS before but now offers only plain FTP: possibly an "
                "attacker removing encryption. Refused; use --allow-downgrade if you are sure"
            )
        return session

    def fetch_report(self, target: str | Site) -> CertificateReport:
        """Fetch and judge a site's certificate without logging in (``ferryman cert``).

        Raises:
            UsageError (plain ftp://), ConnectFailed, TLSNotOffered, TLSError.
        """
        site = self.site_for(target)
        return self.policy.evaluate(self._session(site).fetch_certificate())

    def _session(self, site: Site) -> FTPFS:
        return FTPFS(
            site,
            timeout=self.timeout,
            ca_file=self.ca_file,
            decider=self.policy.decide,
            log=self.log,
            min_progress=self.min_progress,
        )
