"""Benchmark: how fast the app answers keys while a transfer runs at full speed.

    sudo tests/interop/install-servers.sh
    python tests/bench/bench_ui_latency.py [--size-mib 512] [--presses 60] [--queue 100000]

The app runs headless (Textual's Pilot) against vsftpd over explicit FTPS while its engine
downloads one big file; each key press moves the cursor, and the time until the press is
handled is recorded. Target (issue 5): every press handled within 100 ms. The same presses
with no transfer running are the baseline. With ``--queue N`` the transfer panel is open
and N more (paused) jobs wait in the queue, as when a big tree is being copied: the panel
tallies and lists all of them four times a second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from textual import events  # noqa: E402

from tests.certs import make_ca, make_leaf  # noqa: E402
from tests.interop.servers import USER, Vsftpd, missing  # noqa: E402
from tui.app import FerrymanApp  # noqa: E402
from tui.config import Config  # noqa: E402
from tui.demo import TLSFiles  # noqa: E402
from tui.transfer.queue import Direction, Job, State  # noqa: E402


async def presses(pilot, count: int, job: Job | None = None) -> list[float]:  # type: ignore[no-untyped-def]
    """Post key events every 20 ms (as a user types, without waiting for the app to go
    idle) and return, for each, the milliseconds until its action ran; with ``job``, only
    while that job is still running."""
    handled: list[float] = []
    tree = pilot.app.screen.remote.file_tree
    original = type(tree).action_cursor_down

    def timed(self) -> None:  # type: ignore[no-untyped-def]
        handled.append(time.perf_counter())
        original(self)

    type(tree).action_cursor_down = timed
    timings = []
    try:
        for _ in range(count):
            if job is not None and job.state is not State.RUNNING:
                break
            before = len(handled)
            sent = time.perf_counter()
            pilot.app.post_message(events.Key("j", "j"))
            while len(handled) == before and time.perf_counter() - sent < 5:
                await asyncio.sleep(0.001)
            timings.append((handled[before] - sent) * 1000 if len(handled) > before else 5000.0)
            await asyncio.sleep(0.02)
    finally:
        type(tree).action_cursor_down = original
    return timings


async def measure(url: str, ca_file: str, local: str, remote: str, size: int, count: int,  # type: ignore[no-untyped-def]
                  queue: int):  # fmt: skip
    app = FerrymanApp(url=url, local_path=local, config=Config(), ca_file=ca_file,
                      check_revocation=False)  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if app.screen.remote.fs is not None and app.screen.remote.listings:
                break
        idle = await presses(pilot, count)
        job = Job(Direction.DOWNLOAD, remote, os.path.join(local, "big.bin"), size=size)
        app.enqueue(app.screen.site, [job])
        if queue:
            waiting = [Job(Direction.DOWNLOAD, f"/tree/f{n}", os.path.join(local, f"f{n}"),
                           size=4096, state=State.PAUSED) for n in range(queue)]  # fmt: skip
            app.transfers.add(waiting)
            panel = app.screen.transfer_panel()
            panel.display = True
            while not panel.is_mounted:
                await pilot.pause(0.01)
        while job.done < 8 * 1024 * 1024:  # at full speed before measuring
            await pilot.pause(0.01)
        busy = await presses(pilot, count, job)
        running_at_end = job.state is State.RUNNING
        while job.state not in (State.DONE, State.FAILED):
            await pilot.pause(0.05)
        return idle, busy, running_at_end, job.state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--queue", type=int, default=0, help="more jobs waiting in the queue")
    args = parser.parse_args()
    if missing():
        raise SystemExit(f"cannot run: {missing()}")
    work = tempfile.mkdtemp(prefix="ferryman-ui-bench-")
    os.environ["FERRYMAN_HOME"] = os.path.join(work, "home")
    ca = make_ca()
    ca_file, _ = ca.write(work, "ca")
    server = Vsftpd(TLSFiles(*make_leaf(ca).write(work, "leaf"))).start()
    try:
        folder = server.fresh_dir()
        remote = os.path.join(folder, "big.bin")
        with open(remote, "wb") as handle:
            block = os.urandom(1 << 20)
            for _ in range(args.size_mib):
                handle.write(block)
        shutil.chown(remote, USER, USER)
        local = os.path.join(work, "local")
        os.makedirs(local)
        idle, busy, overlapped, state = asyncio.run(
            measure(
                server.url("ftpes", folder),
                ca_file,
                local,
                remote,
                args.size_mib << 20,
                args.presses,
                args.queue,
            )  # fmt: skip
        )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'':<24}{'median ms':>10}{'p95 ms':>9}{'max ms':>9}")
    during = f"download, {args.queue} queued" if args.queue else "during the download"
    for label, values in (("idle", idle), (during, busy)):
        ordered = sorted(values)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        print(f"{label:<24}{statistics.median(values):>10.1f}{p95:>9.1f}{max(values):>9.1f}")
    print(f"\n{len(busy)} keys were handled while the download ran; it ended {state.value}")
    print("target: every key handled within 100 ms during a full-speed transfer")


if __name__ == "__main__":
    main()
