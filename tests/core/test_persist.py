"""The unfinished-transfer record (tui.transfer.persist): what a quit leaves for the next
start survives a round trip exactly, and a damaged record is set aside, never trusted."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.transfer import persist
from tui.transfer.queue import Direction, Job

names = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(source=names, target=names, size=st.none() | st.integers(0, 2**63),
       upload=st.booleans())  # fmt: skip
def test_any_job__round_trips_through_the_record(tmp_path_factory, source, target, size, upload):
    path = str(tmp_path_factory.mktemp("p") / "unfinished.json")
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    direction = Direction.UPLOAD if upload else Direction.DOWNLOAD
    persist.save(path, "h:21", "ftp://h:21/", [Job(direction, source, target, size=size,
                                                   mtime=when)])  # fmt: skip
    record = persist.load(path)
    assert record is not None and record.site == "h:21"
    (job,) = record.jobs
    assert (job.direction, job.source, job.target, job.size, job.mtime) == (
        direction, source, target, size, when)  # fmt: skip
    assert job.attempts == 1  # the engine resumes from its own partial file
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_damaged_record__is_set_aside_and_offers_nothing(tmp_path):
    path = tmp_path / "unfinished.json"
    path.write_text('{"version": 1, "site": "h:21", "jobs": [{"direction": "sideways"}]}')
    assert persist.load(str(path)) is None
    assert not path.exists() and (tmp_path / "unfinished.json.bad").exists()


def test_no_jobs__removes_the_record(tmp_path):
    path = str(tmp_path / "unfinished.json")
    persist.save(path, "h:21", "ftp://h:21/", [Job(Direction.DOWNLOAD, "/a", "/tmp/a")])
    persist.save(path, "h:21", "ftp://h:21/", [])
    assert persist.load(path) is None and not os.path.exists(path)
