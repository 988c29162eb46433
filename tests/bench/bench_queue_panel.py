"""Benchmark: the transfer panel with a long queue (a big tree being copied).

    python tests/bench/bench_queue_panel.py [--jobs 2000 20000 100000]

For each size the app runs headless (Textual's Pilot, not connected, so nothing moves),
the jobs are put in the queue at once and the panel is opened; then the panel is redrawn
as its timer does four times a second: with the same rows, with the "active" filter, and
after a job finished under that filter. Prints milliseconds. The panel must stay well
under the 100 ms a key press may take (issue 5), whatever the queue's length.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from tui.app import FerrymanApp  # noqa: E402
from tui.config import Config  # noqa: E402
from tui.transfer.queue import Direction, Job, State  # noqa: E402
from tui.widgets.transfer_panel import TransferPanel  # noqa: E402


def best_of(action, rounds: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


async def measure(count: int) -> list[tuple[str, float]]:
    local = tempfile.mkdtemp(prefix="ferryman-queue-bench-")
    app = FerrymanApp(url=None, local_path=local, config=Config(), check_revocation=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("escape")  # the connect dialog
        jobs = [Job(Direction.DOWNLOAD, f"/tree/f{n}", os.path.join(local, f"f{n}"), size=4096)
                for n in range(count)]  # fmt: skip
        start = time.perf_counter()
        app.transfers.add(jobs)
        await pilot.press("t")
        await pilot.pause()
        shown = (time.perf_counter() - start) * 1000
        panel = app.screen.query_one(TransferPanel)
        jobs[0].state, jobs[0].done = State.RUNNING, 1000
        same = best_of(panel.refresh_jobs)
        panel.shown = "active"
        active = best_of(panel.refresh_jobs)

        def one_finished() -> None:
            next(job for job in jobs if job.state is State.QUEUED).state = State.DONE
            panel.refresh_jobs()

        finished = best_of(one_finished)
    return [("queued and shown", shown), ("redraw, same rows", same),
            ("redraw, active filter", active), ("redraw after one finished", finished)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[2000, 20000, 100000])
    args = parser.parse_args()
    os.environ["FERRYMAN_HOME"] = tempfile.mkdtemp(prefix="ferryman-queue-bench-home-")
    results = {count: asyncio.run(measure(count)) for count in args.jobs}
    print(f"\n{'ms (best of 5)':<28}" + "".join(f"{count:>10}" for count in args.jobs))
    for row, (label, _) in enumerate(results[args.jobs[0]]):
        print(f"{label:<28}" + "".join(f"{results[c][row][1]:>10.1f}" for c in args.jobs))
    print("\ntarget: a redraw well under 100 ms (a key press must be handled within 100 ms)")


if __name__ == "__main__":
    main()
