"""Provides EditFile: F4, edit the file under the cursor in ``$VISUAL``/``$EDITOR``.

A part of MainScreen (see ``MainParts``). A remote file is fetched into a private temporary
folder, edited with the app suspended, uploaded if it changed, and the folder is removed
whatever happened.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shlex
import shutil
import subprocess
import tempfile

from tui.remote.base import RemoteFS, local_child
from tui.remote.local import LocalFS
from tui.screens.main_parts import MainParts
from tui.textsafe import printable
from tui.widgets.file_pane import FilePane


def digest(path: str) -> bytes:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


class EditFile(MainParts):
    """F4 for the main screen."""

    def action_edit(self) -> None:
        pane = self.active()
        row = pane.cursor_row
        if row is None or row.entry is None or row.entry.is_dir or not self.names_ok(pane, [row]):
            return
        path = row.path
        if isinstance(pane.fs, LocalFS):
            self.run_editor(path)
            pane.reload(os.path.dirname(path))
            return

        def fetch(fs: RemoteFS) -> str:
            folder = tempfile.mkdtemp(prefix="ferryman-edit-")
            try:
                local = local_child(folder, posixpath.basename(path))  # the server's name
                from tui.transfer.copy import download_file

                download_file(fs, path, local)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            return local

        self.run_in_pane(pane, f"fetching {printable(path)}", fetch,
                         lambda local: self._edited(pane, path, local))  # fmt: skip

    def _edited(self, pane: FilePane, path: str, local: str) -> None:
        folder = os.path.dirname(local)
        if not self.run_editor(local):
            shutil.rmtree(folder, ignore_errors=True)
            self.notify("Not changed: nothing uploaded.", timeout=3)
            return

        def upload(fs: RemoteFS) -> None:
            try:
                from tui.transfer.copy import upload_file

                upload_file(fs, local, path)
            finally:
                shutil.rmtree(folder, ignore_errors=True)  # F4 leaves nothing behind

        def uploaded(_: object) -> None:
            self.notify(f"Uploaded {printable(path)}.", timeout=3, markup=False)
            pane.follow(path)
            pane.reload(posixpath.dirname(path))

        self.run_in_pane(pane, f"uploading {printable(path)}", upload, uploaded)

    def run_editor(self, path: str) -> bool:
        """Open the editor with the app suspended; True if the file changed."""
        before = digest(path)
        command = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
        try:
            with self.app.suspend():
                subprocess.run([*command, path], check=False)
        except Exception as error:  # SuspendNotSupported when not on a terminal
            self.notify(f"Cannot run the editor: {printable(str(error))}", severity="error",
                        markup=False)  # fmt: skip
            return False
        return digest(path) != before
