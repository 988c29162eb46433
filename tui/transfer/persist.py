"""Provides the unfinished-transfer record: the jobs a quit left behind, kept in the data
dir so that the next start can offer them again (and resume them from their partial files).

One JSON file, written atomically (a temporary file, then ``os.replace``) with mode 0600.
It holds the site's key and URL without a password, and each job's direction, paths, size
and time. A damaged file is set aside (renamed ``.bad``), never trusted.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime

from tui.paths import data_dir
from tui.transfer.queue import Direction, Job

VERSION = 1


@dataclass
class Unfinished:
    """What a quit left: the site (its key, and a URL to reconnect with) and the jobs."""

    site: str
    url: str
    jobs: list[Job]


def default_path() -> str:
    return os.path.join(data_dir(), "unfinished.json")


def save(path: str, site: str, url: str, jobs: list[Job]) -> None:
    """Write the record atomically; no jobs removes it."""
    if not jobs:
        clear(path)
        return
    record = {"version": VERSION, "site": site, "url": url, "jobs": [
        {"direction": job.direction.value, "source": job.source, "target": job.target,
         "is_dir": job.is_dir, "size": job.size,
         "mtime": job.mtime.isoformat() if job.mtime else None}
        for job in jobs
    ]}  # fmt: skip
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".unfinished-", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def load(path: str) -> Unfinished | None:
    """The record, or None when there is none (or it was damaged: then it is set aside)."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        jobs = [
            Job(Direction(item["direction"]), str(item["source"]), str(item["target"]),
                is_dir=bool(item["is_dir"]),
                size=item["size"] if isinstance(item["size"], int) else None,
                mtime=datetime.fromisoformat(item["mtime"]) if item["mtime"] else None,
                attempts=1)  # an earlier run tried: resume from its own partial file
            for item in record["jobs"]
        ]  # fmt: skip
        if record["version"] != VERSION:
            raise ValueError(record["version"])
        return Unfinished(str(record["site"]), str(record["url"]), jobs)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        with contextlib.suppress(OSError):
            os.replace(path, path + ".bad")
        return None


def clear(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
