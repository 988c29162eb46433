"""Pilot tests of the transfer panel: F5 queues there, progress and totals, and the keys
that pause, resume, cancel and retry."""

from __future__ import annotations

import os

from tests.conftest import write
from tests.ui.conftest import settle, shown
from tui.transfer.queue import Direction, Job, State
from tui.widgets.transfer_panel import TransferPanel


def row_names(pane) -> list[str]:
    return [text.split()[0] for text in shown(pane)]


async def test_f5_queues_and_the_panel_shows_it_done(make_app, plain_server, root, local_dir):
    write(root, "big.bin", os.urandom(6 * 1024 * 1024))
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5", "y")
        await settle(pilot, app)
        panel = app.screen.query_one(TransferPanel)
        assert panel.display
        (job,) = app.transfers.jobs()
        assert job.state is State.DONE and job.done == 6 * 1024 * 1024
        panel.refresh_jobs()
        total = str(panel.query_one("#transfer-total").render())
        assert "1/1 files" in total and "6.0M of 6.0M" in total
        assert os.path.getsize(os.path.join(local_dir, "big.bin")) == 6 * 1024 * 1024
        assert "big.bin" in row_names(app.screen.local)  # the target pane reloaded
        await pilot.pause(0.35)  # one more tick of the panel's timer
        assert panel._timer is None  # idle: the panel stopped redrawing


async def test_a_failed_job_is_shown_and_retried(make_app, plain_server, root, local_dir):
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        target = os.path.join(local_dir, "late.txt")
        app.enqueue(app.screen.site, [Job(Direction.DOWNLOAD, "/late.txt", target, size=4)])
        await settle(pilot, app)
        (job,) = app.transfers.jobs()
        assert job.state is State.FAILED and "late.txt" in job.reason
        await pilot.press("t")  # to the panel
        panel = app.screen.query_one(TransferPanel)
        panel.refresh_jobs()
        assert "FAILED" in str(panel.query_one("DataTable").get_row_at(0)[0])
        write(root, "late.txt", b"here")
        await pilot.press("r")
        await settle(pilot, app)
        assert job.state is State.DONE
        with open(target, "rb") as handle:
            assert handle.read() == b"here"


async def test_pause_resume_cancel_and_filter_keys(make_app, local_dir):
    app = make_app(None)  # not connected: queued jobs wait, so the keys act on them
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")
        jobs = [Job(Direction.DOWNLOAD, f"/f{n}", os.path.join(local_dir, f"f{n}"), size=10)
                for n in range(3)]  # fmt: skip
        app.transfers.add(jobs)
        await pilot.press("t")
        panel = app.screen.query_one(TransferPanel)
        await pilot.press("p")  # pause the first
        await pilot.press("down", "x")  # cancel the second
        assert [job.state for job in jobs] == [State.PAUSED, State.CANCELLED, State.QUEUED]
        await pilot.press("up", "p")  # resume the first
        assert jobs[0].state is State.QUEUED
        await pilot.press("minus")  # move it down the queue
        assert [job.id for job in app.transfers.jobs()][:2] == [jobs[1].id, jobs[0].id]
        await pilot.press("f")
        assert panel.shown == "active"
        assert panel.query_one("DataTable").row_count == 2  # the cancelled one is not active
        await pilot.press("f", "f", "c")  # "done" view, then clear finished
        assert [job.id for job in app.transfers.jobs()] == [jobs[0].id, jobs[2].id]
