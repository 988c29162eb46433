"""Provides TransferPanel: the queue with per-file progress, speed and ETA, and a total bar.

It redraws four times a second while something runs and not at all when idle, so a fast
transfer is not slowed by its own display and an idle screen sends nothing over the link.
Speeds are recent ones (``tui.transfer.rate.Rate``), not averages since the start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static

from tui.transfer.queue import FINISHED, Job, State, TransferQueue
from tui.transfer.rate import Rate, eta
from tui.transfer.ratelimit import RateLimit, format_rate
from tui.widgets.job_list import JobHeader, JobList, bar
from tui.widgets.rows import human_size

FILTERS = ("all", "active", "failed", "done")


@dataclass
class Tally:
    """The queue's numbers for the total line, and the speeds (bytes per second)."""

    active: int = 0  # jobs queued or running, folders too
    files: int = 0
    total: int = 0  # bytes of every file of known size
    done: int = 0
    moved: int = 0  # bytes every job moved, finished ones too
    coming: int = 0  # bytes still to come from queued and running files
    finished: int = 0  # copied or skipped
    failed: int = 0
    cancelled: int = 0
    speeds: dict[int, float] = field(default_factory=dict)  # running job id -> speed
    speed: float = 0.0  # the whole batch's


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
        Binding(
            "l",
            "limit_rate",
            "Rate cap",
            id="transfers.limit_rate",
            tooltip="Set or clear one speed limit for all transfers",
            show=False,  # F1 lists it; the key bar keeps F1-F10 whole at 80 columns
        ),  # fmt: skip
    ]

    shown: reactive[str] = reactive("all")

    class JobHighlighted(Message):
        """The queue's cursor is on ``job``: its whole name and reason, which the name
        column cuts at 80 columns, go to the status line (as in mc's mini-status)."""

        def __init__(self, job: Job) -> None:
            super().__init__()
            self.job = job

    class CancelAllRequested(Message):
        """Shift+X: ``count`` unfinished jobs would be cancelled; the screen asks, then
        calls ``cancel_all``."""

        def __init__(self, panel: TransferPanel, count: int) -> None:
            super().__init__()
            self.panel = panel
            self.count = count

    class RateCapRequested(Message):
        """``l``: the user wants to set or clear the one rate cap for all transfers; the
        screen asks for the rate (issue 23)."""

    def __init__(self, queue: TransferQueue, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.queue = queue
        self.clock: Callable[[], float] = time.monotonic  # tests and screenshots stop it
        self.rates: dict[int, Rate] = {}  # per running job
        self.batch_rate = Rate()  # all of them: bytes moved by any job, finished ones too
        self.moved = 0  # those bytes at the last redraw
        self._timer: Timer | None = None
        self._focus_on_mount = False
        self._follow_on_mount: Job | None = None
        self._told: tuple[int, str] | None = None  # the job (and reason) last highlighted
        self.limit: RateLimit | None = None  # the engine's rate cap, shown and set here

    def compose(self) -> ComposeResult:
        yield Static("", id="transfer-total")
        yield JobHeader(id="transfer-header")
        yield JobList(id="transfer-list")

    def on_mount(self) -> None:
        self.wake()
        if self._follow_on_mount is not None:
            self.query_one(JobList).follow(self._follow_on_mount)
        if self._focus_on_mount:
            self.query_one(JobList).focus()

    def focus_list(self) -> None:
        """Give the queue the keyboard (once mounted, if it was only just made)."""
        self._told = None  # the status line says the cursor's job again
        if self.is_mounted:
            self.query_one(JobList).focus()
        else:
            self._focus_on_mount = True

    # --- updates -------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was queued or changed: redraw now if the panel was idle, and keep
        redrawing while anything runs. While it runs, the next tick shows the change: a
        tree's jobs change hundreds of times a second, and each redraw walks the queue."""
        if not self.is_mounted:
            return  # made a moment ago: on_mount draws the jobs and wakes it
        if self._timer is None:
            self.refresh_jobs()
            self._timer = self.set_interval(0.25, self._tick)

    def _acted(self) -> None:
        """The user changed the queue: show it at once, ticking or not."""
        if self._timer is not None:
            self.refresh_jobs()
        self.wake()

    def _tick(self) -> None:
        if not self.refresh_jobs().active and self._timer is not None:
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

    def refresh_jobs(self) -> Tally:
        jobs = self.queue.jobs()
        tally = self._tally(jobs)
        self.query_one(JobList).set_jobs(self._visible(jobs), tally.speeds)
        self._total(tally)
        self._tell_cursor_job()
        return tally

    def _tally(self, jobs: list[Job]) -> Tally:
        """The batch's numbers, in one pass over the queue (it may hold 100,000 jobs, and
        this runs four times a second), and the speeds: each running job's, and the whole
        batch's from the bytes all jobs moved, so files that started and ended between two
        redraws count too."""
        # Locals and identity tests in the loop, not the Tally's attributes or a dict by
        # state (an Enum hashes in Python): the loop is most of what a redraw costs.
        running_state, queued_state, done_state = State.RUNNING, State.QUEUED, State.DONE
        failed_state, cancelled_state, skipped_state = State.FAILED, State.CANCELLED, State.SKIPPED
        running: list[Job] = []
        files = active = moved = total = done = coming = finished = failed = cancelled = 0
        for job in jobs:
            moved += job.done
            state = job.state
            if job.is_dir:
                active += state is running_state or state is queued_state
                continue
            files += 1
            size = job.size or 0
            total += size
            done += job.done if not size or job.done < size else size
            if state is queued_state:
                active += 1
                coming += size
            elif state is running_state:
                active += 1
                running.append(job)
                coming += max(0, size - job.done)
            elif state is done_state or state is skipped_state:
                finished += 1
            elif state is failed_state:
                failed += 1
            elif state is cancelled_state:
                cancelled += 1
        tally = Tally(active, files, total, done, moved, coming, finished, failed, cancelled)
        now = self.clock()
        for job in running:
            tally.speeds[job.id] = self.rates.setdefault(job.id, Rate()).update(now, job.done)
        for job_id in self.rates.keys() - tally.speeds.keys():
            del self.rates[job_id]  # stopped: a resumed job measures afresh
        if tally.moved < self.moved:
            self.batch_rate = Rate()  # finished jobs were cleared away: measure afresh
        self.moved = tally.moved
        if not running:
            self.batch_rate = Rate()  # idle or all paused: the next run measures afresh
        else:
            tally.speed = self.batch_rate.update(now, tally.moved)
        return tally

    def _total(self, tally: Tally) -> None:
        """One line: a bar for the whole batch, files and bytes, and while anything moves
        the total speed and the time left. The bar gives way first in a narrow terminal."""
        summary = Text(f" {tally.finished}/{tally.files} files, {human_size(tally.done)} of "
                       f"{human_size(tally.total)}")  # fmt: skip
        if tally.speed:
            summary.append(f"  {human_size(int(tally.speed))}/s")
            if left := eta(tally.coming / tally.speed):
                summary.append(f" {left} left")
        if tally.failed:
            summary.append(f"  {tally.failed} failed", style="bold red")
        if tally.cancelled:
            summary.append(f"  {tally.cancelled} cancelled", style="yellow")
        if self.limit is not None and self.limit.rate:
            summary.append(f"  cap {format_rate(self.limit.rate)}/s", style="yellow")
        summary.append(f"  [{self.shown}]", style="dim")
        line = self.query_one("#transfer-total", Static)
        room = line.content_size.width or 78
        label = Text("Transfers ", style="bold")
        if len(label) + 6 + len(summary) > room:
            label = Text("")  # a huge batch in a narrow terminal: the numbers matter more
        width = max(6, min(20, room - len(label) - len(summary)))
        line.update(Text.assemble(label, bar(tally.done, tally.total, width), summary))

    def watch_shown(self) -> None:
        if self.is_mounted:
            self.refresh_jobs()

    # --- keys ----------------------------------------------------------------------------

    def _selected(self) -> Job | None:
        return self.query_one(JobList).cursor_job

    @on(JobList.CursorMoved)
    def _cursor_moved(self, event: JobList.CursorMoved) -> None:
        event.stop()
        self._tell_cursor_job()

    def _tell_cursor_job(self) -> None:
        """Post JobHighlighted when the cursor reaches another job, or its job gets a new
        reason (it failed or was paused under the cursor)."""
        if not self.query_one(JobList).has_focus:
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
        self._acted()

    def action_cancel(self) -> None:
        job = self._selected()
        if job is not None:
            self.queue.cancel(job.id)
            self._acted()

    def action_retry(self) -> None:
        job = self._selected()
        self.queue.retry(job.id if job else None)
        self._acted()

    def action_pause_all(self) -> None:
        """Pause everything that is waiting or running; when nothing is, resume it all."""
        if any(job.state in (State.RUNNING, State.QUEUED) for job in self.queue.jobs()):
            self.queue.pause()
        else:
            self.queue.resume()
        self._acted()

    def action_cancel_all(self) -> None:
        """Cancel every unfinished job, once the screen has asked: their partial files
        are removed."""
        count = sum(job.state not in FINISHED for job in self.queue.jobs() if not job.is_dir)
        if count:
            self.post_message(self.CancelAllRequested(self, count))

    def cancel_all(self) -> None:
        self.queue.cancel()
        self._acted()

    def bring_into_view(self, job: Job) -> None:
        """Put the cursor on ``job`` (jobs just queued), showing every job to find it."""
        self.shown = "all"
        if not self.is_mounted:
            self._follow_on_mount = job
            return
        self.refresh_jobs()
        self.query_one(JobList).follow(job)

    def action_retry_all(self) -> None:
        self.queue.retry()
        self._acted()

    def action_clear(self) -> None:
        self.queue.clear_finished()
        self.refresh_jobs()

    def action_cycle_filter(self) -> None:
        self.shown = FILTERS[(FILTERS.index(self.shown) + 1) % len(FILTERS)]

    def action_limit_rate(self) -> None:
        """Ask (through the screen) for a rate cap for all transfers together."""
        if self.limit is not None:
            self.post_message(self.RateCapRequested())

    def action_move(self, offset: int) -> None:
        job = self._selected()
        if job is not None:
            self.queue.move(job.id, offset)
            self.refresh_jobs()
