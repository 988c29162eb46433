"""Provides JobList: the transfer queue's rows, made only where they show.

The queue was a DataTable, which updated every row four times a second and was rebuilt
whenever a folder's files joined the queue: with 20,000 jobs a redraw took 0.75 s, so a
big tree froze the app. Here the panel hands over the jobs to show and only the rows on
screen are drawn (the Line API, as in the file panes), and of those only the ones that
changed are sent to the terminal.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Static

from tui.textsafe import printable
from tui.transfer.queue import Direction, Job, State
from tui.transfer.rate import eta
from tui.widgets.cursor_view import CursorView
from tui.widgets.rows import human_size

STATE_STYLE = {
    State.QUEUED: ("queued", "dim"),
    State.RUNNING: ("active", "bold cyan"),
    State.PAUSED: ("paused", "yellow"),
    State.DONE: ("done", "green"),
    State.FAILED: ("FAILED", "bold red"),
    State.SKIPPED: ("skipped", "yellow"),
    State.CANCELLED: ("cancel", "dim"),
}
WITH_REASON = (State.FAILED, State.SKIPPED, State.PAUSED)
# Column widths around the name, which takes the rest: state, progress, bytes, speed, ETA.
STATE_WIDTH, BAR_WIDTH, BYTES_WIDTH, SPEED_WIDTH, ETA_WIDTH = 7, 12, 9, 10, 7
FIXED = 1 + STATE_WIDTH + 1 + 1 + BAR_WIDTH + 1 + BYTES_WIDTH + 1 + SPEED_WIDTH + 1 + ETA_WIDTH
NARROW_BAR = 5  # under 76 cells the bar shrinks, so that the name keeps room (60 columns)


def bar_width(width: int) -> int:
    return BAR_WIDTH if width >= 76 else NARROW_BAR


def bar(done: int, total: int | None, width: int = BAR_WIDTH) -> Text:
    if not total:
        return Text("·" * width, style="dim")
    filled = min(width, int(width * done / total))
    text = Text("█" * filled, style="cyan")
    text.append("░" * (width - filled), style="dim")
    return text


def name_width(width: int) -> int:
    return max(8, width - FIXED + BAR_WIDTH - bar_width(width))


ARROWS = {Direction.DOWNLOAD: "\u2193", Direction.UPLOAD: "\u2191"}
"""A download points down to the local disk, an upload up to the server (no colour needed)."""


def job_name(job: Job, room: int) -> str:
    """The arrow and the job's path on the server (where the same name from two folders
    differs); too long, its start gives way: the name at the end is what one looks for."""
    remote = job.source if job.direction is Direction.DOWNLOAD else job.target
    shown = f"{ARROWS[job.direction]} {printable(remote)}"
    if len(shown) > room:
        shown = shown[:2] + "\u2026" + shown[len(shown) - room + 3 :]
    return shown


def columns(width: int, state: Text, name: Text, progress: Text, moved: str, speed: str,
            left: str) -> Text:  # fmt: skip
    """One row (or the header) laid out for ``width`` cells."""
    room = name_width(width)
    name.truncate(room, overflow="ellipsis", pad=True)
    state.truncate(STATE_WIDTH, pad=True)
    text = Text(" ")
    text.append_text(state)
    text.append(" ")
    text.append_text(name)
    text.append(" ")
    text.append_text(progress)
    text.append(f" {moved:>{BYTES_WIDTH}} {speed:>{SPEED_WIDTH}} {left:>{ETA_WIDTH}}")
    return text


class JobHeader(Static):
    """The column titles, laid out as the rows below them are."""

    def render(self) -> Text:
        width = self.content_size.width
        title = Text("progress" if bar_width(width) == BAR_WIDTH else "done")
        title.truncate(bar_width(width), pad=True)
        return columns(self.content_size.width, Text("state"), Text("name"), title, "bytes",
                       "speed", "ETA")  # fmt: skip


class JobList(CursorView):
    """The jobs the panel shows, one row each, with a cursor."""

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="queue.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="queue.up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="queue.page-down"),
        Binding("pageup", "page_up", "Page up", show=False, id="queue.page-up"),
        Binding("home,g", "scroll_home", "Top", show=False, id="queue.top"),
        Binding("end,G", "scroll_end", "Bottom", show=False, id="queue.bottom"),
    ]

    class CursorMoved(Message):
        """The cursor is on another row."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.jobs: list[Job] = []
        self.speeds: dict[int, float] = {}
        self._drawn: dict[int, tuple[object, ...]] = {}  # screen row -> what it shows

    # --- contents ----------------------------------------------------------------------

    @property
    def cursor_job(self) -> Job | None:
        return self.jobs[self.cursor_line] if 0 <= self.cursor_line < len(self.jobs) else None

    def set_jobs(self, jobs: list[Job], speeds: dict[int, float]) -> None:
        """Show ``jobs``; the cursor stays on its job wherever that moved to. Only rows on
        screen whose contents changed are drawn again."""
        followed = self.cursor_job
        line = self.cursor_line
        self.jobs, self.speeds = jobs, speeds
        if self.virtual_size.height != len(jobs):
            self.virtual_size = Size(0, len(jobs))  # no sideways scrolling: rows are cut
        if followed is not None and not (line < len(jobs) and jobs[line] is followed):
            line = next((index for index, job in enumerate(jobs) if job is followed), line)
        line = max(0, min(line, len(jobs) - 1))
        if line != self.cursor_line:
            self.cursor_line = line
        self._show_cursor()
        top, width = self.scroll_offset.y, self.scrollable_content_region.width
        for y in range(self.scrollable_content_region.height):
            if self._drawn.get(y) != self._signature(top + y):
                self.refresh(Region(0, y, width, 1))

    def _signature(self, index: int) -> tuple[object, ...]:
        if index >= len(self.jobs):
            return ()
        job = self.jobs[index]
        cursor = index == self.cursor_line
        return (job.id, job.state, job.done, job.size, job.reason,
                int(self.speeds.get(job.id, 0.0)), cursor, cursor and self.has_focus)  # fmt: skip

    # --- drawing -----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        self._drawn[y] = self._signature(index)
        if index >= len(self.jobs) or width <= 0:
            return Strip.blank(width, self.rich_style)
        text = self.row_text(index, width)
        text.truncate(width, pad=True)
        if index == self.cursor_line:
            name = self.cursor_style_name
            text.stylize(self.get_component_rich_style(name, partial=True))
        return Strip(text.render(self.app.console), width).apply_style(self.rich_style)

    def row_text(self, index: int, width: int | None = None) -> Text:
        """Row ``index`` as drawn: state, name (with the reason when there is one),
        progress bar, bytes, speed and time left."""
        width = self.scrollable_content_region.width if width is None else width
        job = self.jobs[index]
        label, style = STATE_STYLE[job.state]
        name = Text(job_name(job, name_width(width)))
        if job.reason and job.state in WITH_REASON:
            name = Text(f"{ARROWS[job.direction]} {printable(f'{job.name}: {job.reason}')}",
                        style=style)  # fmt: skip
        speed = self.speeds.get(job.id, 0.0)
        remaining = (job.size - job.done) / speed if speed and job.size else 0.0
        shown_speed = f"{human_size(int(speed))}/s" if speed else ""
        return columns(width, Text(label, style=style), name,
                       bar(job.done, job.size, bar_width(width)),
                       human_size(job.done), shown_speed, eta(remaining))  # fmt: skip

    @property
    def row_count(self) -> int:
        return len(self.jobs)

    def follow(self, job: Job) -> None:
        """Move the cursor to ``job`` (scrolled into view), if it is listed."""
        for index, listed in enumerate(self.jobs):
            if listed is job:
                self.cursor_line = index
                self._show_cursor()
                self.call_after_refresh(self._show_cursor)  # a panel just shown: its size
                return

    def cursor_moved(self) -> None:
        self.post_message(self.CursorMoved())

    def on_click(self, event: events.Click) -> None:
        index = self.clicked_row(event)
        if index is not None:
            self.cursor_line = index
