"""Provides ConnectionService: turns a URL or a Site into an open, logged-in session.

This is the one door to the servers for the app and the CLI alike. It chooses the backend
by the site's protocol through the registry (``tui.backends``: the URL's scheme chose it),
opens the backend's session with the service's settings, and owns the trust store and the
TrustPolicy that judges every peer identity the backends meet, of whatever kind (asking the
TrustPrompt, the app's viewer for that kind, when one is not trusted).

Credentials (URL, then ``~/.netrc``, then the system keyring, then a prompt callback;
anonymous when there is no user) are resolved lazily, when a session reaches login: the
host has resolved, the transport's security is settled (a refused downgrade stops here,
before USER) and the certificate is accepted, so no credential leaves the machine, or is
asked for, before then (DESIGN.md, safety invariants). ``cert`` never asks at all.

Thread-safe: settings, a thread-safe policy and store; every ``open`` makes a new session,
which belongs to the calling thread.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from tui import keychain
from tui.backends import OptionValue
from tui.errors import AuthFailed, TLSDowngrade, UsageError
from tui.remote.base import (
    OTHER_HOST_PROMPT,
    LogCallback,
    MinimumProgress,
    RemoteFS,
    Session,
    SessionSettings,
)
from tui.sites import Site, check_credentials, netrc_credentials, parse_url
from tui.trust import hostkey  # noqa: F401  (registers the SSH host-key rules)
from tui.trust.kinds import Report
from tui.trust.policy import TrustPolicy, TrustPrompt
from tui.trust.store import TrustStore

if TYPE_CHECKING:  # they import cryptography: only a certificate to judge needs them
    from tui.trust.revocation import RevocationChecker

PasswordPrompt = Callable[[Site], str | None]
"""Asked for a password when a user name is known but no password is; ``None`` cancels."""

Ask = Callable[[str, bool], str | None]
"""Answers a transport's own prompt (an ssh key passphrase, a one-time code): called with
the prompt's text and whether the answer may be echoed; ``None`` cancels."""

# ssh's password prompts: "user@host's password:", "Password:", "(user@host) Password:".
_PASSWORD_PROMPT = re.compile(r"password[^:]*:\s*$", re.IGNORECASE)
_PROMPT_USER = re.compile(r"^\(?([^@()\s]+)@[^@\s]+?(?:'s password:|\) password:)", re.IGNORECASE)


class ConnectionService:
    """Opens sessions.

    Args:
        store: The per-site trust store (default: the user's data directory).
        prompt: Asked when a peer identity is not trusted; ``None`` refuses (the CLI).
        trust: SHA-256 fingerprints to accept for this run (``--trust``), hex or OpenSSH.
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
        options: Other backend options for this run, by name (``tui.backends.Option``);
            each applies to the sites whose backend declares it.
        ask: Answers a transport's prompts other than a password's (ssh's key passphrases
            and one-time codes); a password prompt takes the usual road (URL, netrc,
            keyring, ``password_prompt``). None: such a prompt fails the login.
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
        options: dict[str, OptionValue] | None = None,
        ask: Ask | None = None,
    ) -> None:
        self.store = store or TrustStore()
        self.policy = TrustPolicy(
            self.store,
            ca_file=ca_file,
            prompt=prompt,
            fingerprints=trust,
            require_revocation=require_revocation,
            revocation=_revocation(min(timeout, 5.0)) if check_revocation else None,
        )
        self.allow_downgrade = allow_downgrade
        self.password_prompt = password_prompt
        self.log = log
        self.timeout = timeout
        self.ca_file = ca_file
        self.netrc_file = netrc_file
        self.tls = tls
        self.passive = passive
        self.options = dict(options or {})
        self.ask = ask
        # Credentials found for (site, user given): parallel sessions and reconnects of one
        # run ask once. The lock also keeps two sessions from prompting at the same time.
        self._credentials: dict[tuple[str, str | None], tuple[str, str | None]] = {}
        self._credentials_lock = threading.Lock()
        self.min_progress = min_progress

    def site_for(self, target: str | Site) -> Site:
        """Parse a URL (or copy a Site) and apply this service's settings. Credentials that
        the URL does not hold are left unresolved: ``open`` finds them at login.

        Raises:
            UsageError: the URL is malformed.
        """
        site = parse_url(target) if isinstance(target, str) else dataclasses.replace(target)
        overrides: dict[str, OptionValue] = {**self.options, "passive": self.passive}
        if self.tls:
            overrides["tls"] = self.tls
        for option in site.backend.options:
            if option.name not in overrides:
                continue
            if option.override == "default" and site.options.get(option.name) != option.default:
                continue  # e.g. --tls auto upgrades ftp:// but leaves ftpes:// as it is
            site.options[option.name] = overrides[option.name]
        return site

    def with_credentials(self, site: Site) -> Site:
        """Fill in ``site``'s user and password (in place) and return it.

        Raises:
            ConfigError: ``~/.netrc`` cannot be read.
            UsageError: a user or password holds a line break.
            AuthFailed: the prompt cannot ask (no terminal).
        """
        if site.password is not None:
            check_credentials(site.user, site.password, "the site")
            return site
        given = (site.key, site.user)
        with self._credentials_lock:
            if given not in self._credentials:
                self._credentials[given] = self._find_credentials(site)
            site.user, site.password = self._credentials[given]
        return site

    def _find_credentials(self, site: Site) -> tuple[str, str | None]:
        found = netrc_credentials(site.host, site.user, self.netrc_file)
        if found:
            return found
        if site.user is None or site.user in ("anonymous", "ftp"):
            return site.user or "anonymous", "anonymous@"
        password = keychain.load(site.user, site.key)
        if password is None and self.password_prompt is not None:
            password = self.password_prompt(site)
        check_credentials(site.user, password, "the prompt")
        return site.user, password

    def _before_login(self, site: Site, secure: bool) -> None:
        """Called by the session once connected and secured, before USER is sent."""
        if not secure and site.backend.features.can_be_plain and site.tls == "auto":
            if not self.allow_downgrade and self.store.used_tls(site.key):
                raise TLSDowngrade(
                    f"{site.key} spoke TLS before but now offers only plain FTP: possibly an "
                    "attacker removing encryption. Refused before sending the user name; use "
                    "--allow-downgrade if you are sure"
                )
        self.with_credentials(site)

    def open(self, target: str | Site) -> RemoteFS:
        """Connect and log in.

        Raises:
            UsageError, ConfigError, ConnectFailed, TLSNotOffered, TLSError, TLSDowngrade,
            CertificateNotTrusted, AuthFailed, ConnectionLost, ProtocolError.
        """
        site = self.site_for(target)
        given = (site.key, site.user)
        try:
            session = self._session(site).connect()
        except AuthFailed:
            with self._credentials_lock:  # a wrong password is asked again next time
                self._credentials.pop(given, None)
                self._credentials.pop((site.key, site.user), None)  # a user ssh named
            raise
        if site.backend.features.can_be_plain and session.security.encrypted:
            self.store.mark_tls(site.key)  # from now on, plain is a downgrade
        return session

    def fetch_report(self, target: str | Site) -> Report:
        """Fetch and judge a site's identity without logging in (``ferryman cert``).

        Raises:
            UsageError (plain ftp://, or a backend that cannot), ConnectFailed,
            TLSNotOffered, TLSError.
        """
        site = self.site_for(target)
        if not site.backend.features.fetch_identity:
            raise UsageError(f"{site.url()}: {site.backend.title} cannot show an identity")
        return self.policy.evaluate(self._session(site).fetch_identity())

    def _session(self, site: Site) -> Session:
        """The site's backend's session, made by the factory the registry names."""
        settings = SessionSettings(
            timeout=self.timeout,
            ca_file=self.ca_file,
            decider=self.policy.decide,
            log=_masking(self.log, site) if self.log else None,
            before_login=self._before_login,
            min_progress=self.min_progress,
            ask=self._asker(site),
        )
        session: Session = site.backend.factory()(site, settings)
        return session

    def _asker(self, site: Site) -> Ask:
        """The session's prompt callback: a password prompt is answered with the site's
        password, found now (after the identity is accepted) as for any login; other
        prompts go to ``ask``."""

        def ask(prompt: str, echo: bool) -> str | None:
            if _PASSWORD_PROMPT.search(prompt) and not prompt.startswith(OTHER_HOST_PROMPT):
                if site.user is None and (named := _PROMPT_USER.match(prompt.strip())):
                    site.user = named.group(1)  # the user ssh's configuration chose
                if site.user is not None:
                    self.with_credentials(site)
                    return site.password
            if self.ask is not None:
                return self.ask(prompt, echo)
            raise AuthFailed(f"{prompt.strip()[:200]!r}: nobody can answer here")

        return ask


class _RevocationOnDemand:
    """A RevocationChecker made at the first certificate that names a revocation source:
    its module imports cryptography's OCSP and CRL parsers, which most commands never
    need (issue 23). Thread-safe."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._checker: RevocationChecker | None = None
        self._lock = threading.Lock()

    def check(
        self, chain: list[Any], anchors: Any, *, now: datetime | None = None
    ) -> tuple[str, str]:
        with self._lock:
            if self._checker is None:
                from tui.trust.revocation import RevocationChecker

                self._checker = RevocationChecker(timeout=self.timeout)
        return self._checker.check(chain, anchors, now=now)


def _revocation(timeout: float) -> RevocationChecker:
    return cast("RevocationChecker", _RevocationOnDemand(timeout))


def _masking(log: LogCallback, site: Site) -> LogCallback:
    """``log`` with the site's password masked in what the server says: a server may echo
    it (``530 wrong password …``). PASS itself is masked by the control connection. The
    password is read at each line: it is found only at login."""

    def masked(direction: str, line: str) -> None:
        if direction == "<" and site.password:
            line = line.replace(site.password, "****")
        log(direction, line)

    return masked
