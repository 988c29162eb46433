"""Provides FileTree: the tree of a pane as a virtual list.

The rows are a flat list of small records (``Line``), laid out by the pane from its kept
listings; only the rows on screen are ever turned into text, so a folder of 100,000
entries opens, sorts and filters in a fraction of a second, and moving the cursor redraws
two rows (in light mode, two cells).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Protocol, cast

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.strip import Strip

from tui.remote.base import Entry
from tui.widgets.cursor_view import CursorView


class Pane(Protocol):
    """What the tree asks of the pane it sits in (``tui.widgets.file_pane.FilePane``),
    as a protocol: the pane imports the tree, and an import back would be a circle."""

    def label_for(self, line: Line, width: int) -> Text: ...

    def toggle(self, index: int) -> None: ...

    def go_up(self) -> None: ...

    def toggle_mark(self) -> None: ...


@dataclass
class Row:
    """What a tree node stands for."""

    path: str
    entry: Entry | None


class Line:
    """One row of the tree: an entry of a listed folder, or a note ("loading…")."""

    __slots__ = ("depth", "folder", "entry", "note", "expanded", "label", "generation")

    def __init__(self, depth: int, folder: str, entry: Entry | None = None,
                 note: Text | None = None) -> None:  # fmt: skip
        self.depth = depth
        self.folder = folder
        self.entry = entry
        self.note = note
        self.expanded = False
        self.label: Text | None = None  # made when first drawn, for the rows on screen only
        self.generation = -1

    @property
    def path(self) -> str:
        return posixpath.join(self.folder, self.entry.name) if self.entry else self.folder

    @property
    def is_dir(self) -> bool:
        return self.entry is not None and self.entry.is_dir

    @property
    def row(self) -> Row | None:
        return Row(self.path, self.entry) if self.entry is not None else None


class FileTree(CursorView):
    """The tree inside a pane, with Midnight Commander and vim movement."""

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="pane.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="pane.up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="pane.page-down"),
        Binding("pageup", "page_up", "Page up", show=False, id="pane.page-up"),
        Binding("home,g", "scroll_home", "Top", show=False, id="pane.top"),
        Binding("end,G", "scroll_end", "Bottom", show=False, id="pane.bottom"),
        Binding("l,right", "open", "Expand", show=False, id="pane.expand"),
        Binding("h,left", "close", "Collapse", show=False, id="pane.collapse"),
        Binding("enter", "open", "Open", show=False, id="pane.open"),
        Binding("backspace", "up", "Up a level", show=False, id="pane.parent"),
        Binding("space,insert", "mark", "Select", show=False, id="pane.mark"),
    ]

    def __init__(self, *, light: bool = False) -> None:
        super().__init__()
        self.light = light  # slow links: the cursor is a marker, one cell changes per move
        self.lines: list[Line] = []
        self.generation = 0  # bumped when every label must be made again
        self._drawn_width = -1

    @property
    def pane(self) -> Pane:
        return cast(Pane, self.query_ancestor("FilePane"))

    # --- contents ----------------------------------------------------------------------

    def set_lines(self, lines: list[Line], cursor: int = 0) -> None:
        self.lines = lines
        self.generation += 1
        # Rows are cut to the width, so nothing scrolls sideways: a virtual width of 0 keeps
        # a resize from changing the virtual size, which would lay out the screen again.
        self.virtual_size = Size(0, len(lines))
        self.set_reactive(FileTree.cursor_line, max(0, min(cursor, len(lines) - 1)))
        self._show_cursor()
        self.refresh()

    def relabel(self) -> None:
        """Make every label again when next drawn (marks, width, compare)."""
        self.generation += 1
        self.refresh()

    @property
    def cursor(self) -> Line | None:
        return self.lines[self.cursor_line] if 0 <= self.cursor_line < len(self.lines) else None

    # --- drawing -----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        self._drawn_width = width
        if index >= len(self.lines) or width <= 0:
            return Strip.blank(width, self.rich_style)
        name = self.cursor_style_name
        if self.light:
            marker = "\u203a" if index == self.cursor_line else " "
            text = Text(marker, style=self.get_component_rich_style(name, partial=True))
            text.append_text(self.row_text(index, width - 1))
            text.truncate(width, pad=True)
        else:
            text = self.row_text(index, width)
            text.truncate(width, pad=True)
            if index == self.cursor_line:
                text.stylize(self.get_component_rich_style(name, partial=True))
        strip = Strip(text.render(self.app.console), width)
        return strip.apply_style(self.rich_style)

    def row_text(self, index: int, width: int | None = None) -> Text:
        """Row ``index`` as drawn: indentation, the folder icon, the label."""
        width = self.scrollable_content_region.width if width is None else width
        line = self.lines[index]
        text = Text(" " * (2 * line.depth), end="")
        if line.note is not None:
            text.append_text(line.note)
            return text
        assert line.entry is not None
        text.append(("\u25bc " if line.expanded else "\u25b6 ") if line.is_dir else "  ")
        if line.label is None or line.generation != self.generation:
            room = max(width - 2 * line.depth - 2, 12)
            line.label = self.pane.label_for(line, room)
            line.generation = self.generation
        text.append_text(line.label)
        return text

    def on_mount(self) -> None:
        if self.light:
            # No scrollbar: redrawing its column cost a third of every scroll's bytes.
            self.styles.scrollbar_size_vertical = 0

    def on_resize(self) -> None:
        # Labels are cut to the width; made for this width already (the first frame is
        # drawn before the first resize arrives), they would only be drawn and sent again.
        if self.scrollable_content_region.width != self._drawn_width:
            self.relabel()

    @property
    def row_count(self) -> int:
        return len(self.lines)

    def action_open(self) -> None:
        line = self.cursor
        if line is not None and line.is_dir:
            self.pane.toggle(self.cursor_line)

    def action_close(self) -> None:
        line = self.cursor
        if line is None:
            return
        if line.expanded:
            self.pane.toggle(self.cursor_line)
        else:
            parent = self.parent_of(self.cursor_line)
            if parent is not None:
                self.cursor_line = parent

    def parent_of(self, index: int) -> int | None:
        """The row of the folder that holds row ``index`` (None at the top level)."""
        depth = self.lines[index].depth
        for above in range(index - 1, -1, -1):
            if self.lines[above].depth < depth:
                return above
        return None

    def action_up(self) -> None:
        self.pane.go_up()

    def action_mark(self) -> None:
        self.pane.toggle_mark()
        self.action_cursor_down()

    def on_click(self, event: events.Click) -> None:
        index = self.clicked_row(event)
        if index is None:
            return
        if index == self.cursor_line and self.lines[index].is_dir:
            self.pane.toggle(index)
        else:
            self.cursor_line = index
