"""Provides the recursive walks: of a tree, for compare and mirror (``walk``), and of one
folder of a copy, for the transfer engine (``expand``).

A walk ends: it lists no folder deeper than ``MAX_DEPTH`` below its root, and none that is
the same folder as one it is inside (MLSD's ``unique`` fact repeated: a symbolic-link loop
that the server shows as folders). A folder whose listing has two or more folders and is
the same, entry for entry (``unique`` facts aside: a server can invent them), as
``REPEATS`` of the folders it is inside is taken for a loop: a server that lists a folder
under two names inside itself makes a tree that doubles at every level, which the depth
limit alone would let grow to 2**64 folders. A folder it did not list, or whose listing failed, is
reported in ``unlisted``, never taken as empty: what lies under it is not known, and a mirror
must not delete anything on that evidence.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from typing import Protocol

from tui.errors import ConnectionLost, EndlessTree, InvalidName, RemoteError, TransferFailed
from tui.remote.base import Entry, EntryType, RemoteFS, check_name, local_child
from tui.remote.local import LocalFS, translate
from tui.transfer.copy import ensure_remote_dir
from tui.transfer.partial import is_temporary_name
from tui.transfer.queue import Direction, Job

MAX_DEPTH = 64
"""How deep below a walk's root folders are found; one this deep is not listed (reported)."""

REPEATS = 3
"""How many of the folders a folder is inside may list exactly as it does (two or more
folders) before it is taken for a loop; ``mkdir -p {a,b}/{a,b}`` made
in one minute repeats a listing once or twice."""

TEMPORARY = "Ferryman's temporary file (not copied)"
_MARK = "listing:"  # in a lineage, a listing's mark (see ``repeated``), not a unique fact


class Filter(Protocol):
    """What a walk needs of its options (``tui.transfer.sync.Options``), as a protocol:
    sync imports this module, and an import back would be a circle."""

    max_depth: int

    def excluded(self, path: str, *, is_dir: bool) -> bool: ...

# A folder whose listing fails this way is reported and the walk goes on; other errors (a
# lost connection, a protocol error) end the walk.
_FOLDER_ERRORS = (RemoteError, TransferFailed, EndlessTree)


def too_deep(limit: int) -> EndlessTree:
    """The error for a folder at the depth limit (the caller names the folder)."""
    return EndlessTree(f"deeper than {limit} folders, not followed (a link loop, or a server "
                       "that invents folders?)")  # fmt: skip


def a_loop() -> EndlessTree:
    """The error for a folder that is one of the folders it is inside."""
    return EndlessTree("the same folder as one it is inside (a link loop), not followed")


def repeated(entries: list[Entry], lineage: tuple[str, ...]) -> tuple[str, ...]:
    """``lineage`` with a mark for this listing (its names, types, sizes and times), when it
    can make the tree grow.

    Raises:
        EndlessTree: the listing is the same as that of ``REPEATS`` folders it is inside.
    """
    if sum(1 for entry in entries if entry.is_dir) < 2:
        return lineage  # it cannot fan out: the depth limit bounds it
    # Unique facts are left out: a server can invent a fresh one for each listing.
    rows = sorted(repr((e.name, e.type.value, e.size, e.mtime)) for e in entries)
    mark = _MARK + hashlib.sha256("\n".join(rows).encode("utf-8", "replace")).hexdigest()
    if lineage.count(mark) >= REPEATS:
        raise a_loop()
    return (*lineage, mark)


def walk(
    fs: RemoteFS,
    root: str,
    options: Filter,
    skipped: list[str],
    unlisted: list[str] | None = None,
) -> dict[str, Entry]:
    """Every file and folder under ``root`` by relative path; links, unknown lines, our own
    partial files, excluded names and names that cannot be a path are left out (the last
    are reported in ``skipped``).

    Args:
        unlisted: Receives "path: reason" for every folder below the root that was not
            listed (its listing failed, or it is too deep, or a loop). Without it the first
            such folder raises.

    Raises:
        FerrymanError: the root cannot be listed (``NotFound`` when it does not exist), a
            folder below it cannot be and ``unlisted`` is None, or the connection broke.
    """
    limit = options.max_depth
    found: dict[str, Entry] = {}
    # (relative path, the unique ids of the folders it is inside, its own)
    pending: list[tuple[str, tuple[str, ...]]] = [("", ())]
    while pending:
        relative, lineage = pending.pop()
        try:
            entries = _listing(fs, root, relative, lineage, limit)
            lineage = repeated(entries, lineage)
        except ConnectionLost:
            raise
        except _FOLDER_ERRORS as error:
            if not relative or unlisted is None:
                raise
            unlisted.append(f"{relative}: {error}")
            continue
        for entry in entries:
            try:
                check_name(entry.name)
            except InvalidName as error:
                if entry.type is not EntryType.UNKNOWN:
                    skipped.append(f"{posixpath.join(relative, entry.name)!r}: {error}")
                continue
            if entry.type not in (EntryType.FILE, EntryType.DIR):
                continue  # a link could point anywhere (cp -r does not follow either)
            if is_temporary_name(entry.name):
                continue  # a transfer in progress, resumed by the copy, never compared
            path = posixpath.join(relative, entry.name) if relative else entry.name
            if options.excluded(path, is_dir=entry.is_dir):
                continue
            found[path] = entry
            if entry.is_dir:
                pending.append((path, (*lineage, entry.unique) if entry.unique else lineage))
    return found


def _listing(
    fs: RemoteFS, root: str, relative: str, lineage: tuple[str, ...], limit: int
) -> list[Entry]:
    if relative and relative.count("/") + 1 >= limit:
        raise too_deep(limit)
    own = lineage[-1] if lineage else ""
    if own and not own.startswith(_MARK) and own in lineage[:-1]:  # marks count to REPEATS
        raise a_loop()
    return fs.listdir(fs_join(fs, root, relative))


def fs_join(fs: RemoteFS, root: str, relative: str) -> str:
    """``root`` joined with a checked relative path, in the side's own path form."""
    if not relative:
        return root
    if isinstance(fs, LocalFS):
        return os.path.join(root, *relative.split("/"))
    return posixpath.join(root, relative)


def expand(job: Job, session: RemoteFS, max_depth: int = MAX_DEPTH) -> list[Job]:
    """A folder of a copy: make its target folder and return a job for each entry (names
    from the server checked before they become local paths; links and unknown lines left
    out and named in ``job.reason``).

    Raises:
        EndlessTree: the folder is ``max_depth`` deep, or one of the folders it is in.
        ListingFailed: its listing failed (the job fails: never an empty folder).
        FerrymanError: the target folder cannot be made, or the source cannot be read.
    """
    if job.unique is not None and job.unique in job.lineage:
        raise a_loop()
    if job.depth >= max_depth:
        raise too_deep(max_depth)
    lineage = (*job.lineage, job.unique) if job.unique is not None else job.lineage
    children: list[Job] = []
    if job.direction is Direction.DOWNLOAD:
        fresh = not os.path.exists(job.target)
        with translate(f"Cannot create {job.target}"):
            os.makedirs(job.target, exist_ok=True)
        skipped = []
        entries = session.listdir(job.source)
        lineage = repeated(entries, lineage)
        for entry in entries:
            try:
                target = local_child(job.target, entry.name)
            except InvalidName as error:
                skipped.append(f"{entry.name!r}: {error}")
                continue
            if is_temporary_name(entry.name):
                skipped.append(f"{entry.name!r}: {TEMPORARY}")
                continue
            if entry.type.value in ("link", "unknown"):
                skipped.append(f"{entry.name!r}: {entry.type.value} (not followed)")
                continue
            children.append(Job(job.direction, posixpath.join(job.source, entry.name),
                                target, is_dir=entry.is_dir,
                                size=entry.size, mtime=entry.mtime, fresh=fresh,
                                depth=job.depth + 1, unique=entry.unique,
                                lineage=lineage))  # fmt: skip
        job.reason = "; ".join(skipped)
        return children
    fresh = ensure_remote_dir(session, job.target)
    skipped = []
    with translate(f"Cannot list {job.source}"):
        items = sorted(os.scandir(job.source), key=lambda item: item.name)
        for item in items:
            if item.is_symlink():
                continue  # a link could loop; cp -r without -L does not follow either
            if is_temporary_name(item.name):
                skipped.append(f"{item.name!r}: {TEMPORARY}")
                continue
            folder = item.is_dir()
            info = item.stat()
            size = None if folder else info.st_size
            unique = f"{info.st_dev}:{info.st_ino}" if folder else None  # a bind-mount loop
            target = posixpath.join(job.target, item.name)
            children.append(Job(job.direction, item.path, target, is_dir=folder, size=size,
                                fresh=fresh, depth=job.depth + 1, unique=unique,
                                lineage=lineage))  # fmt: skip
    job.reason = "; ".join(skipped)
    return children
