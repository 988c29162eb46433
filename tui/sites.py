"""Provides the Site model (where to connect and how) and URL parsing.

URL paths follow curl and lftp: ``ftp://host/dir/file`` is relative to the directory the
server logs you into (on most servers that is ``/``), and ``ftp://host//abs/path`` or
``ftp://host/%2Fabs/path`` is absolute.
"""

from __future__ import annotations

import json
import netrc
import os
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from tui import backends
from tui.errors import ConfigError, UsageError

SCHEMES = backends.FTP.schemes  # the FTP backend's; every backend's: tui.backends
TLS_MODES = backends.TLS_MODES


@dataclass(slots=True, init=False)
class Site:
    """Everything needed to open a session.

    Attributes:
        host: Host name or IP address (IPv6 without brackets).
        port: TCP port.
        protocol: The backend that serves it (``tui.backends``): ``"ftp"`` for ftp://,
            ftpes:// and ftps://.
        options: The backend's settings (``tui.backends.Option``), apart from what every
            site has. FTP's are ``tls`` and ``passive``, also reachable as attributes.
        user: Login name; ``None`` means look it up (netrc) or log in anonymously.
        password: Never logged, shown or written in plain text.
        path: The remote path the user asked for: absolute, or relative to the login
            directory, or ``""`` for the login directory itself.
        encoding: The charset of names on this server.
        name: The saved site's name, if it came from the site manager.
        time_offset: Seconds to add to the server's file times when comparing folders (a
            server whose clock is wrong, or that lists local time as vsftpd may).
        limit_rate: Bytes per second for transfers with this site (``None``: the
            ``[transfers]`` setting); in sites.toml as curl writes it, ``"500K"``.
    """

    host: str
    port: int
    protocol: str
    options: dict[str, backends.OptionValue]
    user: str | None
    password: str | None = field(repr=False)
    path: str
    encoding: str
    name: str | None
    time_offset: float
    limit_rate: int | None

    def __init__(
        self,
        host: str,
        port: int,
        tls: str | None = None,
        user: str | None = None,
        password: str | None = None,
        path: str = "",
        passive: bool | None = None,
        encoding: str = "utf-8",
        name: str | None = None,
        time_offset: float = 0.0,
        *,
        protocol: str = "ftp",
        options: dict[str, backends.OptionValue] | None = None,
        limit_rate: int | None = None,
    ) -> None:
        self.host, self.port, self.protocol = host, port, protocol
        backend = backends.for_protocol(protocol)
        self.options = {**(backend.defaults() if backend else {}), **(options or {})}
        # FTP's options as keywords, as every site had them before there were backends.
        if tls is not None:
            self.options["tls"] = tls
        if passive is not None:
            self.options["passive"] = passive
        self.user, self.password, self.path = user, password, path
        self.encoding, self.name, self.time_offset = encoding, name, time_offset
        self.limit_rate = limit_rate

    @property
    def tls(self) -> str:
        """FTP's TLS mode: ``"none"`` (plain FTP), ``"auto"`` (AUTH TLS when offered),
        ``"explicit"`` (AUTH TLS required) or ``"implicit"`` (TLS from the first byte)."""
        return str(self.options.get("tls", "none"))

    @tls.setter
    def tls(self, value: str) -> None:
        self.options["tls"] = value

    @property
    def passive(self) -> bool:
        """FTP's data connections: passive (EPSV/PASV), else active (EPRT/PORT)."""
        return bool(self.options.get("passive", True))

    @passive.setter
    def passive(self, value: bool) -> None:
        self.options["passive"] = value

    @property
    def key(self) -> str:
        """``host:port``, the trust store's key (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def backend(self) -> backends.Backend:
        """The backend's declaration.

        Raises:
            UsageError: no backend of this protocol is registered.
        """
        backend = backends.for_protocol(self.protocol)
        if backend is None:
            raise UsageError(f"No backend for the protocol {self.protocol!r}")
        return backend

    @property
    def scheme(self) -> str:
        backend = backends.for_protocol(self.protocol)
        return backend.scheme_for(self.options) if backend else self.protocol

    def url(self, *, path: str | None = None) -> str:
        """The site's URL without the password, for messages and logs."""
        user = f"{quote(self.user, safe='')}@" if self.user else ""
        target = self.path if path is None else path
        if target.startswith("/"):
            target = "/" + target  # absolute paths keep their meaning (see module doc)
        return (
            f"{self.scheme}://{user}{self.key}/{quote(target, safe='/', errors='surrogateescape')}"
        )


def parse_url(url: str) -> Site:
    """Parse ``scheme://[user[:password]@]host[:port][/path]``.

    No message quotes the URL's user information (where a password would be): a URL in an
    error is shown by :func:`redact_url`, and the parser's own wording (which may quote a
    piece of it) is never passed on.

    Raises:
        UsageError: not a URL Ferryman can open, or its user or password holds a line break.
    """
    if "://" not in url:
        raise UsageError(f"Not a URL: {redact_url(url)!r} (expected e.g. ftpes://user@host/path)")
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        # urlsplit's wording quotes the port or the whole authority, password and all.
        raise UsageError(
            f"Invalid URL {shown!r}: the host must be a name or an address in brackets, "
            "the port a number from 1 to 65535"
        ) from None
    scheme = parts.scheme.lower()
    backend = backends.for_scheme(scheme)
    if backend is None:
        known = [f"{name}://" for name in backends.schemes()]
        choice = ", ".join(known[:-1]) + f" or {known[-1]}" if len(known) > 1 else known[0]
        raise UsageError(f"Unknown scheme in {shown!r}: use {choice}")
    if not host:
        raise UsageError(f"No host in URL {shown!r}")
    if any(ch.isspace() or not ch.isprintable() for ch in host):
        raise UsageError(f"Invalid host in URL {shown!r}: no spaces or control characters")
    if port == 0:
        raise UsageError(f"Invalid URL {shown!r}: the port must be a number from 1 to 65535")
    declared = backend.schemes[scheme]
    path = unquote(parts.path, errors="surrogateescape")
    # "/dir" is relative to the login directory, "//dir" (or "/%2Fdir") is absolute.
    path = path[1:] if path.startswith("/") else path
    if "\r" in path or "\n" in path or "\x00" in path:
        raise UsageError("A path cannot contain line breaks or NUL")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    check_credentials(user, password, "the URL")
    return Site(
        host=host,
        port=port or declared.default_port,
        user=user,
        password=password,
        path=path,
        protocol=backend.protocol,
        options=dict(declared.presets),
    )


def redact_url(text: str) -> str:
    """``text`` with the user information of a URL hidden, for messages.

    Everything from the start of the authority (after the first ``://``, or the start of
    the text when that comes later) to the last ``@`` is replaced: a password may itself
    hold ``@``, ``/`` or ``:``, so no cleverer split can be sure where it ends.
    """
    at = text.rfind("@")
    if at < 0:
        return text
    start = text.find("://")
    start = start + 3 if 0 <= start < at else 0
    return f"{text[:start]}***@{text[at + 1 :]}"


def check_credentials(user: str | None, password: str | None, source: str) -> None:
    """Refuse a user or password that cannot be sent: a line break would end the USER or PASS
    command early and send the rest as a command of its own.

    Raises:
        UsageError: naming ``source`` (where they came from), never quoting them.
    """
    for what, value in (("user name", user), ("password", password)):
        if value is not None and any(ch in value for ch in "\r\n\x00"):
            raise UsageError(f"The {what} from {source} contains a line break or NUL; refused")


def netrc_credentials(
    host: str, user: str | None, file: str | None = None
) -> tuple[str, str] | None:
    """Look up ``(login, password)`` for ``host`` in ``~/.netrc`` (or ``file``).

    Returns ``None`` when there is no file or no matching entry; when ``user`` is given, the
    entry must be for that user.

    Raises:
        ConfigError: the file exists but cannot be read or parsed (the message names the
            file and the line, never its words: they may be a password).
        UsageError: the entry's login or password holds a line break.
    """
    path = file or os.path.join(os.path.expanduser("~"), ".netrc")
    if not os.path.exists(path):
        return None
    try:
        entries = netrc.netrc(path)
    except netrc.NetrcParseError as error:
        # Its message quotes the offending word, which may be (part of) a password.
        raise ConfigError(
            f"Cannot read {path}: malformed near line {error.lineno} "
            "(expected: machine HOST login USER password PASSWORD)"
        ) from None
    except UnicodeError:
        raise ConfigError(f"Cannot read {path}: it is not text in UTF-8") from None
    except OSError as error:
        raise ConfigError(f"Cannot read {path}: {error.strerror or 'input/output error'}") from None
    found = entries.authenticators(host)
    if not found:
        return None
    login, _account, password = found
    if user is not None and login and login != user:
        return None
    check_credentials(login, password, path)
    return (login or user or "anonymous", password or "")


SITE_FIELDS = ("name", "host", "port", "user", "path", "encoding", "time_offset", "limit_rate")
"""What every saved site has; ``protocol`` (when not FTP) and the backend's options follow."""


def sites_path() -> str:
    from tui.paths import config_dir

    return os.path.join(config_dir(), "sites.toml")


def load_sites(path: str | None = None) -> list[Site]:
    """The saved sites (never with passwords: those are asked, or kept in a keyring).

    Raises:
        ConfigError: the file exists but is not valid.
    """
    import tomllib  # here: most commands never read sites.toml (issue 23, start-up time)

    path = path or sites_path()
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return []
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"Cannot read saved sites {path}: {error}") from error
    sites = []
    for table in data.get("site", []):
        protocol = table.get("protocol", "ftp")
        backend = backends.for_protocol(protocol) if isinstance(protocol, str) else None
        if backend is None:
            raise ConfigError(
                f"Site {table.get('name')!r} in {path} has an unknown protocol {protocol!r}"
            )
        try:
            fields = {key: table[key] for key in SITE_FIELDS if key in table}
            options = {o.name: table[o.name] for o in backend.options if o.name in table}
            site = Site(**fields, protocol=protocol, options=options)
        except TypeError as error:
            raise ConfigError(f"A site in {path} is malformed: {error}") from error
        if site.limit_rate is not None:
            site.limit_rate = _site_rate(path, site)
        for option in backend.options:
            if option.choices and site.options[option.name] not in option.choices:
                raise ConfigError(
                    f"Site {site.name!r} in {path} has an unknown {option.title} "
                    f"{site.options[option.name]!r}"
                )
        sites.append(site)
    return sites


def _site_rate(path: str, site: Site) -> int | None:
    from tui.units import parse_rate

    try:
        return parse_rate(site.limit_rate)  # type: ignore[arg-type]
    except (ValueError, TypeError) as error:
        raise ConfigError(f"Site {site.name!r} in {path}: limit_rate: {error}") from None


def save_sites(sites: list[Site], path: str | None = None) -> None:
    """Write the sites (passwords are never written), atomically."""
    path = path or sites_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    lines = ["# Ferryman saved sites. Passwords are never stored here.", ""]
    for site in sites:
        lines.append("[[site]]")
        values: list[tuple[str, object]] = [(key, getattr(site, key)) for key in SITE_FIELDS]
        if site.protocol != "ftp":
            values.insert(3, ("protocol", site.protocol))
        values[3:3] = sorted(site.options.items(), key=lambda item: _option_order(site, item[0]))
        for key, value in values:
            if value is None or (key == "time_offset" and not value):
                continue
            # JSON string and number syntax is valid TOML for these scalar values.
            rendered = json.dumps(value) if not isinstance(value, bool) else str(value).lower()
            lines.append(f"{key} = {rendered}")
        lines.append("")
    temporary = path + ".tmp"
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write("\n".join(lines))
    os.replace(temporary, path)


def _option_order(site: Site, name: str) -> int:
    backend = backends.for_protocol(site.protocol)
    names = [option.name for option in backend.options] if backend else []
    return names.index(name) if name in names else len(names)
