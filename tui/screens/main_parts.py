"""Provides MainParts: what the main screen's parts (compare and sync, the transfer queue)
may rely on. MainScreen implements it; the parts subclass it, so mypy checks both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from tui.screens.quiet import QuietScreen

if TYPE_CHECKING:
    from tui.errors import FerrymanError
    from tui.remote.base import RemoteFS
    from tui.screens.ferryman import Ferryman
    from tui.sites import Site
    from tui.transfer.queue import Job
    from tui.widgets.file_pane import FilePane
    from tui.widgets.file_tree import Row
    from tui.widgets.status_bar import StatusBar
    from tui.widgets.transfer_panel import TransferPanel


class MainParts(QuietScreen, Screen[None]):
    """The main screen as its parts see it.

    Attributes:
        site: The connected site, or None.
        reload_after: (pane id, folder) pairs to read again once the queue runs dry.
    """

    site: Site | None
    reload_after: set[tuple[str, str]]

    @property
    def ferryman(self) -> Ferryman:
        """The app, typed."""
        raise NotImplementedError

    @property
    def local(self) -> FilePane:
        raise NotImplementedError

    @property
    def remote(self) -> FilePane:
        raise NotImplementedError

    @property
    def status(self) -> StatusBar:
        raise NotImplementedError

    def active(self) -> FilePane:
        """The pane keys act on."""
        raise NotImplementedError

    def other(self, pane: FilePane) -> FilePane:
        raise NotImplementedError

    def run_in_pane(self, pane: FilePane, label: str, job: Callable[[RemoteFS], Any],
                    after: Callable[[Any], None] | None = None) -> None:  # fmt: skip
        """Run ``job(fs)`` in a worker on ``pane``'s session, then ``after(result)`` on the
        UI thread; a failure opens the error modal."""
        raise NotImplementedError

    def show_error(self, error: FerrymanError) -> None:
        raise NotImplementedError

    def transfer_panel(self) -> TransferPanel:
        """The queue's panel, made when first needed."""
        raise NotImplementedError

    def show_transfers(self, first: Job | None = None) -> None:
        """Open the queue's panel, scrolled to ``first``."""
        raise NotImplementedError

    def names_ok(self, pane: FilePane, rows: list[Row]) -> bool:
        """Whether the server's names for ``rows`` are safe to use as paths; if not, the
        error names the first that is not."""
        raise NotImplementedError
