"""Provides the backend registry: which backend serves a URL scheme, and what each declares.

Each backend declares its protocol name, its URL schemes (each with its default port and the
options it presets, e.g. ``ftps://`` = FTP with ``tls="implicit"`` on port 990), its options
(with defaults, choices and help), its capabilities, and where its session factory lives.
``tui.sites`` parses URLs and saved sites through it; ``tui.connection`` opens sessions
through it. The factory is named by ``"module:attribute"`` and imported only when a session
of that backend is opened, as entry points are: the registry imports no backend, backends
never import each other, and a command pays only for the backend it uses.

Nothing here imports ``tui.remote`` (``tui.sites`` depends on this module, and the backends
on ``tui.sites``): the factory's interface, ``tui.remote.base.Session``, lives with the
backends.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from tui.identity import SSH_HOST_KEY, X509

OptionValue = str | bool | int | float


# NamedTuples, not dataclasses: every command imports this module at start-up, and a frozen
# dataclass costs about 0.3 ms to define where a NamedTuple costs 0.05 ms.


class Option(NamedTuple):
    """One setting of a backend, kept in ``Site.options``.

    Attributes:
        name: The key in ``Site.options``, in ``sites.toml`` and the connection service.
        default: Its value when nothing sets it.
        title: How messages name it (``"TLS mode"``).
        choices: The allowed values, when they are a fixed set.
        override: How a run-wide setting (a CLI flag) applies to a site: ``"always"``, or
            ``"default"`` (only where the site has the default, as ``--tls auto`` upgrades
            plain ``ftp://`` sites but leaves ``ftpes://`` as it is).
    """

    name: str
    default: OptionValue
    title: str
    choices: tuple[str, ...] = ()
    override: str = "always"


class Scheme(NamedTuple):
    """A URL scheme of a backend: its default port and the options it presets."""

    default_port: int
    presets: Mapping[str, OptionValue] = {}  # read only


class Features(NamedTuple):
    """What a backend can do, known before connecting (a session's own ``capabilities``
    say what its server offers).

    Attributes:
        identity_kinds: The identity kinds its handshakes present (``tui.identity``).
        can_be_plain: Sessions may run unencrypted (plain FTP): the status bar warns, and a
            site that was secured before and now is not is a downgrade.
        fetch_identity: The identity can be fetched without logging in (``ferryman cert``).
    """

    identity_kinds: tuple[str, ...] = ()
    can_be_plain: bool = False
    fetch_identity: bool = True


class Backend(NamedTuple):
    """One backend's declaration.

    Attributes:
        protocol: Its name in ``Site.protocol`` and ``sites.toml`` (``"ftp"``).
        title: For people (``"FTP and FTPS"``).
        schemes: URL scheme → :class:`Scheme`; the first is the default.
        options: Its settings, in the order ``sites.toml`` lists them.
        features: Its capabilities.
        session: The factory ``(site, settings) -> tui.remote.base.Session``, or its
            ``"module:attribute"`` name, imported on first use.
    """

    protocol: str
    title: str
    schemes: Mapping[str, Scheme]
    options: tuple[Option, ...] = ()
    features: Features = Features()
    session: str | Callable[..., Any] = ""

    def option(self, name: str) -> Option | None:
        return next((option for option in self.options if option.name == name), None)

    def defaults(self) -> dict[str, OptionValue]:
        return {option.name: option.default for option in self.options}

    def scheme_for(self, options: Mapping[str, OptionValue]) -> str:
        """The scheme whose presets ``options`` match (for URLs in messages), else the first."""
        for name, scheme in self.schemes.items():
            if scheme.presets and all(options.get(k) == v for k, v in scheme.presets.items()):
                return name
        return next(iter(self.schemes))

    def factory(self) -> Callable[..., Any]:
        """The session factory, imported now if it was given by name."""
        if callable(self.session):
            return self.session
        module, _, attribute = self.session.partition(":")
        return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]


TLS_MODES = ("none", "auto", "explicit", "implicit")

FTP = Backend(
    protocol="ftp",
    title="FTP and FTPS",
    schemes={
        "ftp": Scheme(21, {"tls": "none"}),
        "ftpes": Scheme(21, {"tls": "explicit"}),
        "ftps": Scheme(990, {"tls": "implicit"}),
    },
    options=(
        Option("tls", "none", "TLS mode", TLS_MODES, override="default"),
        Option("passive", True, "passive mode"),
    ),
    features=Features(identity_kinds=(X509,), can_be_plain=True),
    session="tui.remote.ftp:session",
)

SFTP = Backend(
    protocol="sftp",
    title="SFTP (over ssh)",
    schemes={"sftp": Scheme(22)},
    features=Features(identity_kinds=(SSH_HOST_KEY,)),
    session="tui.remote.sftp:session",
)

_BACKENDS: dict[str, Backend] = {}
_SCHEMES: dict[str, Backend] = {}


def register(backend: Backend) -> None:
    """Make ``backend`` serve its schemes (a later registration of a scheme wins)."""
    _BACKENDS[backend.protocol] = backend
    for scheme in backend.schemes:
        _SCHEMES[scheme] = backend


def unregister(protocol: str) -> None:
    """Remove a backend and its schemes (tests register toy backends)."""
    backend = _BACKENDS.pop(protocol, None)
    if backend is not None:
        for scheme in backend.schemes:
            if _SCHEMES.get(scheme) is backend:
                del _SCHEMES[scheme]


def for_scheme(scheme: str) -> Backend | None:
    """The backend for a URL scheme (lower case), or None."""
    return _SCHEMES.get(scheme)


def for_protocol(protocol: str) -> Backend | None:
    """The backend named ``protocol`` (``Site.protocol``), or None."""
    return _BACKENDS.get(protocol)


def schemes() -> list[str]:
    """Every registered scheme, in registration order."""
    return list(_SCHEMES)


register(FTP)
register(SFTP)
