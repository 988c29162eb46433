"""Provides FileOperations: F3 view, F5 copy, F6 rename or move, F7 mkdir, F8 delete.

A part of MainScreen (see ``MainParts``): each operation runs through ``run_in_pane`` on
the pane's session, and its result comes back to the screen's one worker handler.
"""

from __future__ import annotations

import os
import posixpath

from rich.text import Text

from tui.errors import FerrymanError
from tui.remote.base import RemoteFS, check_name, local_child
from tui.remote.local import LocalFS
from tui.screens.confirm import ConfirmScreen, InputScreen
from tui.screens.main_parts import MainParts
from tui.textsafe import printable
from tui.transfer.copy import remove_tree
from tui.transfer.queue import Direction, Job
from tui.widgets.file_pane import FilePane
from tui.widgets.file_tree import Row


class FileOperations(MainParts):
    """The function keys that act on files."""

    def names_ok(self, pane: FilePane, rows: list[Row]) -> bool:
        """Whether the names a server sent for ``rows`` pass the CLI's rules (``check_name``),
        checked before any action uses them: ``x/..`` or ``/etc/x`` would otherwise lead a
        copy, an edit or a delete somewhere else than the row the user sees. If one does
        not, the error names it and nothing is done."""
        if isinstance(pane.fs, LocalFS):
            return True  # names from the local disk are the user's own
        for row in rows:
            if row.entry is None:
                continue
            try:
                check_name(row.entry.name)
            except FerrymanError as error:
                self.show_error(error)
                return False
        return True

    def action_view(self) -> None:
        from tui.screens.viewer import VIEW_LIMIT, ViewerScreen  # pygments: when needed

        pane = self.active()
        row = pane.cursor_row
        if row is None or row.entry is None or row.entry.is_dir or not self.names_ok(pane, [row]):
            return

        def read(fs: RemoteFS) -> bytes:
            with fs.open_read(row.path) as reader:
                return reader.read(VIEW_LIMIT)  # closing early: the rest is never downloaded

        entry = row.entry

        def show(data: bytes) -> None:
            self.app.push_screen(ViewerScreen(entry.name, data, entry.size))

        self.run_in_pane(pane, f"reading {printable(entry.name)}", read, show)

    def action_mkdir(self) -> None:
        pane = self.active()
        where = pane.current_dir()

        def made(name: str | None) -> None:
            if not name:
                return
            try:
                check_name(name)
            except FerrymanError as error:
                self.show_error(error)
                return
            path = posixpath.join(where, name)
            self.run_in_pane(pane, f"mkdir {printable(name)}", lambda fs: fs.mkdir(path),
                      lambda _: pane.reload(where))  # fmt: skip

        self.app.push_screen(InputScreen(f"New directory in {printable(where)}:"), made)

    def action_rename(self) -> None:
        pane = self.active()
        row = pane.cursor_row
        if row is None or not self.names_ok(pane, [row]):
            return
        folder = posixpath.dirname(row.path)
        # What the field shows is escaped like everything else from a server; left as it is,
        # it means "no change".
        shown = printable(row.path)

        def renamed(target: str | None) -> None:
            if not target or target in (row.path, shown):
                return
            path = target if target.startswith("/") else posixpath.join(folder, target)
            target_dir = posixpath.dirname(path)

            def after(_: object) -> None:
                pane.follow(path)  # the cursor goes with the entry to its new name
                pane.reload(folder)
                if target_dir != folder:
                    pane.reload(target_dir)

            self.run_in_pane(
                pane, f"rename {printable(row.path)}", lambda fs: fs.rename(row.path, path), after
            )

        self.app.push_screen(InputScreen("Rename or move to:", shown), renamed)

    @staticmethod
    def _names(rows: list[Row]) -> str:
        """Up to five names, escaped, for a confirmation question."""
        names = ", ".join(printable(posixpath.basename(row.path)) for row in rows[:5])
        return names + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")

    def action_delete(self) -> None:
        pane = self.active()
        rows = pane.selection()
        if not rows or not self.names_ok(pane, rows):
            return
        folders = any(row.entry is not None and row.entry.is_dir for row in rows)
        question = Text(f"Delete {self._names(rows)}?")
        if folders:
            question.append("\nDirectories are deleted with everything in them.", style="bold red")

        def delete(fs: RemoteFS) -> None:
            for row in rows:
                remove_tree(fs, row.path) if row.entry and row.entry.is_dir else fs.remove(row.path)

        def done(_: object) -> None:
            pane.marked.clear()
            for folder in {posixpath.dirname(row.path) for row in rows}:
                pane.reload(folder)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_in_pane(pane, f"deleting {len(rows)} item(s)", delete, done)

        self.app.push_screen(ConfirmScreen(question, yes="Delete", danger=True), confirmed)

    def action_copy(self) -> None:
        """F5: queue the selection for the folder the other pane shows (its header), on an
        editable target line, as mc's copy dialog does; the transfer panel shows it."""
        source = self.active()
        target = self.other(source)
        rows = source.selection()
        if not rows or source.fs is None or target.fs is None or self.site is None:
            self.notify("Nothing to copy, or not connected.", severity="warning")
            return
        if not self.names_ok(source, rows):
            return
        shown = printable(target.path)
        upload = source is self.local
        site = self.site

        def chosen(answer: str | None) -> None:
            if not answer:
                return
            destination, rename = self._copy_target(target, answer, shown, len(rows))
            jobs = []
            for row in rows:
                name = row.entry.name if row.entry is not None else posixpath.basename(row.path)
                name = rename or name
                # A download's target comes from the server's name: the CLI's road to disk.
                to = posixpath.join(destination, name) if upload else local_child(destination, name)
                entry = row.entry
                direction = Direction.UPLOAD if upload else Direction.DOWNLOAD
                jobs.append(Job(direction, row.path, to, is_dir=bool(entry and entry.is_dir),
                                size=entry.size if entry else None,
                                mtime=entry.mtime if entry else None))  # fmt: skip
            source.marked.clear()
            source.refill()
            self.reload_after.add((target.id or "", destination))
            self.ferryman.enqueue(site, jobs)
            self.show_transfers(jobs[0] if jobs else None)

        prompt = f"Copy {self._names(rows)} to:"
        self.app.push_screen(InputScreen(prompt, shown), chosen)

    @staticmethod
    def _copy_target(target: FilePane, answer: str, shown: str, count: int) -> tuple[str, str]:
        """The folder a copy goes into, and a new name for a single item (``cp``'s rule: a
        path that is not a folder the pane knows is the copy's name)."""
        if answer == shown:
            return target.path, ""
        join = posixpath.join if not isinstance(target.fs, LocalFS) else os.path.join
        path = answer if answer.startswith("/") else join(target.path, answer)
        if isinstance(target.fs, LocalFS):
            path = os.path.abspath(os.path.expanduser(answer if answer.startswith("~") else path))
        path = path.rstrip("/") or "/"
        if count > 1 or answer.endswith("/") or target.is_folder(path):
            return path, ""
        return posixpath.dirname(path) or "/", posixpath.basename(path)
