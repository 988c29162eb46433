"""Provides TransferPanel: the queue with per-file progress, speed and ETA, and a total bar.

It redraws four times a second while something runs and not at all when idle, so a fast
transfer is not slowed by its own display and an idle screen sends nothing over the link.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import DataTable, Static

from tui.textsafe import printable
from tui.transfer.queue import FINISHED, Job, State, TransferQueue
from tui.widgets.file_pane import human_size

FILTERS = ("all", "active", "failed", "done")
STATE_STYLE = {
    State.QUEUED: ("queued", "dim"),
    State.RUNNING: ("active", "bold cyan"),
    State.PAUSED: ("paused", "yellow"),
    State.DONE: ("done", "green"),
    State.FAILED: ("FAILED", "bold red"),
    State.SKIPPED: ("skipped", "yellow"),
    State.CANCELLED: ("cancel", "dim"),
}


def bar(done: int, total: int | None, width: int = 12) -> Text:
    if not total:
        return Text("·" * width, style="dim")
    filled = min(width, int(width * done / total))
    text = Text("█" * filled, style="cyan")
    text.append("░" * (width - filled), style="dim")
    return text


def eta(seconds: float) -> str:
    if seconds <= 0 or seconds > 99 * 3600:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TransferPanel(Vertical, can_focus=False):
    BINDINGS = [
        Binding("p", "pause", "Pause/resume", id="transfers.pause"),
        Binding("x", "cancel", "Cancel", id="transfers.cancel"),
        Binding("r", "retry", "Retry", id="transfers.retry"),
        Binding("c", "clear", "Clear finished", id="transfers.clear"),
        Binding("f", "cycle_filter", "Filter", id="transfers.filter"),
        Binding("plus", "move(-1)", "Up the queue", show=False, id="transfers.up"),
        Binding("minus", "move(1)", "Down the queue", show=False, id="transfers.down"),
    ]

    shown: reactive[str] = reactive("all")

    def __init__(self, queue: TransferQueue, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.queue = queue
        self.started: dict[int, float] = {}
        self._timer: Timer | None = None
        self._focus_on_mount = False

    def compose(self) -> ComposeResult:
        yield Static("", id="transfer-total")
        table: DataTable[Text | str] = DataTable(cursor_type="row", id="transfer-table")
        yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("state", key="state", width=7)
        table.add_column("name", key="name", width=24)
        table.add_column("progress", key="bar", width=12)
        table.add_column("bytes", key="bytes", width=9)
        table.add_column("speed", key="speed", width=9)
        table.add_column("ETA", key="eta", width=7)
        self.wake()
        if self._focus_on_mount:
            table.focus()

    def focus_table(self) -> None:
        """Give the queue the keyboard (once mounted, if it was only just made)."""
        if self.is_mounted:
            self.query_one(DataTable).focus()
        else:
            self._focus_on_mount = True

    # --- updates -------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was queued or changed: redraw, and keep redrawing while it runs."""
        if not self.is_mounted:
            return  # made a moment ago: on_mount draws the jobs and wakes it
        self.refresh_jobs()
        if self._timer is None:
            self._timer = self.set_interval(0.25, self._tick)

    def _tick(self) -> None:
        self.refresh_jobs()
        if all(job.state not in (State.RUNNING, State.QUEUED) for job in self.queue.jobs()):
            if self._timer is not None:
                self._timer.stop()  # idle: no periodic redraw over a slow link
                self._timer = None

    def _visible(self, jobs: list[Job]) -> list[Job]:
        files = [job for job in jobs if not job.is_dir or job.state is State.FAILED]
        if self.shown == "active":
            return [j for j in files if j.state in (State.QUEUED, State.RUNNING, State.PAUSED)]
        if self.shown == "failed":
            return [j for j in files if j.state in (State.FAILED, State.CANCELLED)]
        if self.shown == "done":
            return [j for j in files if j.state in (State.DONE, State.SKIPPED)]
        return files

    def refresh_jobs(self) -> None:
        jobs = self.queue.jobs()
        table = self.query_one(DataTable)
        visible = self._visible(jobs)
        keys = [str(job.id) for job in visible]
        existing = [str(row.value) for row in table.rows]
        if existing != keys:
            cursor = table.cursor_row
            table.clear()
            for job in visible:
                table.add_row(*self._cells(job), key=str(job.id))
            if visible:
                table.move_cursor(row=min(cursor, len(visible) - 1))
        else:
            for job in visible:
                for column, value in zip(("state", "name", "bar", "bytes", "speed", "eta"),
                                         self._cells(job), strict=True):  # fmt: skip
                    table.update_cell(str(job.id), column, value)
        self._total(jobs)

    def _cells(self, job: Job) -> tuple[Text, Text, Text, str, str, str]:
        now = time.monotonic()
        if job.state is State.RUNNING:
            self.started.setdefault(job.id, now)
        label, style = STATE_STYLE[job.state]
        name = Text(printable(job.name))
        if job.reason and job.state in (State.FAILED, State.SKIPPED, State.PAUSED):
            name = Text(printable(f"{job.name}: {job.reason}"), style=style)
        elapsed = now - self.started.get(job.id, now)
        speed = job.done / elapsed if job.state is State.RUNNING and elapsed > 0.2 else 0.0
        remaining = (job.size - job.done) / speed if speed and job.size else 0.0
        return (
            Text(label, style=style),
            name,
            bar(job.done, job.size),
            human_size(job.done),
            f"{human_size(int(speed))}/s" if speed else "",
            eta(remaining),
        )

    def _total(self, jobs: list[Job]) -> None:
        files = [job for job in jobs if not job.is_dir]
        total = sum(job.size or 0 for job in files)
        done = sum(min(job.done, job.size or job.done) for job in files)
        finished = sum(job.state in FINISHED for job in files)
        failed = sum(job.state is State.FAILED for job in files)
        text = Text("Transfers ", style="bold")
        text.append(bar(done, total, 20))
        text.append(f" {finished}/{len(files)} files, {human_size(done)} of {human_size(total)}")
        if failed:
            text.append(f"  {failed} failed", style="bold red")
        text.append(f"   [{self.shown}]", style="dim")
        self.query_one("#transfer-total", Static).update(text)

    def watch_shown(self) -> None:
        if self.is_mounted:
            self.refresh_jobs()

    # --- keys ----------------------------------------------------------------------------

    def _selected(self) -> Job | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((job for job in self.queue.jobs() if str(job.id) == key), None)

    def action_pause(self) -> None:
        job = self._selected()
        if job is None:
            return
        if job.state is State.PAUSED:
            self.queue.resume(job.id)
        else:
            self.queue.pause(job.id)
        self.wake()

    def action_cancel(self) -> None:
        job = self._selected()
        if job is not None:
            self.queue.cancel(job.id)
            self.wake()

    def action_retry(self) -> None:
        job = self._selected()
        self.queue.retry(job.id if job else None)
        self.wake()

    def action_clear(self) -> None:
        self.queue.clear_finished()
        self.refresh_jobs()

    def action_cycle_filter(self) -> None:
        self.shown = FILTERS[(FILTERS.index(self.shown) + 1) % len(FILTERS)]

    def action_move(self, offset: int) -> None:
        job = self._selected()
        if job is not None:
            self.queue.move(job.id, offset)
            self.refresh_jobs()
