"""Pilot tests of the transfer panel: F5 queues there, progress and totals, speeds, and the
keys that pause, resume, cancel and retry one job or all of them."""

from __future__ import annotations

import os

from tests.conftest import write
from tests.ui.conftest import settle, shown
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.transfer_queue import QUEUE_HINT
from tui.transfer.queue import Direction, Job, State
from tui.widgets.job_list import JobList
from tui.widgets.transfer_panel import TransferPanel

MB = 1_000_000


def row_names(pane) -> list[str]:
    return [text.split()[0] for text in shown(pane)]


async def test_f5_queues_and_the_panel_shows_it_done(make_app, plain_server, root, local_dir):
    write(root, "big.bin", os.urandom(6 * 1024 * 1024))
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5", "enter")
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
        assert app.screen.status.activity == "transfers done: 1 copied"
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
        assert panel.query_one(JobList).row_text(0).plain.split()[0] == "FAILED"
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
        assert len(panel.query_one(JobList).jobs) == 2  # the cancelled one is not active
        await pilot.press("f", "f", "c")  # "done" view, then clear finished
        assert [job.id for job in app.transfers.jobs()] == [jobs[0].id, jobs[2].id]


def running_jobs(local_dir: str, count: int) -> list[Job]:
    return [Job(Direction.DOWNLOAD, f"/f{n}", os.path.join(local_dir, f"f{n}"), size=100 * MB)
            for n in range(count)]  # fmt: skip


async def test_the_total_line_shows_the_speed_and_time_left(make_app, local_dir):
    app = make_app(None)  # not connected: nothing runs unless the test says so
    clock = [1000.0]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        first, second = jobs = running_jobs(local_dir, 2)
        app.transfers.add(jobs)
        await pilot.press("escape", "t")
        panel = app.screen.query_one(TransferPanel)
        panel.clock = lambda: clock[0]
        first.state, first.done = State.RUNNING, 20 * MB  # moved before the first redraw
        panel.refresh_jobs()
        clock[0] += 2.0
        first.done += 10 * MB
        panel.refresh_jobs()
        total = str(panel.query_one("#transfer-total").render())
        # 5 MB/s; 70 MB of this file and 100 MB of the queued one to go: 34 s
        assert "4.8M/s 0:34 left" in total, total
        assert "0/2 files, 28.6M of 190.7M" in total
        assert len(total) <= 78  # one line of an 80-column terminal, padding aside
        row = panel.query_one(JobList).row_text(0).plain.split()
        assert row[-2:] == ["4.8M/s", "0:14"], row
        first.state = State.PAUSED  # paused for a minute, then running again
        panel.refresh_jobs()
        clock[0] += 60.0
        first.state = State.RUNNING
        panel.refresh_jobs()
        clock[0] += 1.0
        first.done += 1 * MB
        panel.refresh_jobs()
        row = panel.query_one(JobList).row_text(0).plain.split()
        assert row[-2] == "976.6K/s", row  # 1 MB in the second since it resumed, not over 63 s


async def test_shifted_keys_act_on_every_job(make_app, local_dir):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        jobs = running_jobs(local_dir, 3)
        app.transfers.add(jobs)
        await pilot.press("escape", "t", "P")
        assert [job.state for job in jobs] == [State.PAUSED] * 3
        await pilot.press("P")  # nothing is waiting: P resumes them all
        assert [job.state for job in jobs] == [State.QUEUED] * 3
        await pilot.press("X")  # cancelling all is asked first
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert [job.state for job in jobs] == [State.QUEUED] * 3
        await pilot.press("X", "y")
        assert [job.state for job in jobs] == [State.CANCELLED] * 3
        panel = app.screen.query_one(TransferPanel)
        panel.refresh_jobs()
        total = str(panel.query_one("#transfer-total").render())
        assert "0/3 files" in total and "3 cancelled" in total  # not counted as copied
        await pilot.press("R")
        assert [job.state for job in jobs] == [State.QUEUED] * 3
        await pilot.press("f1")  # with the queue focused, help lists its keys too
        assert isinstance(app.screen, HelpScreen)
        described = [description for _, description in app.screen.bindings]
        assert "Retry all" in described and "Pause/resume all" in described


async def test_the_status_line_shows_the_whole_reason_of_the_failed_job_under_the_cursor(
    make_app, local_dir
):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        reason = "Cannot download /logs/2025/access.log: 550 Permission denied\x1b[2J"
        jobs = running_jobs(local_dir, 2)
        jobs[1].state, jobs[1].reason = State.FAILED, reason
        app.transfers.add(jobs)
        await pilot.press("escape", "t")
        status = app.screen.status
        assert status.activity == QUEUE_HINT
        await pilot.press("down")
        shown_line = str(status.render())
        assert "550 Permission denied" in shown_line  # cut in the table's name column
        assert "\x1b" not in shown_line  # the server's text is made safe to show
        await pilot.press("up")
        assert status.activity == QUEUE_HINT
        jobs[0].state, jobs[0].reason = State.FAILED, "Connection lost: 421 Timeout"
        app.screen.query_one(TransferPanel).refresh_jobs()  # it failed under the cursor
        await pilot.pause()
        assert status.activity == "f0: Connection lost: 421 Timeout"


async def test_t_goes_to_a_queue_that_is_showing_and_hides_it_from_there(make_app, local_dir):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")
        main = app.screen
        app.transfers.add(running_jobs(local_dir, 1))
        panel = main.transfer_panel()
        panel.display = True  # as F5 leaves it: showing, the keyboard still in the pane
        await pilot.pause()
        assert panel not in app.focused.ancestors
        await pilot.press("t")
        assert panel.display and panel in app.focused.ancestors
        await pilot.press("t")
        assert not panel.display and app.focused is main.active().file_tree


async def test_the_queue_list_keeps_its_cursor_on_its_job_as_jobs_join(make_app, local_dir):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        jobs = running_jobs(local_dir, 50)
        app.transfers.add(jobs)
        await pilot.press("escape", "t", "G")
        listing = app.screen.query_one(JobList)
        assert listing.cursor_job is jobs[-1]
        assert listing.scroll_offset.y > 0  # scrolled to show it: only visible rows are drawn
        await pilot.press("pageup", "k")
        followed = listing.cursor_job
        assert followed is not None and followed is not jobs[-1]
        app.transfers.add(running_jobs(local_dir, 5), first=True)  # a folder's files, above
        await pilot.pause()
        assert listing.cursor_job is followed
        assert listing.row_text(listing.cursor_line).plain.split()[2].endswith(followed.name)


async def test_a_burst_of_queued_jobs_redraws_the_panel_once_not_per_job(make_app, local_dir):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape", "t")
        panel = app.screen.query_one(TransferPanel)
        redraws = []
        original = panel.refresh_jobs
        panel.refresh_jobs = lambda: redraws.append(1) or original()  # type: ignore[method-assign]
        app.transfers.add(running_jobs(local_dir, 2000))  # one change message per job
        await pilot.pause()
        await pilot.pause()
        assert len(panel.query_one(JobList).jobs) == 2000
        assert 1 <= len(redraws) <= 5  # each used to cost time in proportion to the queue
