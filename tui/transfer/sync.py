"""Provides the comparison of two trees and the plan that makes one a mirror of the other.

Either side may be local or remote (both are RemoteFS). Files are compared by size and
modification time, allowing for how exact each side's times are (MLSD gives seconds, LIST
minutes, and days for old files) and for a server clock that is off (``time_offset``); in
checksum mode, files of equal size are compared by the server's HASH/XSHA256 instead.

The plan copies what is new, newer, or differs in size or content. A destination file
that is *newer* than its source is kept and reported ("older"): a mirror must not overwrite
work done on the other side. Entries only in the destination are removed only with
``delete``, and only inside the destination root: every name comes from a listing and is
checked before it becomes part of a path. If any folder could not be listed (its listing
failed, or the walk stopped at the depth limit or a loop), nothing is deleted at all: what
is under it is unknown, and a failed listing is no evidence that a file is gone.
"""

from __future__ import annotations

import enum
import fnmatch
import hashlib
import os
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tui.errors import FerrymanError, NotFound
from tui.remote.base import Entry, RemoteFS
from tui.remote.local import LocalFS, translate
from tui.transfer.copy import ensure_remote_dir
from tui.transfer.queue import Direction, Job
from tui.transfer.walk import MAX_DEPTH, fs_join, walk

__all__ = ["fs_join", "walk"]  # kept importable from here

_SLACK = {"second": 2, "minute": 60, "day": 86400}  # seconds a time may be off by, per precision


class Action(enum.Enum):
    NEW = "new"
    NEWER = "newer"
    SIZE = "size differs"
    DIFFERENT = "different"
    OLDER = "older"
    EXTRA = "only in destination"
    KIND = "file vs folder"
    SAME = "same"

    @property
    def copies(self) -> bool:
        return self in (Action.NEW, Action.NEWER, Action.SIZE, Action.DIFFERENT)


@dataclass
class Item:
    """One path of the comparison, relative to both roots ('/'-separated)."""

    path: str
    action: Action
    is_dir: bool
    source: Entry | None = None
    target: Entry | None = None
    selected: bool = True  # the app lets the user deselect entries of the plan
    note: str = ""

    def label(self, delete: bool) -> str:
        """The action in words; what is only in the destination is "delete" with --delete."""
        if self.action is Action.EXTRA and delete and self.selected:
            return "delete"
        return self.action.value

    @property
    def size(self) -> int:
        entry = self.source if self.action.copies else self.target
        return (entry.size or 0) if entry is not None and not self.is_dir else 0


@dataclass
class Options:
    """What to compare and how.

    Attributes:
        delete: Remove what is only in the destination.
        exclude: Globs (on the relative path or the name) left out on both sides.
        include: When given, only files matching one of these are considered.
        checksum: Compare files of equal size by the server's checksum.
        time_offset: Seconds to add to the remote side's times (a server whose clock is
            wrong, or that reports local time as vsftpd may).
    """

    delete: bool = False
    exclude: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    checksum: bool = False
    time_offset: float = 0.0
    max_depth: int = MAX_DEPTH
    """Folders this deep below a root are not listed (a loop, or a server that invents
    folders forever, ends there): reported as not listed."""

    def excluded(self, path: str, *, is_dir: bool) -> bool:
        name = posixpath.basename(path)
        if any(fnmatch.fnmatchcase(path, g) or fnmatch.fnmatchcase(name, g) for g in self.exclude):
            return True
        if is_dir or not self.include:
            return False
        return not any(fnmatch.fnmatchcase(path, g) or fnmatch.fnmatchcase(name, g)
                       for g in self.include)  # fmt: skip


@dataclass
class Plan:
    items: list[Item]
    skipped: list[str]  # names that could not be compared, with the reason
    unlisted: list[str] = field(default_factory=list)
    """Folders (either side) that were not listed, with the reason: while there is one,
    the plan deletes nothing."""
    uncopied: list[str] = field(default_factory=list)
    """The source's part of ``skipped``: names the copy cannot carry, so the destination
    will not match the source."""

    def copies(self) -> list[Item]:
        return [i for i in self.items if i.selected and i.action.copies and not i.is_dir]

    def folders(self) -> list[Item]:
        """Folders to create in the destination, parents first: the selected new ones, and
        any new one a selected copy lies in."""
        needed = {posixpath.dirname(i.path) for i in self.copies()}
        for path in list(needed):
            while path:
                needed.add(path)
                path = posixpath.dirname(path)
        return [i for i in self.items if i.action is Action.NEW and i.is_dir
                and (i.selected or i.path in needed)]  # fmt: skip

    def deletions(self, delete: bool) -> list[Item]:
        """What ``delete`` removes, deepest first (a folder after what it holds)."""
        if not delete or self.unlisted:
            return []  # a folder not listed: what is only in the destination is not known
        extra = [i for i in self.items if i.selected and i.action is Action.EXTRA]
        return sorted(extra, key=lambda item: item.path.count("/"), reverse=True)

    def summary(self, delete: bool) -> dict[str, tuple[int, int]]:
        """Action name → (count, bytes), for the actions that do something or are kept."""
        result: dict[str, tuple[int, int]] = {}
        for item in self.items:
            if item.action is Action.SAME or (item.is_dir and item.action is not Action.EXTRA):
                continue
            name = item.action.value
            if item.action is Action.EXTRA:
                name = "delete" if delete and item.selected else "only in destination (kept)"
            count, size = result.get(name, (0, 0))
            result[name] = (count + 1, size + item.size)
        return result


def compare(
    source: RemoteFS,
    source_root: str,
    target: RemoteFS,
    target_root: str,
    options: Options,
) -> Plan:
    """Walk both trees and decide, for every path, what a mirror would do."""
    skipped: list[str] = []
    uncopied: list[str] = []
    unlisted: list[str] = []
    left = walk(source, source_root, options, uncopied, unlisted)
    try:
        right = walk(target, target_root, options, skipped, unlisted)
    except NotFound:
        right = {}  # the destination does not exist yet: everything is new
    items: list[Item] = []
    for path in sorted(left.keys() | right.keys()):
        a, b = left.get(path), right.get(path)
        if b is None:
            assert a is not None
            items.append(Item(path, Action.NEW, a.is_dir, a, None))
        elif a is None:
            items.append(Item(path, Action.EXTRA, b.is_dir, None, b))
        elif a.is_dir != b.is_dir:
            note = "one side is a file, the other a folder: left alone"
            items.append(Item(path, Action.KIND, a.is_dir, a, b, selected=False, note=note))
        elif a.is_dir:
            items.append(Item(path, Action.SAME, True, a, b))
        else:
            items.append(_compare_files(path, a, b, source, source_root, target, target_root,
                                        options))  # fmt: skip
    if unlisted:
        for item in items:
            if item.action is Action.EXTRA:  # not known to be only there: kept
                item.selected = False
                item.note = "kept: a folder could not be listed"
    return Plan(items, uncopied + skipped, unlisted, uncopied)


def _compare_files(
    path: str,
    a: Entry,
    b: Entry,
    source: RemoteFS,
    source_root: str,
    target: RemoteFS,
    target_root: str,
    options: Options,
) -> Item:
    if a.size is not None and b.size is not None and a.size != b.size:
        return Item(path, Action.SIZE, False, a, b)
    if options.checksum:
        verdict = _same_content(source, fs_join(source, source_root, path),
                                target, fs_join(target, target_root, path))  # fmt: skip
        if verdict is not None:
            return Item(path, Action.SAME if verdict else Action.DIFFERENT, False, a, b)
    when_a, when_b = corrected(source, a, options), corrected(target, b, options)
    if when_a is None or when_b is None:
        return Item(path, Action.SAME, False, a, b, note="no time to compare: sizes match")
    slack = max(_SLACK.get(a.mtime_precision or "minute", 60),
                _SLACK.get(b.mtime_precision or "minute", 60))  # fmt: skip
    difference = (when_a - when_b).total_seconds()
    if difference > slack:
        return Item(path, Action.NEWER, False, a, b)
    if difference < -slack:
        return Item(path, Action.OLDER, False, a, b, selected=False,
                    note="the destination is newer: kept")  # fmt: skip
    return Item(path, Action.SAME, False, a, b)


def corrected(fs: RemoteFS, entry: Entry, options: Options) -> datetime | None:
    """The entry's time, with the server's clock offset applied to the remote side."""
    if entry.mtime is None:
        return None
    if isinstance(fs, LocalFS) or not options.time_offset:
        return entry.mtime
    return entry.mtime + timedelta(seconds=options.time_offset)


def _same_content(source: RemoteFS, a: str, target: RemoteFS, b: str) -> bool | None:
    """Compare by checksum: the remote side's own (HASH …) against the local file's. None
    when the server offers none for this file."""
    remote, local = (source, a), (target, b)
    if isinstance(source, LocalFS):
        remote, local = (target, b), (source, a)
    try:
        found = remote[0].checksum(remote[1])
    except FerrymanError:
        return None
    if found is None:
        return None
    algorithm, expected = found
    with translate(f"Cannot read {local[1]}"), open(local[1], "rb") as handle:
        digest = hashlib.file_digest(handle, algorithm).hexdigest()
    return digest.lower() == expected.lower()


def describe(plan: Plan, delete: bool) -> Iterator[str]:
    """The plan as lines for a person: every entry that is not the same, then the totals."""
    for item in plan.items:
        if item.action is Action.SAME:
            continue
        action = item.label(delete)
        suffix = "/" if item.is_dir else ""
        size = "" if item.is_dir else f"  {human(item.size)}"
        note = f"  ({item.note})" if item.note else ""
        yield f"{action:<20} {item.path}{suffix}{size}{note}"
    for line in plan.skipped:
        yield f"{'skipped':<20} {line}"
    for line in plan.unlisted:
        yield f"{'not listed':<20} {line}"
    if plan.unlisted and delete:
        yield "no deletion: a folder could not be listed, so what is only there is not known"
    totals = plan.summary(delete)
    if not totals:
        yield "nothing to do: the trees are the same"
        return
    yield "plan: " + ", ".join(f"{name} {count} ({human(size)})"
                               for name, (count, size) in totals.items())  # fmt: skip


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def delete_extra(fs: RemoteFS, root: str, items: list[Item], report: Callable[[str], None]) -> int:
    """Remove what is only in the destination (deepest first); returns how many failed.
    Paths are the checked relative paths joined to ``root``: nothing outside it."""
    failed = 0
    for item in items:
        path = fs_join(fs, root, item.path)
        try:
            if item.is_dir:
                fs.rmdir(path)
            else:
                fs.remove(path)
            report(f"deleted: {item.path}")
        except FerrymanError as error:
            failed += 1
            report(f"not deleted: {item.path}: {error}")
    return failed


def jobs_for(
    plan: Plan,
    source: RemoteFS,
    source_root: str,
    target: RemoteFS,
    target_root: str,
    options: Options,
) -> list[Job]:
    """One transfer job per selected copy (file by file, so excluded files inside a new
    folder stay out); ``make_folders`` must have run first."""
    direction = Direction.DOWNLOAD if isinstance(target, LocalFS) else Direction.UPLOAD
    jobs: list[Job] = []
    for item in plan.copies():
        assert item.source is not None
        jobs.append(Job(direction, fs_join(source, source_root, item.path),
                        fs_join(target, target_root, item.path), size=item.source.size,
                        mtime=corrected(source, item.source, options), replace=True))  # fmt: skip
    return jobs


def make_folders(plan: Plan, target: RemoteFS, target_root: str) -> None:
    """Create the destination root (with its parents) and the plan's new folders."""
    make_folder(target, target_root)
    for item in plan.folders():
        make_folder(target, fs_join(target, target_root, item.path))


def make_folder(fs: RemoteFS, path: str) -> None:
    """Like ``mkdir -p``: the folder and any missing parents; an existing one is fine."""
    if isinstance(fs, LocalFS):
        with translate(f"Cannot create {path}"):
            os.makedirs(path, exist_ok=True)
        return
    try:
        ensure_remote_dir(fs, path)
    except NotFound:
        parent = posixpath.dirname(path.rstrip("/"))
        if not parent or parent == path:
            raise
        make_folder(fs, parent)
        ensure_remote_dir(fs, path)


MARKS = {Action.NEW: "only", Action.NEWER: "newer", Action.OLDER: "older", Action.SIZE: "different",
         Action.DIFFERENT: "different", Action.KIND: "different"}  # fmt: skip
_MIRRORED = {"newer": "older", "older": "newer"}  # the other side's view of a time difference


def marks(plan: Plan) -> tuple[dict[str, str], dict[str, str]]:
    """What the app marks in each pane, by relative path: ``only`` (this side only),
    ``newer``, ``older`` and ``different``; a folder holding any difference is
    ``different`` unless it is itself only on one side."""
    left: dict[str, str] = {}
    right: dict[str, str] = {}
    for item in plan.items:
        if item.action is Action.SAME:
            continue
        if item.action is Action.EXTRA:
            right[item.path] = "only"
        elif item.action is Action.NEW:
            left[item.path] = "only"
        else:
            mark = MARKS[item.action]
            left[item.path] = mark
            right[item.path] = _MIRRORED.get(mark, mark)
    for side in (left, right):
        for path in list(side):
            parent = posixpath.dirname(path)
            while parent and side.get(parent) != "only":
                side.setdefault(parent, "different")
                parent = posixpath.dirname(parent)
    return left, right
