"""Provides what the engine does about a target that exists: nothing there, a free name
beside it, and "resume" onto it, which is taken only as far as it is proven (partial.py).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Callable
from datetime import UTC, datetime

from tui.errors import NotFound, NotSupported, RemoteError
from tui.remote.base import RemoteFS
from tui.remote.local import translate
from tui.transfer.copy import IN_PLACE_LIMIT
from tui.transfer.partial import part_path, remote_prefix_matches, source_matches
from tui.transfer.queue import Conflict, Direction, Job


def nothing_there(job: Job) -> Conflict:
    """No target: a small upload is written in place, saving the rename (copy.py says why),
    and no upload pays a flush to the server's disk to keep a file safe that is not there."""
    job.over_nothing = True
    job.in_place = (
        job.direction is Direction.UPLOAD and job.size is not None and job.size < IN_PLACE_LIMIT
    )
    return Conflict.OVERWRITE


def target_info(job: Job, session: RemoteFS) -> tuple[int | None, datetime | None] | None:
    if job.direction is Direction.DOWNLOAD:
        try:
            info = os.stat(job.target)
        except FileNotFoundError:
            return None
        return info.st_size, datetime.fromtimestamp(info.st_mtime, UTC)
    try:
        entry = session.stat(job.target)
    except NotFound:
        return None
    return entry.size, entry.mtime


def free_name(job: Job, session: RemoteFS) -> str:
    join = os.path.join if job.direction is Direction.DOWNLOAD else posixpath.join
    split = os.path.split if job.direction is Direction.DOWNLOAD else posixpath.split
    folder, name = split(job.target)
    stem, dot, extension = name.partition(".") if not name.startswith(".") else (name, "", "")
    for number in range(1, 1000):
        candidate = join(folder, f"{stem} ({number}){dot}{extension}")
        probe = Job(job.direction, job.source, candidate)
        if target_info(probe, session) is None:
            return candidate
    raise RemoteError(f"No free name next to {job.target}")


def _target_to_partial(job: Job, session: RemoteFS, note: Callable[[str], None]) -> None:
    """ "Resume" an existing target: it becomes the partial file the copy continues, but
    only when it is provably the start of the source (an overlap re-read, or the server's
    checksum) and no partial file is there already. Otherwise it stays where it is, to be
    replaced only when the new copy is complete, and the copy starts from the beginning
    (or from the partial file, which is judged by its own record)."""
    if job.direction is Direction.DOWNLOAD:
        part = part_path(os.path.abspath(job.target))
        if os.path.exists(part):
            return
        length = os.path.getsize(job.target)
        if length and source_matches(session, job.source, job.target, length):
            with translate(f"Cannot resume {job.target}"):
                os.replace(job.target, part)
            return
    else:
        part = part_path(job.target)
        if session.exists(part):
            return
        try:
            length = session.size(job.target)
        except (NotFound, NotSupported):
            length = 0
        if length and remote_prefix_matches(session, job.target, length, job.source):
            session.rename(job.target, part)
            return
    note(f"{job.target} is not the start of the source: started over")


def resume_target(
    job: Job, session: RemoteFS, size: int | None, note: Callable[[str], None]
) -> Conflict:
    """The "resume" choice for an existing target of ``size`` bytes. One as long as the
    source is skipped only when it is proven the same (the server's checksum, else the
    overlap at its end); one longer, or not proven, is replaced by a copy from the start
    (said through ``note``); a shorter one is continued if it is a proven prefix."""
    if size is not None and job.size is not None and size >= job.size:
        if size == job.size and _same_file(job, session, size):
            job.reason = "the target is already complete"
            return Conflict.SKIP
        note(f"{job.target} is not the source's copy: started over")
        return Conflict.OVERWRITE
    _target_to_partial(job, session, note)
    return Conflict.RESUME


def _same_file(job: Job, session: RemoteFS, size: int) -> bool:
    if job.direction is Direction.UPLOAD:
        return remote_prefix_matches(session, job.target, size, job.source)
    if session.capabilities.hashes:
        found = session.checksum(job.source)
        if found is not None:
            algorithm, expected = found
            with translate(f"Cannot read {job.target}"), open(job.target, "rb") as handle:
                digest = hashlib.file_digest(handle, algorithm).hexdigest()
            return digest.lower() == expected.lower()
    return source_matches(session, job.source, job.target, size)
