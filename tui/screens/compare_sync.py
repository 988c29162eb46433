"""Provides CompareSync: the main screen's compare (``=``) and synchronise (``y``) actions.

A part of MainScreen: it uses only what ``MainParts`` states (the panes, the worker runner
``run_in_pane``, the status line, the transfer panel). The comparing and the plan are the
core's (``tui.transfer.sync``), the same the ``ferryman mirror`` command uses; the copies
go through the transfer panel.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from tui.remote.base import RemoteFS
from tui.screens.main_parts import MainParts
from tui.transfer.queue import Job
from tui.widgets.file_pane import FilePane

if TYPE_CHECKING:
    from tui.transfer.sync import Options, Plan

Sides = tuple[RemoteFS, str, RemoteFS, str]
"""A sync's source file system and folder, then its destination's."""

LEGEND = Text.assemble(
    ("compare: ", "bold"), ("+ only here  ", "bold green"), ("> newer  ", "bold cyan"),
    ("< older  ", "yellow"), ("\u2260 different  ", "bold red"), ("= clears, y syncs", "dim"),
)  # fmt: skip


class CompareSync(MainParts):
    """``=`` marks what differs in both panes; ``y`` previews a sync, then queues it."""

    def action_compare(self, checksum: bool = False) -> None:
        """Mark what differs between the two panes' folders (recursively); again to clear.
        With ``checksum``, files of equal size are compared by the server's HASH."""
        if self.local.compared or self.remote.compared:
            self._show_compare(None)
            return
        if self.remote.fs is None or self.local.fs is None:
            self.notify("Connect first: compare needs both panes.", severity="warning")
            return
        from tui.transfer.sync import compare  # loaded when first used: a faster start

        local_fs, local_root, remote_root = self.local.fs, self.local.path, self.remote.path
        options = self._options(checksum=checksum)

        def run(fs: RemoteFS) -> Plan:
            return compare(local_fs, local_root, fs, remote_root, options)

        self.run_in_pane(self.remote, "comparing", run, self._show_compare)

    def _show_compare(self, plan: Plan | None) -> None:
        from tui.transfer.sync import marks

        left, right = marks(plan) if plan is not None else ({}, {})
        for pane, found in ((self.local, left), (self.remote, right)):
            pane.compared = {posixpath.join(pane.path, path): m for path, m in found.items()}
            pane.refill()
        self.query_one("#legend", Static).display = plan is not None
        if plan is not None:
            differ = sum(1 for item in plan.items if item.action.value != "same")
            self.status.activity = f"compare: {differ} difference(s)" if differ else (
                "compare: the folders are the same")  # fmt: skip

    def action_sync(self) -> None:
        """Make the other pane's folder a copy of this pane's: plan, preview, then queue."""
        source, target = self.active(), self.other(self.active())
        if source.fs is None or target.fs is None or self.site is None:
            self.notify("Connect first: sync needs both panes.", severity="warning")
            return
        sides: Sides = (source.fs, source.path, target.fs, target.path)
        title = (f"Synchronize {source.title.lower()} {source.shown_path()} \u2192 "
                 f"{target.title.lower()} {target.shown_path()}")  # fmt: skip

        from tui.transfer.sync import compare

        options = self._options()

        def run(_: RemoteFS) -> Plan:
            return compare(*sides, options)

        self.run_in_pane(self.remote, "planning the sync", run,
                  lambda plan: self._preview(title, plan, sides, target))  # fmt: skip

    def _options(self, *, checksum: bool = False) -> Options:
        from tui.transfer.sync import Options

        offset = self.site.time_offset if self.site is not None else 0.0
        return Options(checksum=checksum, time_offset=offset)

    def _preview(self, title: str, plan: Plan, sides: Sides, target: FilePane) -> None:
        from tui.screens.sync_plan import SyncPlanScreen
        from tui.transfer.sync import delete_extra, jobs_for, make_folders

        site = self.site
        assert site is not None

        def chosen(start: bool | None) -> None:
            if not start:
                return
            removals = plan.deletions(delete=True)

            def say(line: str) -> None:
                self.app.call_from_thread(self._log_line, line)

            def prepare(_: RemoteFS) -> list[Job]:
                make_folders(plan, sides[2], sides[3])
                if removals:
                    delete_extra(sides[2], sides[3], removals, say)
                return jobs_for(plan, sides[0], sides[1], sides[2], sides[3], self._options())

            def queued(jobs: list[Job]) -> None:
                self._show_compare(None)  # the marks are about to be out of date
                target.reload()
                if jobs:
                    self.reload_after.add((target.id or "", target.path))
                    self.ferryman.enqueue(site, jobs)
                    self.show_transfers(jobs[0])

            self.run_in_pane(self.remote, "preparing the sync", prepare, queued)

        self.app.push_screen(SyncPlanScreen(title, plan), chosen)

    def _log_line(self, line: str) -> None:
        self.status.activity = line
