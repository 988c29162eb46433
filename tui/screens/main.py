"""Provides MainScreen: the local and remote panes, the protocol log and the status line.

File operations run in thread workers (one per pane's session at a time, under the pane's
lock) and report back with ``call_from_thread``; every failure opens the error modal.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Static

from tui.errors import ConnectionLost, FerrymanError
from tui.remote.base import RemoteFS, check_name, local_child
from tui.remote.local import LocalFS
from tui.screens.compare_sync import LEGEND, CompareSync
from tui.screens.confirm import ConfirmScreen, InputScreen
from tui.screens.connect import ConnectScreen
from tui.screens.error import ErrorScreen
from tui.screens.quiet import QuietScreen
from tui.screens.transfer_queue import QUEUE_HINT, TransferQueueActions
from tui.sites import Site
from tui.textsafe import printable
from tui.transfer.copy import remove_tree
from tui.transfer.queue import Direction, Job
from tui.widgets.file_pane import SORTS, FilePane
from tui.widgets.file_tree import Row
from tui.widgets.key_bar import KeyBar
from tui.widgets.log_panel import LogPanel
from tui.widgets.status_bar import StatusBar
from tui.widgets.transfer_panel import TransferPanel

if TYPE_CHECKING:
    from tui.app import FerrymanApp


class MainScreen(QuietScreen, CompareSync, TransferQueueActions, Screen[None]):
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

    def __init__(self, *, local_path: str, url: str | None) -> None:
        super().__init__()
        self.local_path = local_path
        self.initial_url = url
        self.site: Site | None = None
        self._remote_active = False
        self._reload_after: set[tuple[str, str]] = set()

    @property
    def ferryman(self) -> FerrymanApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            light = self.ferryman.settings.light
            yield FilePane("Local", id="local", light=light)
            yield FilePane("Remote", id="remote", light=light)
        yield Static(LEGEND, id="legend")
        yield LogPanel(id="log")
        yield StatusBar(id="status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.local.attach(LocalFS(self.local_path), self.local_path)
        self.remote.attach(None)
        self.local.tree.focus()
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
        try:
            fs = self.ferryman.service.open(site)
        except FerrymanError as error:
            self.app.call_from_thread(self._connect_failed, site, error)
            return
        fs = self._kept_alive(fs)
        old = self.remote.fs
        self.app.call_from_thread(self._connected, site, fs, path)
        if old is not None:
            old.close()

    def _kept_alive(self, fs: RemoteFS) -> RemoteFS:
        """The browsing session stays up while the user reads (NOOP after
        ``[connection] keepalive`` idle seconds) and reconnects quietly if it dropped anyway;
        both are said in the protocol log (issue 23)."""
        from tui.remote.keepalive import KeptAlive

        interval = self.ferryman.settings.keepalive
        return KeptAlive(fs, interval=interval, note=self.ferryman.log_note).start()

    def _connected(self, site: Site, fs: RemoteFS, path: str | None) -> None:
        self.site = site
        self.remote.attach(fs, path if path is not None else site.path)
        self.status.site = site.key
        tls = getattr(fs, "tls", None)
        self.status.security = tls.peer.tls_version if tls else "insecure"
        self.status.activity = "connected"
        self._remote_active = True
        self.remote.tree.focus()

    def _connect_failed(self, site: Site, error: FerrymanError) -> None:
        self.status.activity = "not connected"
        self.show_error(error)

    def show_error(self, error: FerrymanError) -> None:
        if isinstance(error, ConnectionLost) and self.site is not None:
            site, path = self.site, self.remote.path

            def retry(again: bool | None) -> None:
                if again:
                    self.connect(site, path)

            self.status.security = ""
            self.status.activity = "connection lost"
            self.app.push_screen(ErrorScreen(error, retry="Reconnect"), retry)
            return
        self.app.push_screen(ErrorScreen(error))

    @on(FilePane.Failed)
    def _pane_failed(self, event: FilePane.Failed) -> None:
        self.show_error(event.error)

    @on(TransferPanel.JobHighlighted)
    def _job_highlighted(self, event: TransferPanel.JobHighlighted) -> None:
        job = event.job  # the status bar makes the server's text safe to show
        self.status.activity = f"{job.name}: {job.reason}" if job.reason else QUEUE_HINT

    # --- panes -------------------------------------------------------------------------

    def action_switch_pane(self) -> None:
        target = self.other(self.active())
        self._remote_active = target is self.remote
        self.set_focus(target.tree)  # now, not later: keys already queued must follow

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
            self.notify("Plain FTP: this connection has no certificate.", severity="warning")
            return
        from tui.screens.certificate import CertificateScreen  # cryptography: when needed

        self.app.push_screen(CertificateScreen(report, ask=False))

    def action_trust_manager(self) -> None:
        from tui.screens.trust_manager import TrustManagerScreen

        self.app.push_screen(TrustManagerScreen(self.ferryman.service.store))

    # --- operations --------------------------------------------------------------------

    def _run(self, pane: FilePane, label: str, job, after=None) -> None:  # type: ignore[no-untyped-def]
        """Run ``job(fs)`` in a worker under the pane's lock; then ``after(result)``."""
        if pane.fs is None:
            self.notify("Not connected.", severity="warning")
            return
        self.status.activity = label
        self._work(pane, label, job, after)

    @work(thread=True, exit_on_error=False, group="operation")
    def _work(self, pane: FilePane, label: str, job, after) -> None:  # type: ignore[no-untyped-def]
        try:
            with pane.lock:
                result = job(pane.fs)
        except FerrymanError as error:
            self.app.call_from_thread(self._op_failed, error)
            return
        self.app.call_from_thread(self._op_done, label, after, result)

    def _op_failed(self, error: FerrymanError) -> None:
        self.status.activity = "failed"
        self.show_error(error)

    def _op_done(self, label, after, result) -> None:  # type: ignore[no-untyped-def]
        self.status.activity = f"{label}: done"
        if after is not None:
            after(result)

    def _names_ok(self, pane: FilePane, rows: list[Row]) -> bool:
        """Whether the names a server sent for ``rows`` pass the CLI's rules (``check_name``),
        checked before any action uses them: ``x/..`` or ``/etc/x`` would otherwise lead a
        copy, an edit or a delete somewhere else than the row the user sees. If one does
        not, the error names it and nothing is done."""
        if isinstance(pane.fs, LocalFS):
            return True  # names from the local disk are the user's own
        for row in rows:
            if row.entry is None:
                continue
            try:
                check_name(row.entry.name)
            except FerrymanError as error:
                self.show_error(error)
                return False
        return True

    def action_view(self) -> None:
        from tui.screens.viewer import VIEW_LIMIT, ViewerScreen  # pygments: when needed

        pane = self.active()
        row = pane.cursor_row
        if row is None or row.entry is None or row.entry.is_dir or not self._names_ok(pane, [row]):
            return

        def read(fs: RemoteFS) -> bytes:
            with fs.open_read(row.path) as reader:
                return reader.read(VIEW_LIMIT)  # closing early: the rest is never downloaded

        def show(data: bytes) -> None:
            self.app.push_screen(ViewerScreen(row.entry.name, data, row.entry.size))

        self._run(pane, f"reading {printable(row.entry.name)}", read, show)

    def action_mkdir(self) -> None:
        pane = self.active()
        where = pane.current_dir()

        def made(name: str | None) -> None:
            if not name:
                return
            try:
                check_name(name)
            except FerrymanError as error:
                self.show_error(error)
                return
            path = posixpath.join(where, name)
            self._run(pane, f"mkdir {printable(name)}", lambda fs: fs.mkdir(path),
                      lambda _: pane.reload(where))  # fmt: skip

        self.app.push_screen(InputScreen(f"New directory in {printable(where)}:"), made)

    def action_rename(self) -> None:
        pane = self.active()
        row = pane.cursor_row
        if row is None or not self._names_ok(pane, [row]):
            return
        folder = posixpath.dirname(row.path)
        # What the field shows is escaped like everything else from a server; left as it is,
        # it means "no change".
        shown = printable(row.path)

        def renamed(target: str | None) -> None:
            if not target or target in (row.path, shown):
                return
            path = target if target.startswith("/") else posixpath.join(folder, target)
            target_dir = posixpath.dirname(path)

            def after(_: object) -> None:
                pane.reload(folder)
                if target_dir != folder:
                    pane.reload(target_dir)

            self._run(
                pane, f"rename {printable(row.path)}", lambda fs: fs.rename(row.path, path), after
            )

        self.app.push_screen(InputScreen("Rename or move to:", shown), renamed)

    @staticmethod
    def _names(rows: list[Row]) -> str:
        """Up to five names, escaped, for a confirmation question."""
        names = ", ".join(printable(posixpath.basename(row.path)) for row in rows[:5])
        return names + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")

    def action_delete(self) -> None:
        pane = self.active()
        rows = pane.selection()
        if not rows or not self._names_ok(pane, rows):
            return
        folders = any(row.entry is not None and row.entry.is_dir for row in rows)
        question = Text(f"Delete {self._names(rows)}?")
        if folders:
            question.append("\nDirectories are deleted with everything in them.", style="bold red")

        def delete(fs: RemoteFS) -> None:
            for row in rows:
                remove_tree(fs, row.path) if row.entry and row.entry.is_dir else fs.remove(row.path)

        def done(_: object) -> None:
            pane.marked.clear()
            for folder in {posixpath.dirname(row.path) for row in rows}:
                pane.reload(folder)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._run(pane, f"deleting {len(rows)} item(s)", delete, done)

        self.app.push_screen(ConfirmScreen(question, yes="Delete", danger=True), confirmed)

    def action_copy(self) -> None:
        """F5: queue the selection for the other pane; the transfer panel shows it."""
        source = self.active()
        target = self.other(source)
        rows = source.selection()
        if not rows or source.fs is None or target.fs is None or self.site is None:
            self.notify("Nothing to copy, or not connected.", severity="warning")
            return
        if not self._names_ok(source, rows):
            return
        destination = target.current_dir()
        upload = source is self.local
        question = Text(f"Copy {self._names(rows)} to {printable(destination)}?")
        site = self.site

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            jobs = []
            for row in rows:
                name = row.entry.name if row.entry is not None else posixpath.basename(row.path)
                # A download's target comes from the server's name: the CLI's road to disk.
                to = posixpath.join(destination, name) if upload else local_child(destination, name)
                is_dir = row.entry is not None and row.entry.is_dir
                size = row.entry.size if row.entry is not None else None
                mtime = row.entry.mtime if row.entry is not None else None
                direction = Direction.UPLOAD if upload else Direction.DOWNLOAD
                jobs.append(Job(direction, row.path, to, is_dir=is_dir, size=size,
                                mtime=mtime))  # fmt: skip
            source.marked.clear()
            source.refill()
            self._reload_after.add((target.id or "", destination))
            self.ferryman.enqueue(site, jobs)
            panel = self.transfer_panel()
            panel.display = True
            panel.wake()

        self.app.push_screen(ConfirmScreen(question, yes="Copy"), confirmed)

    def action_edit(self) -> None:
        pane = self.active()
        row = pane.cursor_row
        if row is None or row.entry is None or row.entry.is_dir or not self._names_ok(pane, [row]):
            return
        self.ferryman.edit(pane, row.path)

    @on(Input.Submitted)
    def _input_done(self) -> None:
        self.active().tree.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "certificate" and self.site is None:
            return None  # shown greyed out until connected
        return True
