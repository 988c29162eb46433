"""Provides LogPanel: the protocol conversation, each reply with its plain-language meaning."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.remote.replies import meaning
from tui.textsafe import printable

MAX_LINES = 2000


def log_line(direction: str, line: str) -> Text:
    """``> USER bob`` / ``< 530 Login incorrect.  Not logged in`` as styled text."""
    text = Text(end="")
    if direction == ">":
        text.append("> " + printable(line), style="cyan")
        return text
    if direction == "*":
        text.append("* " + printable(line), style="italic dim")
        return text
    style = ""
    if line[:1] in ("4", "5"):
        style = "red"
    elif line[:1] == "2":
        style = "green"
    text.append("< " + printable(line), style=style)
    if line[:3].isdigit() and line[3:4] in (" ", ""):
        text.append(f"   {meaning(int(line[:3]))}", style="dim italic")
    return text


class LogPanel(ScrollView, can_focus=True):
    """The last ``MAX_LINES`` lines, one row each (long lines scroll sideways), following
    the end unless scrolled back.

    Its own small widget rather than Textual's RichLog: that one imports rich.pretty (and
    attrs with it) for renderables a protocol log never shows, 7 ms of every start-up.
    """

    DEFAULT_CSS = """
    LogPanel {
        background: $surface;
        color: $foreground;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines_seen: deque[str] = deque(maxlen=MAX_LINES)  # the same, plain
        self._strips: deque[Strip] = deque(maxlen=MAX_LINES)
        self._widest = 0
        self._following = True

    def add(self, direction: str, line: str) -> None:
        self.lines_seen.append(f"{direction} {line}")
        text = log_line(direction, line)
        self._strips.append(Strip(text.render(self.app.console), text.cell_len))
        self._widest = max(self._widest, text.cell_len)
        self.virtual_size = Size(self._widest, len(self._strips))
        if self._following and self.display:  # hidden (the default), toggle() scrolls
            self.scroll_end(animate=False, x_axis=False)  # once the new size is laid out
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Scrolled back, a reader keeps the place; back at the end, the log follows again.
        self._following = new_value >= self.max_scroll_y

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if not 0 <= index < len(self._strips):
            return Strip.blank(width, self.rich_style)
        left = self.scroll_offset.x
        strip = self._strips[index].crop_extend(left, left + width, None)
        return strip.apply_style(self.rich_style)

    def toggle(self) -> None:
        """Show or hide; shown, it starts at the latest line (lines come while hidden)."""
        self.display = not self.display
        if self.display:
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)
