"""Benchmark: the app copying a tree of many small files, and what its UI thread spends.

    python tests/bench/bench_app_tree.py [--files 2000 20000]

The app runs headless (Textual's Pilot) against pyftpdlib on 127.0.0.1 with the transfer
panel open, and downloads one folder of N files of 100 bytes with its engine (two
sessions, as configured by default). Prints the wall time, and how often and how long the
UI thread redrew the panel and asked the queue whether it had run dry: work that grows
with the queue and, done per job, made a big tree crawl (the transfers share the GIL).
The server's own cost per connection grows with the files too (pyftpdlib picks passive
ports by trying them), so compare sizes with one another only on the same code.
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
from tui.demo import SandboxServer  # noqa: E402
from tui.transfer.queue import Direction, Job, State, TransferQueue  # noqa: E402
from tui.widgets.transfer_panel import TransferPanel  # noqa: E402

SPENT: dict[str, list[float]] = {}


def timed(owner: type, name: str) -> None:
    """Count the calls of ``owner.name`` and the seconds they take."""
    original = getattr(owner, name)
    record = SPENT.setdefault(name, [0, 0.0])

    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            record[0] += 1
            record[1] += time.perf_counter() - start

    setattr(owner, name, wrapper)


async def copy_tree(url: str, local: str) -> float:
    app = FerrymanApp(url=url, local_path=local, config=Config(), check_revocation=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if app.screen.remote.fs is not None:
                break
        job = Job(Direction.DOWNLOAD, "/tree", os.path.join(local, "tree"), is_dir=True)
        for record in SPENT.values():
            record[:] = [0, 0.0]
        start = time.perf_counter()
        app.enqueue(app.screen.site, [job])
        app.screen.transfer_panel().display = True
        polls = 0
        while job.state is State.QUEUED or not app.transfers.wait(timeout=0):
            polls += 1
            await pilot.pause(0.05)
        SPENT["wait"][0] -= polls + 1  # this loop's own asks are not the app's
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[2000, 20000])
    args = parser.parse_args()
    os.environ["FERRYMAN_HOME"] = tempfile.mkdtemp(prefix="ferryman-tree-bench-home-")
    timed(TransferPanel, "refresh_jobs")
    timed(TransferQueue, "wait")
    heads = ("files", "seconds", "redraws", "redraw s", "idle asks", "ask s")
    print("\n" + "".join(f"{head:>10}" for head in heads))
    for count in args.files:
        root = tempfile.mkdtemp(prefix="ferryman-tree-bench-")
        os.makedirs(os.path.join(root, "tree"))
        for n in range(count):
            with open(os.path.join(root, "tree", f"f{n:06d}"), "wb") as handle:
                handle.write(b"x" * 100)
        with SandboxServer(root) as server:
            took = asyncio.run(copy_tree(server.url("ftp"), tempfile.mkdtemp()))
        (redraws, redraw_s), (asks, ask_s) = SPENT["refresh_jobs"], SPENT["wait"]
        print(
            f"{count:>10}{took:>10.2f}{redraws:>10.0f}{redraw_s:>10.2f}{asks:>10.0f}{ask_s:>10.2f}"
        )


if __name__ == "__main__":
    main()
