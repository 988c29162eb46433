"""Provides CursorView: a virtual list of rows with a cursor, drawn with the Line API.

The file panes and the transfer queue both show lists that may hold 100,000 rows; only
the rows on screen are drawn, and a cursor move redraws the two rows it changes (in light
mode, the one marker cell of each). Subclasses say how many rows there are and draw them.
"""

from __future__ import annotations

from textual import events
from textual.geometry import Region
from textual.reactive import reactive
from textual.scroll_view import ScrollView


class CursorView(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"cursor-view--cursor", "cursor-view--cursor-blurred"}

    DEFAULT_CSS = """
    CursorView {
        background: $surface;
    }
    CursorView > .cursor-view--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    CursorView > .cursor-view--cursor-blurred {
        background: $block-cursor-blurred-background;
    }
    """

    # repaint=False: a move redraws the two rows it changes, never the whole list.
    cursor_line: reactive[int] = reactive(0, always_update=True, init=False, repaint=False)

    light = False
    """Slow links: the cursor is a one-cell marker, and scrolling jumps half a page."""

    @property
    def row_count(self) -> int:
        raise NotImplementedError

    @property
    def cursor_style_name(self) -> str:
        """The component class of the cursor's row as things stand (focused or not)."""
        return "cursor-view--cursor" if self.has_focus else "cursor-view--cursor-blurred"

    def cursor_moved(self) -> None:
        """Called after every cursor move, for subclasses to tell whoever listens."""

    # --- drawing -----------------------------------------------------------------------

    def _refresh_row(self, index: int) -> None:
        """Redraw what the cursor changes on a row: the row (not the scrollbar beside it),
        or in light mode only the marker cell."""
        y = index - self.scroll_offset.y
        if 0 <= y < self.scrollable_content_region.height:
            width = 1 if self.light else self.scrollable_content_region.width
            self.refresh(Region(0, y, width, 1))

    def watch_cursor_line(self, previous: int, value: int) -> None:
        self._refresh_row(previous)
        self._refresh_row(value)
        self._show_cursor()
        self.cursor_moved()

    def _show_cursor(self) -> None:
        height = self.scrollable_content_region.height
        top = self.scroll_offset.y
        if height <= 0:
            return
        # Scrolling redraws the whole list; in light mode it jumps half a page, so a slow
        # link pays for one redraw every few rows instead of one per row.
        jump = height // 2 if self.light else 0
        if self.cursor_line < top:
            self.scroll_to(y=max(self.cursor_line - jump, 0), animate=False)
        elif self.cursor_line >= top + height:
            self.scroll_to(y=self.cursor_line - height + 1 + jump, animate=False)

    def on_focus(self) -> None:
        self._refresh_row(self.cursor_line)

    def on_blur(self) -> None:
        self._refresh_row(self.cursor_line)

    # --- moving ------------------------------------------------------------------------

    def move_cursor_to_line(self, index: int) -> None:
        if self.row_count:
            self.cursor_line = max(0, min(index, self.row_count - 1))

    def action_cursor_down(self) -> None:
        self.move_cursor_to_line(self.cursor_line + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor_to_line(self.cursor_line - 1)

    def _page(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def action_page_down(self) -> None:
        self.move_cursor_to_line(self.cursor_line + self._page())

    def action_page_up(self) -> None:
        self.move_cursor_to_line(self.cursor_line - self._page())

    def action_scroll_home(self) -> None:
        self.move_cursor_to_line(0)

    def action_scroll_end(self) -> None:
        self.move_cursor_to_line(self.row_count - 1)

    def clicked_row(self, event: events.Click) -> int | None:
        """The row under a click, if there is one."""
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        index = self.scroll_offset.y + offset.y
        return index if 0 <= index < self.row_count else None
