"""Provides TransferQueueActions: what the main screen does with the transfer queue.

A part of MainScreen: it uses only what ``MainParts`` states (the panes, the status line,
the app's queue).
The panel is made when first needed and follows the queue's changes (the app tells once
per burst of them), and ``t`` goes to it or hides it.
"""

from __future__ import annotations

from collections import Counter

from textual import on

from tui.screens.confirm import InputScreen
from tui.screens.main_parts import MainParts
from tui.transfer.queue import Job, State
from tui.transfer.ratelimit import format_rate, parse_rate
from tui.widgets.file_pane import FilePane
from tui.widgets.log_panel import LogPanel
from tui.widgets.transfer_panel import TransferPanel

QUEUE_HINT = "P X R: pause, cancel, retry all"
"""The status line while the queue has the focus: what the key bar has no room for."""


def finished_summary(jobs: list[Job]) -> str:
    """What the queue did, for the status line once it has run dry: "transfers done" alone
    would also be said of a batch that all failed or was cancelled."""
    counts = Counter(job.state for job in jobs if not job.is_dir)
    parts = [f"{counts[State.DONE]} copied"]
    for state, word in ((State.SKIPPED, "skipped"), (State.FAILED, "FAILED"),
                        (State.CANCELLED, "cancelled"), (State.PAUSED, "paused")):  # fmt: skip
        if counts[state]:
            parts.append(f"{counts[state]} {word}")
    return "transfers done: " + ", ".join(parts)


class TransferQueueActions(MainParts):
    """The transfer panel's side of the main screen."""

    def transfer_panel(self) -> TransferPanel:
        """The transfer queue's panel, made when first needed: until the first transfer
        it is not there at all (the first frame comes ~10 ms sooner without it)."""
        panels = self.query(TransferPanel)
        if panels:
            return panels.first()
        panel = TransferPanel(self.ferryman.transfers, id="transfers")
        panel.limit = self.ferryman.rate_limit  # the cap it shows and its key sets
        self.mount(panel, before=self.query_one(LogPanel))
        return panel

    def show_transfers(self, first: Job | None = None) -> None:
        """Open the panel under the panes, scrolled to ``first`` (jobs just added: a sync's
        copies are brought into view, not left below older ones)."""
        panel = self.transfer_panel()
        panel.display = True
        panel.wake()
        if first is not None:
            panel.bring_into_view(first)

    def transfer_changed(self, finished: bool) -> None:
        """Jobs changed (once per burst of changes, see ``TransferChanged``): redraw the
        panel, and when the queue has run dry after a job finished, reload the folders
        the copies went to."""
        self.transfer_panel().wake()
        if finished and self.ferryman.transfers.wait(timeout=0):
            for pane_id, folder in self.reload_after:
                self.query_one(f"#{pane_id}", FilePane).reload(folder)
            self.reload_after.clear()
            self.status.activity = finished_summary(self.ferryman.transfers.jobs())

    @on(TransferPanel.RateCapRequested)
    def _ask_rate_cap(self, event: TransferPanel.RateCapRequested) -> None:
        """``l`` in the panel: one cap for every transfer, up and down, set or cleared while
        they run (they follow within a quarter of a second). It stays the user's choice:
        a site connected later does not put its own ``limit_rate`` over it."""
        limit = self.ferryman.rate_limit

        def answered(text: str | None) -> None:
            if text is None:
                return
            try:
                rate = parse_rate(text.strip() or "0")
            except ValueError as error:
                self.notify(str(error), severity="error", markup=False)
                return
            limit.set_rate(rate)
            self.ferryman.rate_chosen = True
            self.notify(f"Rate cap: {format_rate(rate)}" + ("/s" if rate else ""), timeout=3)
            self.transfer_panel().wake()

        current = format_rate(limit.rate) if limit.rate else ""
        prompt = "Rate cap for all transfers together (500K, 2M; empty or 0: none):"
        self.app.push_screen(InputScreen(prompt, current), answered)

    def action_toggle_transfers(self) -> None:
        """Go to the queue, showing it if needed; from the queue, hide it. A queue that F5
        opened under the panes is one key away, not hidden by that key."""
        panel = self.transfer_panel()
        if panel.display and self.focused is not None and panel in self.focused.ancestors:
            panel.display = False
            self.set_focus(self.active().file_tree)
            return
        panel.display = True
        panel.wake()
        panel.focus_list()
        self.status.activity = QUEUE_HINT
