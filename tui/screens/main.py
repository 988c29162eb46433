"""Provides MainScreen: the local and remote panes, the protocol log and the status line.

File operations run in thread workers (one per pane's session at a time, under the pane's
session lock). Every worker of the screen ends in one ``Worker.StateChanged`` handler: a
result goes to what asked for it, and any failure, Ferryman's own or not, opens the error
modal. Connecting posts ``SiteConnected``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from tui.errors import CertificateNotTrusted, ConnectionLost, FerrymanError, as_ferryman_error
from tui.remote.base import RemoteFS
from tui.remote.local import LocalFS
from tui.screens.compare_sync import LEGEND, CompareSync
from tui.screens.confirm import ConfirmScreen
from tui.screens.connect import ConnectScreen
from tui.screens.edit import EditFile
from tui.screens.error import ErrorScreen
from tui.screens.file_ops import FileOperations
from tui.screens.transfer_queue import QUEUE_HINT, TransferQueueActions
from tui.sites import Site
from tui.widgets.file_pane import SORTS, FilePane
from tui.widgets.key_bar import KeyBar
from tui.widgets.log_panel import LogPanel
from tui.widgets.status_bar import StatusBar
from tui.widgets.transfer_panel import TransferPanel

if TYPE_CHECKING:
    from tui.screens.ferryman import Ferryman


class MainScreen(CompareSync, TransferQueueActions, EditFile, FileOperations):
    BINDINGS = [
        Binding("tab", "switch_pane", "Pane", id="main.switch", tooltip="Switch pane"),
        Binding("f3", "view", "View", id="main.view", tooltip="View the file"),
        Binding("f4", "edit", "Edit", id="main.edit", tooltip="Edit in $EDITOR"),
        Binding("f5", "copy", "Copy", id="main.copy", tooltip="Copy to the other pane"),
        Binding("f6", "rename", "RenMov", id="main.rename", tooltip="Rename or move"),
        Binding("f7", "mkdir", "Mkdir", id="main.mkdir", tooltip="Make a directory"),
        Binding("f8", "delete", "Delete", id="main.delete", tooltip="Delete (asks first)"),
        Binding("f2", "certificate", "Cert", id="main.certificate", tooltip="Certificate"),
        Binding("f9", "toggle_log", "Log", id="main.log", tooltip="Protocol log"),
        Binding(
            "t",
            "toggle_transfers",
            "Transfers",
            id="main.transfers",
            tooltip="Transfer queue: go to it, or hide it there (p pause, x cancel, r retry; "
            "P X R for all, c clear, f filter)",
        ),
        Binding("c", "connect", "Connect", id="main.connect", tooltip="Connect to a server"),
        Binding("slash", "filter", "Filter", id="main.filter", tooltip="Filter names"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="main.unfilter"),
        Binding("full_stop", "toggle_hidden", "Hidden", show=False, id="main.hidden"),
        Binding("s", "cycle_sort", "Sort", show=False, id="main.sort"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="main.reload"),
        Binding("ctrl+t", "trust_manager", "Trusted", show=False, id="main.trust"),
        Binding(
            "equals_sign",
            "compare",
            "Compare",
            show=False,
            id="main.compare",
            tooltip="Compare the panes' folders (again to clear)",
        ),
        Binding(
            "y",
            "sync",
            "Sync",
            show=False,
            id="main.sync",
            tooltip="Make the other pane's folder a copy of this one (preview first)",
        ),
    ]

    class SiteConnected(Message):
        """A session to ``site`` is open (posted by the connect worker)."""

        def __init__(self, site: Site, fs: RemoteFS, path: str | None) -> None:
            super().__init__()
            self.site, self.fs, self.path = site, fs, path

    def __init__(self, *, local_path: str, url: str | None) -> None:
        super().__init__()
        self.local_path = local_path
        self.initial_url = url
        self.site: Site | None = None
        self._remote_active = False
        self.reload_after: set[tuple[str, str]] = set()
        self._connecting: Site | None = None
        self._queue_said = ""  # what the queue last put on the status line
        # What each running operation's result is for: (label, what to do with it).
        self._pending: dict[Worker[Any], tuple[str, Callable[[Any], None] | None]] = {}

    @property
    def ferryman(self) -> Ferryman:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        settings = self.ferryman.settings
        with Horizontal(id="panes"):
            for title in ("Local", "Remote"):
                yield FilePane(title, id=title.lower(), light=settings.light,
                               show_hidden=settings.show_hidden, sort_by=settings.sort)  # fmt: skip
        yield Static(LEGEND, id="legend")
        yield LogPanel(id="log")
        yield StatusBar(id="status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.local.attach(LocalFS(self.local_path), self.local_path)
        self.remote.attach(None)
        self.local.file_tree.focus()
        if self.initial_url:
            try:
                self.connect(self.ferryman.service.site_for(self.initial_url))
            except FerrymanError as error:
                self.show_error(error)
        else:
            # After the first frame: the panes show at once, the dialog a moment later.
            self.call_after_refresh(self.action_connect)

    @property
    def local(self) -> FilePane:
        return self.query_one("#local", FilePane)

    @property
    def remote(self) -> FilePane:
        return self.query_one("#remote", FilePane)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def active(self) -> FilePane:
        """The pane keys act on. Tracked here, not read from the focus: ``focus()`` takes
        effect later, and a key typed right after Tab (a fast typist, a slow link) must
        already go to the new pane."""
        return self.remote if self._remote_active else self.local

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        for node in event.widget.ancestors_with_self:
            if isinstance(node, FilePane):
                self._remote_active = node.id == "remote"
                if self.status.activity in (QUEUE_HINT, self._queue_said or QUEUE_HINT):
                    self.status.activity = ""  # the queue's words, said of the queue only
                return

    def other(self, pane: FilePane) -> FilePane:
        return self.local if pane is self.remote else self.remote

    # --- connecting --------------------------------------------------------------------

    def action_connect(self) -> None:
        def chosen(site: Site | None) -> None:
            if site is not None:
                self.connect(site)

        self.app.push_screen(ConnectScreen(self.site.url() if self.site else ""), chosen)

    def connect(self, site: Site, path: str | None = None) -> None:
        self.status.activity = f"connecting to {site.key}…"
        self._connect(site, path)

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def _connect(self, site: Site, path: str | None) -> None:
        self._connecting = site
        fs = self._kept_alive(self.ferryman.service.open(site))
        self.post_message(self.SiteConnected(site, fs, path))

    def _kept_alive(self, fs: RemoteFS) -> RemoteFS:
        """The browsing session stays up while the user reads (NOOP after
        ``[connection] keepalive`` idle seconds) and reconnects quietly if it dropped anyway;
        both are said in the protocol log (issue 23)."""
        from tui.remote.keepalive import KeptAlive

        interval = self.ferryman.settings.keepalive
        return KeptAlive(fs, interval=interval, note=self.ferryman.log_note).start()

    @on(SiteConnected)
    def _connected(self, event: SiteConnected) -> None:
        site, fs = event.site, event.fs
        self._connecting = None
        old = self.remote.fs
        self.site = site
        self.remote.attach(fs, event.path if event.path is not None else site.path)
        self.status.site = site.key
        self.status.show_security(fs.security)
        self.status.activity = "connected"
        self._remote_active = True
        self.remote.file_tree.focus()
        if old is not None:
            self._close(old)
        self.ferryman.offer_unfinished(site)

    @work(thread=True, exit_on_error=False, group="close")
    def _close(self, fs: RemoteFS) -> None:
        fs.close()  # QUIT may wait for a slow server: not on the UI thread

    def _connect_failed(self, site: Site | None, error: FerrymanError) -> None:
        """The status says what is true: the session still open (another site's), or none."""
        if self.remote.fs is not None and self.site is not None:
            self.status.activity = f"could not connect to {site.key if site else 'the site'}"
        else:
            self.status.activity = "not connected"
        if isinstance(error, CertificateNotTrusted) and self.ferryman.rejected(error):
            # The user just said no in the viewer: a second dialog would only repeat it.
            self.status.activity = ("certificate rejected" if self.remote.fs is None else
                                    f"{self.status.activity}: certificate rejected")  # fmt: skip
            return
        self.show_error(error)

    def show_error(self, error: FerrymanError) -> None:
        if isinstance(error, ConnectionLost) and self.site is not None:
            site, path, lost = self.site, self.remote.path, self.remote.fs

            def retry(again: bool | None) -> None:
                if again:
                    self.connect(site, path)

            # The session is gone: the pane and the badge say so at once (a badge left
            # alone went on showing TLS for a connection that no longer existed).
            self.site = None
            self.remote.attach(None)
            if lost is not None:
                self._close(lost)
            self.status.site = ""
            self.status.security = ""
            self.status.badge = ""
            self.status.activity = f"connection to {site.key} lost"
            self.app.push_screen(ErrorScreen(error, retry="Reconnect"), retry)
            return
        self.app.push_screen(ErrorScreen(error))

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """The one road out of the screen's workers: a result to what asked for it, any
        failure (Ferryman's own or a bug) to the error modal."""
        worker = event.worker
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        label, after = self._pending.pop(worker, ("", None))
        if event.state is WorkerState.SUCCESS:
            if label:
                self.status.activity = ""  # the result is on screen: no stale "… done"
            if after is not None:
                after(worker.result)
        elif event.state is WorkerState.ERROR:
            error = as_ferryman_error(worker.error)
            if worker.group == "connect":
                self._connect_failed(self._connecting, error)
                self._connecting = None
            elif worker.group != "close":  # a session let go of: nothing to act on
                self.status.activity = f"{label}: failed" if label else "failed"
                self.show_error(error)

    @on(FilePane.Failed)
    def _pane_failed(self, event: FilePane.Failed) -> None:
        self.show_error(event.error)

    @on(TransferPanel.JobHighlighted)
    def _job_highlighted(self, event: TransferPanel.JobHighlighted) -> None:
        job = event.job  # the status bar makes the server's text safe to show
        self.status.activity = f"{job.name}: {job.reason}" if job.reason else QUEUE_HINT
        self._queue_said = self.status.activity

    @on(TransferPanel.CancelAllRequested)
    def _cancel_all(self, event: TransferPanel.CancelAllRequested) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                event.panel.cancel_all()

        question = (f"Cancel {event.count} unfinished transfer(s)? "
                    "Their partial files are removed.")  # fmt: skip
        self.app.push_screen(ConfirmScreen(question, yes="Cancel all", danger=True), answered)

    # --- panes -------------------------------------------------------------------------

    def action_switch_pane(self) -> None:
        target = self.other(self.active())
        self._remote_active = target is self.remote
        self.set_focus(target.file_tree)  # now, not later: keys already queued must follow

    def action_filter(self) -> None:
        self.active().open_filter()

    def action_clear_filter(self) -> None:
        self.active().clear_filter()

    def action_toggle_hidden(self) -> None:
        pane = self.active()
        pane.show_hidden = not pane.show_hidden

    def action_cycle_sort(self) -> None:
        pane = self.active()
        pane.sort_by = SORTS[(SORTS.index(pane.sort_by) + 1) % len(SORTS)]
        self.notify(f"Sorted by {pane.sort_by}", timeout=2)

    def action_reload(self) -> None:
        self.active().reload()

    def action_toggle_log(self) -> None:
        self.query_one(LogPanel).toggle()

    def action_certificate(self) -> None:
        if self.site is None:
            self.notify("Not connected.", severity="warning")
            return
        report = self.ferryman.service.policy.report_for(self.site.key)
        if report is None:
            what = self.remote.fs.security.protocol if self.remote.fs else "plain"
            self.notify(f"{what[:1].upper()}{what[1:]}: this connection has no certificate.",
                        severity="warning")  # fmt: skip
            return
        from tui.screens.identity import trust_viewer  # cryptography: when needed

        self.app.push_screen(trust_viewer(report, ask=False))

    def action_trust_manager(self) -> None:
        from tui.screens.trust_manager import TrustManagerScreen

        self.app.push_screen(TrustManagerScreen(self.ferryman.service.store))

    # --- operations --------------------------------------------------------------------

    def run_in_pane(self, pane: FilePane, label: str, job: Callable[[RemoteFS], Any],
                    after: Callable[[Any], None] | None = None) -> None:  # fmt: skip
        """Run ``job(fs)`` in a worker under the pane's session lock; then ``after(result)``
        (from ``_worker_changed``)."""
        if pane.fs is None:
            self.notify("Not connected.", severity="warning")
            return
        self.status.activity = label
        self._pending[self._work(pane, job)] = (label, after)

    @work(thread=True, exit_on_error=False, group="operation")
    def _work(self, pane: FilePane, job: Callable[[RemoteFS], Any]) -> Any:
        with pane.session_lock:
            assert pane.fs is not None
            return job(pane.fs)

    @on(Input.Submitted)
    def _input_done(self) -> None:
        self.active().file_tree.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "certificate" and self.site is None:
            return None  # shown greyed out until connected
        return True
