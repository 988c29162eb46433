"""Provides TransferPanel: the queue with per-file progress, speed and ETA, and a total bar.

It redraws four times a second while something runs and not at all when idle, so a fast
transfer is not slowed by its own display and an idle screen sends nothing over the link.
Speeds are recent ones (``tui.transfer.rate.Rate``), not averages since the start.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import DataTable, Static

from tui.screens.confirm import ConfirmScreen
from tui.textsafe import printable
from tui.transfer.queue import FINISHED, Job, State, TransferQueue
from tui.transfer.rate import Rate, eta
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


class TransferPanel(Vertical, can_focus=False):
    BINDINGS = [
        Binding("p", "pause", "Pause/resume", id="transfers.pause"),
        Binding("x", "cancel", "Cancel", id="transfers.cancel"),
        Binding("r", "retry", "Retry", id="transfers.retry"),
        Binding("P", "pause_all", "Pause/resume all", show=False, id="transfers.pause_all"),
        Binding("X", "cancel_all", "Cancel all", show=False, id="transfers.cancel_all"),
        Binding("R", "retry_all", "Retry all", show=False, id="transfers.retry_all"),
        Binding("c", "clear", "Clear finished", id="transfers.clear"),
        Binding("f", "cycle_filter", "Filter", id="transfers.filter"),
        Binding("plus", "move(-1)", "Up the queue", show=False, id="transfers.up"),
        Binding("minus", "move(1)", "Down the queue", show=False, id="transfers.down"),
    ]

    shown: reactive[str] = reactive("all")

    class JobHighlighted(Message):
        """The queue's cursor is on ``job``: its whole name and reason, which the table's
        columns cut at 80 columns, go to the status line (as in mc's mini-status)."""

        def __init__(self, job: Job) -> None:
            super().__init__()
            self.job = job

    def __init__(self, queue: TransferQueue, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.queue = queue
        self.clock: Callable[[], float] = time.monotonic  # tests and screenshots stop it
        self.rates: dict[int, Rate] = {}  # per running job
        self.batch = Rate()  # all of them: bytes moved by any job, finished ones too
        self.moved = 0
        self.seen: dict[int, int] = {}  # each job's bytes at the last redraw
        self._timer: Timer | None = None
        self._focus_on_mount = False
        self._told: tuple[int, str] | None = None  # the job (and reason) last highlighted

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
        self._told = None  # the status line says the cursor's job again
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
        speeds, speed = self._speeds(jobs)
        table = self.query_one(DataTable)
        visible = self._visible(jobs)
        keys = [str(job.id) for job in visible]
        existing = [str(row.value) for row in table.rows]
        if existing != keys:
            cursor = table.cursor_row
            table.clear()
            for job in visible:
                table.add_row(*self._cells(job, speeds.get(job.id, 0.0)), key=str(job.id))
            if visible:
                table.move_cursor(row=min(cursor, len(visible) - 1))
        else:
            for job in visible:
                cells = self._cells(job, speeds.get(job.id, 0.0))
                for column, value in zip(("state", "name", "bar", "bytes", "speed", "eta"),
                                         cells, strict=True):  # fmt: skip
                    table.update_cell(str(job.id), column, value)
        self._total(jobs, speed)
        self._tell_cursor_job()

    def _speeds(self, jobs: list[Job]) -> tuple[dict[int, float], float]:
        """Each running job's recent speed, and the whole batch's: the bytes any job moved,
        so files that started and finished between two redraws count too."""
        now = self.clock()
        speeds = {}
        seen = {}
        for job in jobs:
            self.moved += max(0, job.done - self.seen.get(job.id, 0))
            seen[job.id] = job.done
            if job.state is State.RUNNING:
                speeds[job.id] = self.rates.setdefault(job.id, Rate()).update(now, job.done)
        self.seen = seen
        for job_id in self.rates.keys() - speeds.keys():
            del self.rates[job_id]  # stopped: a resumed job measures afresh
        if not speeds:
            self.batch = Rate()  # idle or all paused: the next run measures afresh
            return speeds, 0.0
        return speeds, self.batch.update(now, self.moved)

    def _cells(self, job: Job, speed: float) -> tuple[Text, Text, Text, str, str, str]:
        label, style = STATE_STYLE[job.state]
        name = Text(printable(job.name))
        if job.reason and job.state in (State.FAILED, State.SKIPPED, State.PAUSED):
            name = Text(printable(f"{job.name}: {job.reason}"), style=style)
        remaining = (job.size - job.done) / speed if speed and job.size else 0.0
        return (
            Text(label, style=style),
            name,
            bar(job.done, job.size),
            human_size(job.done),
            f"{human_size(int(speed))}/s" if speed else "",
            eta(remaining),
        )

    def _total(self, jobs: list[Job], speed: float) -> None:
        """One line: a bar for the whole batch, files and bytes, and while anything moves
        the total speed and the time left. The bar gives way first in a narrow terminal."""
        files = [job for job in jobs if not job.is_dir]
        total = sum(job.size or 0 for job in files)
        done = sum(min(job.done, job.size or job.done) for job in files)
        finished = sum(job.state in (State.DONE, State.SKIPPED) for job in files)
        failed = sum(job.state is State.FAILED for job in files)
        cancelled = sum(job.state is State.CANCELLED for job in files)
        summary = Text(f" {finished}/{len(files)} files, {human_size(done)} of {human_size(total)}")
        if speed:
            coming = sum(
                max(0, (job.size or 0) - job.done)
                for job in files
                if job.state in (State.RUNNING, State.QUEUED)
            )
            summary.append(f"  {human_size(int(speed))}/s")
            if left := eta(coming / speed):
                summary.append(f" {left} left")
        if failed:
            summary.append(f"  {failed} failed", style="bold red")
        if cancelled:
            summary.append(f"  {cancelled} cancelled", style="yellow")
        summary.append(f"  [{self.shown}]", style="dim")
        line = self.query_one("#transfer-total", Static)
        room = line.content_size.width or 78
        label = Text("Transfers ", style="bold")
        if len(label) + 6 + len(summary) > room:
            label = Text("")  # a huge batch in a narrow terminal: the numbers matter more
        width = max(6, min(20, room - len(label) - len(summary)))
        line.update(Text.assemble(label, bar(done, total, width), summary))

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

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._tell_cursor_job()

    def _tell_cursor_job(self) -> None:
        """Post JobHighlighted when the cursor reaches another job, or its job gets a new
        reason (it failed or was paused under the cursor)."""
        if not self.query_one(DataTable).has_focus:
            return  # a redraw while the user is in the panes: their status line stays
        job = self._selected()
        told = None if job is None else (job.id, job.reason)
        if job is not None and told != self._told:
            self._told = told
            self.post_message(self.JobHighlighted(job))

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

    def action_pause_all(self) -> None:
        """Pause everything that is waiting or running; when nothing is, resume it all."""
        if any(job.state in (State.RUNNING, State.QUEUED) for job in self.queue.jobs()):
            self.queue.pause()
        else:
            self.queue.resume()
        self.wake()

    def action_cancel_all(self) -> None:
        """Cancel every unfinished job, after asking: their partial files are removed."""
        count = sum(job.state not in FINISHED for job in self.queue.jobs() if not job.is_dir)
        if not count:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.queue.cancel()
                self.wake()

        question = f"Cancel {count} unfinished transfer(s)? Their partial files are removed."
        self.app.push_screen(ConfirmScreen(question, yes="Cancel all", danger=True), answered)

    def action_retry_all(self) -> None:
        self.queue.retry()
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
