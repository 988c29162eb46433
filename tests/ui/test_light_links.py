"""The app on a slow link (issue 23): the transfer panel's key sets or clears the rate cap
while transfers run, and shows it; the browsing session stays up past the server's idle
timeout, and says so in the protocol log."""

from __future__ import annotations

import os
import time

from textual.widgets import Input

from tests.conftest import write
from tests.ui.conftest import settle
from tui.app import FerrymanApp
from tui.config import Config
from tui.screens.confirm import InputScreen
from tui.transfer.queue import Direction, Job, State
from tui.widgets.log_panel import LogPanel
from tui.widgets.transfer_panel import TransferPanel

KiB = 1024


async def test_l_in_the_transfer_panel__clears_the_cap_of_a_running_transfer(
    plain_server, root, local_dir
):
    size = 1024 * KiB  # 16 s at the configured 64K/s
    write(root, "big.bin", os.urandom(size))
    app = FerrymanApp(url=plain_server.url("ftp"), local_path=local_dir, check_revocation=False,
                      config=Config(limit_rate=64 * KiB))  # fmt: skip
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot, app)
        target = os.path.join(local_dir, "big.bin")
        app.enqueue(app.screen.site, [Job(Direction.DOWNLOAD, "/big.bin", target, size=size)])
        await pilot.press("t")
        panel = app.screen.query_one(TransferPanel)
        for _ in range(200):  # until the transfer runs
            if app.transfers.jobs()[0].done:
                break
            await pilot.pause(0.025)
        panel.refresh_jobs()
        assert "cap 64K/s" in str(panel.query_one("#transfer-total").render())
        started = time.monotonic()
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, InputScreen)
        assert app.screen.query_one(Input).value == "64K"
        app.screen.query_one(Input).value = ""
        await pilot.press("enter")
        await settle(pilot, app)
        (job,) = app.transfers.jobs()
        assert job.state is State.DONE and time.monotonic() - started < 5  # not 16 s
        assert app.rate_limit.rate is None and app.rate_chosen
        panel.refresh_jobs()
        assert "cap" not in str(panel.query_one("#transfer-total").render())


async def test_a_rate_that_is_not_one__is_refused_and_the_cap_stays(make_app, plain_server):
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("t", "l")
        await pilot.pause()
        app.screen.query_one(Input).value = "2M"
        await pilot.press("enter")
        await pilot.pause()
        assert app.rate_limit.rate == 2 * 1024 * 1024
        await pilot.press("l")
        await pilot.pause()
        app.screen.query_one(Input).value = "fast"
        await pilot.press("enter")
        await pilot.pause()
        assert app.rate_limit.rate == 2 * 1024 * 1024


async def test_the_browsing_session__outlives_the_server_idle_timeout(
    plain_server, root, local_dir
):
    # The server runs in this process: starved of the GIL on a loaded 2-core machine, its
    # loop ran its idle timer before reading the NOOP waiting for it (1 s and 2 s failed).
    plain_server._server.handler.timeout = 4.0
    write(root, "a.txt", b"a")
    app = FerrymanApp(url=plain_server.url("ftp"), local_path=local_dir, check_revocation=False,
                      config=Config(keepalive=0.3))  # fmt: skip
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot, app)
        log = app.screen.query_one(LogPanel)
        connected = time.monotonic()
        for _ in range(800):  # until sixteen keep-alives went: well past the idle timeout
            if sum("keep-alive" in line for line in log.lines_seen) >= 16:
                break
            await pilot.pause(0.025)
        assert time.monotonic() - connected > 4.5
        await pilot.press("ctrl+r")  # reload: a command on the same session
        await settle(pilot, app)
        seen = list(log.lines_seen)
    assert seen.count("> NOOP") >= 16
    assert not any("reconnect" in line or "421" in line for line in seen), seen
