"""Provides Ferryman: what the screens use of the app, as a protocol.

The screens reach the app's services (the connection service, the transfer queue, the
settings) through this, not by importing ``tui.app``: the app imports the screens, and an
import back would be a circle (an import contract forbids circles).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tui.config import Config
    from tui.connection import ConnectionService
    from tui.errors import CertificateNotTrusted
    from tui.sites import Site
    from tui.transfer.queue import Job, TransferQueue
    from tui.transfer.ratelimit import RateLimit


class Ferryman(Protocol):
    """The running app (``tui.app.FerrymanApp``) as the screens see it."""

    settings: Config
    transfers: TransferQueue
    rate_limit: RateLimit
    rate_chosen: bool

    @property
    def service(self) -> ConnectionService: ...

    def enqueue(self, site: Site, jobs: list[Job]) -> None: ...

    def offer_unfinished(self, site: Site) -> None: ...

    def rejected(self, error: CertificateNotTrusted) -> bool: ...

    def log_note(self, text: str) -> None: ...
