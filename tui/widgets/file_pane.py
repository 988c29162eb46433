"""Provides FilePane: one side of the main screen, a lazily loaded tree of a RemoteFS.

Directories expand in place; their listings load in a thread worker (a "loading…" row shows
meanwhile) and are kept, so sorting, filtering and the hidden-files toggle never re-read the
server. Names are data: each row is built as a ``Text`` from ``printable(name)``.

The pane lays the rows out from its listings; ``FileTree`` (file_tree.py) draws only the
ones on screen.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import threading

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from tui.errors import FerrymanError, as_ferryman_error
from tui.remote.base import Entry, EntryType, RemoteFS
from tui.remote.local import LocalFS
from tui.textsafe import printable
from tui.widgets.file_tree import FileTree, Line, Row
from tui.widgets.rows import COMPARE_MARKS, human_size, row_text, short_time

__all__ = ["COMPARE_MARKS", "SORTS", "FilePane", "human_size", "row_text", "short_time"]

QUICK_LOCAL = 2000  # a local folder of up to this many entries is read without a worker

SORTS = ("name", "size", "time")


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

    def __init__(self, title: str, *, id: str | None = None, light: bool = False,
                 show_hidden: bool = False, sort_by: str = "name") -> None:  # fmt: skip
        super().__init__(id=id)
        self.title = title
        self.light = light
        # The config's [panes] defaults, set before the first listing is laid out.
        self.set_reactive(FilePane.show_hidden, show_hidden)
        self.set_reactive(FilePane.sort_by, sort_by if sort_by in SORTS else "name")
        # Where the cursor should be once a reloaded folder arrives: the entry it was on
        # (or another the user went to: a rename's new name), else the row it was on.
        self._wanted: tuple[str, int] | None = None
        self._loads: dict[Worker[list[Entry]], tuple[RemoteFS, str]] = {}  # running reads
        self.fs: RemoteFS | None = None
        self.path = ""
        self.listings: dict[str, list[Entry]] = {}
        self.expanded: set[str] = set()  # folders shown open (the root always is)
        self.failed: dict[str, str] = {}  # folder → why it could not be listed
        self.marked: set[str] = set()
        self.compared: dict[str, str] = {}  # path → compare mark, while a comparison shows
        self.session_lock = threading.Lock()  # one operation at a time on the pane's session

    def compose(self) -> ComposeResult:
        yield Static(self.title, classes="path-bar")
        yield FileTree(light=self.light, labeller=self.label_for, marked=self.marked)
        yield Input(placeholder="filter (glob or text), Esc to clear", classes="filter")

    @property
    def file_tree(self) -> FileTree:
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
        self.expanded.clear()
        self.failed.clear()
        self.query_one(".path-bar", Static).update(self._path_label())
        if self.fs is None:
            note = Text("not connected: press c to connect", style="dim italic")
            self.file_tree.set_lines([Line(0, "", note=note)])
            return
        if self.path not in self.listings:
            self._load(self.path)
        self._rebuild(cursor_path=None)

    def shown_path(self) -> str:
        """The folder for a person: escaped, and ``~`` for the home folder as a shell
        prompt shows it."""
        shown = printable(self.path) if self.fs else "—"
        home = os.path.expanduser("~")
        if isinstance(self.fs, LocalFS) and (shown == home or shown.startswith(home + os.sep)):
            shown = "~" + shown[len(home) :]
        return shown

    def _path_label(self) -> Text:
        label = Text(f"{self.title}: ", style="bold")
        shown = self.shown_path()
        room = max((self.size.width or 40) - len(label) - 4, 8)
        if len(shown) > room:  # keep the end of a long path: that is where you are
            shown = "…" + shown[-(room - 1) :]
        label.append(shown)
        label.no_wrap = True
        return label

    def go_up(self) -> None:
        tree = self.file_tree
        parent = tree.parent_of(tree.cursor_line) if tree.lines else None
        if parent is not None:
            self.toggle(parent)  # close the folder the cursor is in, and stand on it
            tree.move_cursor_to_line(parent)
            return
        if self.fs is None or self.path in ("/", ""):
            return
        self.path = posixpath.dirname(self.path.rstrip("/")) or "/"
        self._reset_root()

    def follow(self, path: str) -> None:
        """Put the cursor on ``path`` once it shows (after the reload that brings it)."""
        self._wanted = (path, self.file_tree.cursor_line)

    def reload(self, path: str | None = None) -> None:
        """Re-read one directory (or all shown) after a change. The cursor stays on its
        entry, or on its row when the entry went away."""
        line = self.file_tree.cursor
        if self._wanted is None and line is not None and line.entry is not None:
            self._wanted = (line.path, self.file_tree.cursor_line)
        targets = [path] if path is not None else list(self.listings)
        for target in targets:
            self.listings.pop(target, None)
            self.failed.pop(target, None)
            if target == self.path or target in self.expanded:
                self._load(target)
        self._rebuild()

    def toggle(self, index: int) -> None:
        """Open or close the folder on row ``index``."""
        line = self.file_tree.lines[index]
        if not line.is_dir:
            return
        path = line.path
        if path in self.expanded:
            self.expanded.discard(path)
        else:
            self.expanded.add(path)
            if path not in self.listings:
                self._load(path)
        self._rebuild(cursor_path=path)

    def _load(self, path: str) -> None:
        """Read ``path``: a small local folder at once, anything else in a worker.

        At once, the frame that opens the folder already shows its files: no "loading"
        frame is drawn and sent first (the app's first screen shows the files too).
        """
        if isinstance(self.fs, LocalFS) and self.session_lock.acquire(blocking=False):
            try:
                entries = self.fs.listdir_if_small(path, QUICK_LOCAL)
            except FerrymanError:
                entries = None  # the worker reads it again and reports it as usual
            finally:
                self.session_lock.release()
            if entries is not None:
                self.listings[path] = entries
                return
        self._list(path)

    def _list(self, path: str) -> None:
        if self.fs is not None:
            self._loads[self._read(self.fs, path)] = (self.fs, path)

    @work(thread=True, exit_on_error=False, group="pane-load", description="list directory")
    def _read(self, fs: RemoteFS, path: str) -> list[Entry]:
        with self.session_lock:
            return fs.listdir(path)

    @on(Worker.StateChanged)
    def _read_ended(self, event: Worker.StateChanged) -> None:
        """A listing arrived, or failed for any reason (a bug too: then the folder says so
        and the screen shows the error, instead of "loading…" for ever)."""
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        fs, path = self._loads.pop(event.worker, (None, ""))
        if fs is None:
            return
        if event.state is WorkerState.SUCCESS:
            self._arrived(fs, path, event.worker.result or [])
        elif event.state is WorkerState.ERROR:
            self._failed_load(fs, path, as_ferryman_error(event.worker.error))

    def _arrived(self, fs: RemoteFS, path: str, entries: list[Entry]) -> None:
        if fs is not self.fs:
            return  # the pane shows another site now
        self.listings[path] = entries
        self._rebuild()

    def _failed_load(self, fs: RemoteFS, path: str, error: FerrymanError) -> None:
        if fs is not self.fs:
            return
        self.failed[path] = str(error)
        self._rebuild()
        self.post_message(self.Failed(self, error))

    # --- rendering from the cache ------------------------------------------------------

    def shown_entries(self, entries: list[Entry]) -> list[Entry]:
        """The entries to show, folders first, sorted; written for 100,000 entries (no
        per-entry property calls, one sort per kind)."""
        shown = entries if self.show_hidden else [e for e in entries if e.name[:1] != "."]
        if self.filter_text:
            pattern = self.filter_text.lower()
            glob = any(ch in pattern for ch in "*?[")
            shown = [
                e for e in shown
                if e.type is EntryType.DIR or (fnmatch.fnmatch(e.name.lower(), pattern) if glob
                                               else pattern in e.name.lower())
            ]  # fmt: skip
        key = {
            "name": lambda e: e.name.lower(),
            "size": lambda e: -(e.size or 0),
            "time": lambda e: -(e.mtime.timestamp() if e.mtime else 0),
        }[self.sort_by]
        folders = sorted((e for e in shown if e.type is EntryType.DIR), key=key)
        files = sorted((e for e in shown if e.type is not EntryType.DIR), key=key)
        return folders + files

    def _rebuild(self, cursor_path: str | None = "") -> None:
        """Lay out every row again from the listings: sorted, filtered, open folders
        expanded. The cursor stays on the row it was on (or goes to ``cursor_path``)."""
        tree = self.file_tree
        if self.fs is None:
            return
        wanted_row = tree.cursor_line
        if cursor_path == "" and self._wanted is not None:
            cursor_path, wanted_row = self._wanted
        elif cursor_path == "":
            current = tree.cursor
            cursor_path = current.path if current is not None and current.entry else None
        lines: list[Line] = []
        self._lay_out(self.path, 0, lines)
        cursor = wanted_row
        for index, line in enumerate(lines):
            if cursor_path is not None and line.entry is not None and line.path == cursor_path:
                cursor = index
                self._wanted = None  # found: from now on the cursor is the user's again
                break
        else:
            if self._wanted is not None and not any(line.note for line in lines):
                self._wanted = None  # everything arrived and it is gone: its neighbour
        tree.set_lines(lines, cursor)

    def _lay_out(self, folder: str, depth: int, lines: list[Line]) -> None:
        if folder in self.failed:
            note = Text(f"cannot list: {printable(self.failed[folder])}", style="red")
            lines.append(Line(depth, folder, note=note))
            return
        entries = self.listings.get(folder)
        if entries is None:
            lines.append(Line(depth, folder, note=Text("loading…", style="dim italic")))
            return
        shown = self.shown_entries(entries)
        if not shown:
            lines.append(Line(depth, folder, note=Text("(empty)", style="dim italic")))
        if not self.expanded:  # the common case, and the one a huge folder needs fast
            lines.extend([Line(depth, folder, entry) for entry in shown])
            return
        for entry in shown:
            line = Line(depth, folder, entry)
            lines.append(line)
            if entry.type is EntryType.DIR and line.path in self.expanded:
                line.expanded = True
                self._lay_out(line.path, depth + 1, lines)

    def label_for(self, line: Line, width: int) -> Text:
        """The row's text (made only for rows on screen)."""
        assert line.entry is not None
        path = line.path
        return row_text(line.entry, width, marked=path in self.marked,
                        compared=self.compared.get(path), plain_columns=self.light)  # fmt: skip

    def refill(self) -> None:
        """Re-render every row (sort, filter, hidden, marks, compare)."""
        self._rebuild()

    def watch_sort_by(self) -> None:
        self.refill()

    def watch_show_hidden(self) -> None:
        self.refill()

    def watch_filter_text(self) -> None:
        self.refill()

    def on_resize(self) -> None:
        # The path is shortened to fit; the tree makes its own labels again (on_resize).
        label = self._path_label()
        bar = self.query_one(".path-bar", Static)
        if label.plain != str(bar.content):  # the same text again would only be re-sent
            bar.update(label)

    # --- selection ---------------------------------------------------------------------

    @on(FileTree.FolderChosen)
    def _folder_chosen(self, event: FileTree.FolderChosen) -> None:
        event.stop()
        if 0 <= event.index < len(self.file_tree.lines):
            self.toggle(event.index)

    @on(FileTree.ParentChosen)
    def _parent_chosen(self, event: FileTree.ParentChosen) -> None:
        event.stop()
        self.go_up()

    def entry_at(self, path: str) -> Entry | None:
        """The listed entry at ``path``, if its folder has been read (any thread may ask:
        it only reads the kept listings)."""
        folder, name = posixpath.split(path)
        for entry in list(self.listings.get(folder or "/", ())):
            if entry.name == name:
                return entry
        return None

    def is_folder(self, path: str) -> bool:
        """Whether ``path`` is a folder this pane knows of (listed, or shown)."""
        if path in self.listings or path == self.path:
            return True
        if isinstance(self.fs, LocalFS):
            return os.path.isdir(path)
        entry = self.entry_at(path)
        return entry is not None and entry.is_dir

    @property
    def cursor_row(self) -> Row | None:
        line = self.file_tree.cursor
        return line.row if line is not None else None

    def selection(self) -> list[Row]:
        """The marked rows, else the row under the cursor."""
        if self.marked:
            rows = [line.row for line in self.file_tree.lines
                    if line.entry is not None and line.path in self.marked]  # fmt: skip
            found = [row for row in rows if row is not None]
            if found:
                return found
        row = self.cursor_row
        return [row] if row else []

    def current_dir(self) -> str:
        """Where a new item goes: the folder the cursor is in, or the open folder the
        cursor is on (a closed folder under the cursor is not a target: that surprises)."""
        line = self.file_tree.cursor
        if line is None or line.entry is None:
            return line.folder if line is not None and line.folder else self.path
        if line.expanded:
            return line.path
        return line.folder

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
        self.file_tree.focus()

    def clear_filter(self) -> None:
        field = self.query_one(".filter", Input)
        field.value = ""
        field.display = False
        self.file_tree.focus()
