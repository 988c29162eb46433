"""Provides whole-tree operations on a RemoteFS: removing a directory with everything in
it, and making one unless it exists."""

from __future__ import annotations

import posixpath

from tui.errors import InvalidName, NotFound, RemoteError
from tui.remote.base import RemoteFS, check_name


def remove_tree(fs: RemoteFS, path: str) -> None:
    """Delete a directory and everything in it.

    A name that could point elsewhere (``..``, a separator) is never followed: the
    directory is then left non-empty and its removal fails with the server's reason.
    """
    pending = [path]
    emptied: list[str] = []
    while pending:
        current = pending.pop()
        emptied.append(current)
        for entry in fs.listdir(current):
            try:
                check_name(entry.name)
            except InvalidName:
                continue
            child = posixpath.join(current, entry.name)
            if entry.is_dir:
                pending.append(child)
            else:
                fs.remove(child)
    for directory in reversed(emptied):
        fs.rmdir(directory)


def ensure_remote_dir(fs: RemoteFS, path: str) -> bool:
    """Make a remote directory unless it exists; True when this call created it (so it is
    known to be empty)."""
    try:
        fs.mkdir(path)
    except RemoteError as error:
        # Servers word "exists" many ways (550 "Create directory operation failed").
        # The directory is fine if it is there now.
        try:
            if fs.stat(path).is_dir:
                return False
        except NotFound:
            pass
        raise error
    return True
