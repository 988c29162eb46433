"""Provides FilePane: one side of the main screen, a lazily loaded tree of a RemoteFS.

Directories expand in place; their listings load in a thread worker (a "loading…" row shows
meanwhile) and are kept, so sorting, filtering and the hidden-files toggle never re-read the
server. Names are data: each row is built as a ``Text`` from ``printable(name)``.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static, Tree
from textual.widgets.tree import TreeNode

from tui.errors import FerrymanError
from tui.remote.base import Entry, EntryType, RemoteFS
from tui.remote.local import LocalFS
from tui.textsafe import printable

SORTS = ("name", "size", "time")


@dataclass
class Row:
    """What a tree node stands for."""

    path: str
    entry: Entry | None
    loaded: bool = False


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            return f"{int(value)}{unit}" if unit == "" else f"{value:.1f}{unit}"
        value /= 1024
    return str(size)


def short_time(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return ""
    now = now or datetime.now(UTC)
    if abs((now - when).days) < 180:
        return when.strftime("%b %d %H:%M")
    return when.strftime("%b %d  %Y")


COMPARE_MARKS = {
    "only": ("+", "bold green"),  # only on this side
    "newer": (">", "bold cyan"),
    "older": ("<", "yellow"),
    "different": ("≠", "bold red"),
}
"""How a compare result shows on a row: a sign before the name, and the name's colour."""


def row_text(
    entry: Entry, width: int, *, marked: bool = False, compared: str | None = None
) -> Text:
    """One row: name, then size, time and permissions as the width allows; a compare mark
    (a sign and a colour, so it reads without colour too) before the name."""
    if entry.type is EntryType.UNKNOWN:
        return Text(printable(entry.raw or entry.name)[: max(width, 10)], style="italic dim")
    columns = []
    if width >= 34:
        columns.append(human_size(entry.size).rjust(7) if not entry.is_dir else "  <DIR>")
    if width >= 48:
        columns.append(short_time(entry.mtime).rjust(12))
    if width >= 60:
        columns.append((entry.perms or "")[-9:].ljust(9))
    tail = " " + " ".join(columns) if columns else ""
    name = printable(entry.name) + ("/" if entry.is_dir else "")
    if entry.type is EntryType.LINK:
        name += " -> " + printable(entry.target or "?")
    room = max(width - len(tail), 8)
    if len(name) > room:
        name = name[: room - 1] + "…"
    sign, colour = COMPARE_MARKS.get(compared or "", ("", ""))
    prefix = ("*" if marked else sign) + " " if (marked or sign) else ""
    text = Text(prefix + name.ljust(room - len(prefix)))
    if entry.is_dir:
        text.stylize("bold")
    if colour:
        text.stylize(colour)
    if marked:
        text.stylize("reverse")
    text.append(tail, style="dim")
    return text


class FileTree(Tree[Row]):
    """The tree inside a pane, with Midnight Commander and vim movement."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="pane.down"),
        Binding("k", "cursor_up", "Up", show=False, id="pane.up"),
        Binding("g", "scroll_home", "Top", show=False, id="pane.top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="pane.bottom"),
        Binding("l", "open", "Expand", show=False, id="pane.expand"),
        Binding("h", "close", "Collapse", show=False, id="pane.collapse"),
        Binding("enter", "open", "Open", show=False, id="pane.open"),
        Binding("backspace", "up", "Up a level", show=False, id="pane.parent"),
        Binding("space,insert", "mark", "Select", show=False, id="pane.mark"),
    ]

    def action_scroll_home(self) -> None:
        self.move_cursor_to_line(0)

    def action_scroll_end(self) -> None:
        self.move_cursor_to_line(max(self.last_line, 0))

    def action_open(self) -> None:
        node = self.cursor_node
        if node is not None and node.data is not None and node.allow_expand:
            node.toggle()

    def action_close(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded:
            node.collapse()
        elif node.parent is not None and not node.parent.is_root:
            self.move_cursor(node.parent)

    def action_up(self) -> None:
        self.pane.go_up()

    def action_mark(self) -> None:
        self.pane.toggle_mark()
        self.action_cursor_down()

    @property
    def pane(self) -> FilePane:
        return self.query_ancestor(FilePane)


class FilePane(Vertical):
    """A path bar, a filter line and the tree of one file system."""

    sort_by: reactive[str] = reactive("name")
    show_hidden: reactive[bool] = reactive(False)
    filter_text: reactive[str] = reactive("")

    class Failed(Message):
        """Loading or an operation failed; the screen shows the error."""

        def __init__(self, pane: FilePane, error: FerrymanError) -> None:
            super().__init__()
            self.pane = pane
            self.error = error

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.fs: RemoteFS | None = None
        self.path = ""
        self.listings: dict[str, list[Entry]] = {}
        self.marked: set[str] = set()
        self.compared: dict[str, str] = {}  # path → compare mark, while a comparison shows
        self.lock = threading.Lock()  # one operation at a time on the pane's session

    def compose(self) -> ComposeResult:
        yield Static(self.title, classes="path-bar")
        tree: FileTree = FileTree("", data=Row("", None))
        tree.show_root = False
        tree.guide_depth = 2
        yield tree
        yield Input(placeholder="filter (glob or text), Esc to clear", classes="filter")

    @property
    def tree(self) -> FileTree:
        return self.query_one(FileTree)

    # --- contents ----------------------------------------------------------------------

    def attach(self, fs: RemoteFS | None, path: str = "") -> None:
        """Show ``fs`` at ``path`` (its home when empty); ``None`` shows the pane empty."""
        self.fs = fs
        self.listings.clear()
        self.marked.clear()
        self.compared.clear()
        self.path = fs.resolve(path or fs.home) if fs else ""
        self._reset_root()

    def _reset_root(self) -> None:
        tree = self.tree
        tree.clear()
        tree.root.data = Row(self.path, None)
        self.query_one(".path-bar", Static).update(self._path_label())
        if self.fs is None:
            tree.root.add_leaf(Text("not connected: press c to connect", style="dim italic"))
            return
        tree.root.expand()
        self._load(tree.root)

    def _path_label(self) -> Text:
        label = Text(f"{self.title}: ", style="bold")
        shown = printable(self.path) if self.fs else "—"
        home = os.path.expanduser("~")
        if isinstance(self.fs, LocalFS) and (shown == home or shown.startswith(home + os.sep)):
            shown = "~" + shown[len(home) :]  # as a shell prompt shows it
        room = max((self.size.width or 40) - len(label) - 4, 8)
        if len(shown) > room:  # keep the end of a long path: that is where you are
            shown = "…" + shown[-(room - 1) :]
        label.append(shown)
        label.no_wrap = True
        return label

    def go_up(self) -> None:
        node = self.tree.cursor_node
        if node is not None and node.parent is not None and not node.parent.is_root:
            node.parent.collapse()
            self.tree.move_cursor(node.parent)
            return
        if self.fs is None or self.path in ("/", ""):
            return
        self.path = posixpath.dirname(self.path.rstrip("/")) or "/"
        self._reset_root()

    def reload(self, path: str | None = None) -> None:
        """Re-read one directory (or all shown) after a change."""
        targets = [path] if path is not None else list(self.listings)
        for target in targets:
            self.listings.pop(target, None)
        for node in self._tree_nodes():
            if node.data is not None and node.data.path in targets and node.data.loaded:
                node.data.loaded = False
                self._load(node)

    def _tree_nodes(self) -> list[TreeNode[Row]]:
        found: list[TreeNode[Row]] = []
        pending = [self.tree.root]
        while pending:
            node = pending.pop()
            found.append(node)
            pending.extend(node.children)
        return found

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[Row]) -> None:
        event.stop()
        if event.node.data is not None and not event.node.data.loaded:
            self._load(event.node)

    def _load(self, node: TreeNode[Row]) -> None:
        assert node.data is not None
        path = node.data.path
        if path in self.listings:
            self._fill(node, self.listings[path])
            return
        node.remove_children()
        node.add_leaf(Text("loading…", style="dim italic"))
        self._list(node, path)

    @work(thread=True, exit_on_error=False, group="pane-load", description="list directory")
    def _list(self, node: TreeNode[Row], path: str) -> None:
        fs = self.fs
        if fs is None:
            return
        try:
            with self.lock:
                entries = fs.listdir(path)
        except FerrymanError as error:
            self.app.call_from_thread(self._failed_load, node, error)
            return
        self.app.call_from_thread(self._arrived, node, path, entries)

    def _arrived(self, node: TreeNode[Row], path: str, entries: list[Entry]) -> None:
        self.listings[path] = entries
        self._fill(node, entries)

    def _failed_load(self, node: TreeNode[Row], error: FerrymanError) -> None:
        node.remove_children()
        node.add_leaf(Text(f"cannot list: {printable(str(error))}", style="red"))
        self.post_message(self.Failed(self, error))

    # --- rendering from the cache ------------------------------------------------------

    def visible(self, entries: list[Entry]) -> list[Entry]:
        shown = [e for e in entries if self.show_hidden or not e.name.startswith(".")]
        if self.filter_text:
            pattern = self.filter_text.lower()
            glob = any(ch in pattern for ch in "*?[")
            shown = [
                e for e in shown
                if e.is_dir or (fnmatch.fnmatch(e.name.lower(), pattern) if glob
                                else pattern in e.name.lower())
            ]  # fmt: skip
        key = {
            "name": lambda e: e.name.lower(),
            "size": lambda e: -(e.size or 0),
            "time": lambda e: -(e.mtime.timestamp() if e.mtime else 0),
        }[self.sort_by]
        return sorted(shown, key=lambda e: (not e.is_dir, key(e)))

    def _fill(self, node: TreeNode[Row], entries: list[Entry]) -> None:
        assert node.data is not None
        node.data.loaded = True
        expanded = {child.data.path for child in node.children if child.data and child.is_expanded}
        node.remove_children()
        width = self._row_width(node)
        for entry in self.visible(entries):
            path = posixpath.join(node.data.path, entry.name)
            label = row_text(entry, width, marked=path in self.marked,
                             compared=self.compared.get(path))  # fmt: skip
            if entry.is_dir:
                child = node.add(label, data=Row(path, entry))
                if path in expanded:
                    child.expand()
            else:
                # Two spaces where a directory has its "▶ ": names and columns line up.
                node.add_leaf(Text("  ") + label, data=Row(path, entry))
        if not node.children:
            node.add_leaf(Text("(empty)", style="dim italic"))
        if self.tree.cursor_line < 0:
            self.tree.cursor_line = 0  # a fresh tree has no cursor row until one is set

    def _row_width(self, node: TreeNode[Row]) -> int:
        depth = 0
        while node.parent is not None:
            depth += 1
            node = node.parent
        width = self.tree.size.width or self.size.width or 40
        # The tree's icon column (2) and scrollbar (1), and the guides of each level.
        return max(width - 5 - (depth - 1) * self.tree.guide_depth, 12)

    def refill(self) -> None:
        """Re-render every loaded directory (sort, filter, hidden, marks, resize)."""
        for node in self._tree_nodes():
            if node.data is not None and node.data.path in self.listings and node.data.loaded:
                self._fill(node, self.listings[node.data.path])

    def watch_sort_by(self) -> None:
        self.refill()

    def watch_show_hidden(self) -> None:
        self.refill()

    def watch_filter_text(self) -> None:
        self.refill()

    def on_resize(self) -> None:
        self.query_one(".path-bar", Static).update(self._path_label())
        self.refill()

    # --- selection ---------------------------------------------------------------------

    def toggle_mark(self) -> None:
        row = self.cursor_row
        if row is None or row.entry is None:
            return
        self.marked ^= {row.path}
        self.refill()

    @property
    def cursor_row(self) -> Row | None:
        node = self.tree.cursor_node
        return node.data if node is not None and node.data and node.data.entry else None

    def selection(self) -> list[Row]:
        """The marked rows, else the row under the cursor."""
        rows = [
            node.data
            for node in self._tree_nodes()
            if node.data and node.data.entry is not None and node.data.path in self.marked
        ]
        if rows:
            return rows
        row = self.cursor_row
        return [row] if row else []

    def current_dir(self) -> str:
        """Where a new item goes: the folder the cursor is in, or the open folder the
        cursor is on (a closed folder under the cursor is not a target: that surprises)."""
        node = self.tree.cursor_node
        row = self.cursor_row
        if node is None or row is None or row.entry is None:
            return self.path
        if row.entry.is_dir and node.is_expanded:
            return row.path
        return posixpath.dirname(row.path)

    # --- filter ------------------------------------------------------------------------

    def open_filter(self) -> None:
        field = self.query_one(".filter", Input)
        field.display = True
        field.focus()

    @on(Input.Changed, ".filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value

    @on(Input.Submitted, ".filter")
    def _filter_done(self) -> None:
        self.tree.focus()

    def clear_filter(self) -> None:
        field = self.query_one(".filter", Input)
        field.value = ""
        field.display = False
        self.tree.focus()
