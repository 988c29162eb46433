"""Fixtures for Pilot tests: the app against a real pyftpdlib server on 127.0.0.1."""

from __future__ import annotations

import os

import pytest
from textual.screen import ModalScreen
from textual.worker import WorkerState

from tui.app import FerrymanApp
from tui.config import Config
from tui.trust.store import TrustStore


@pytest.fixture
def local_dir(tmp_path) -> str:
    path = tmp_path / "local"
    path.mkdir()
    (path / "local-file.txt").write_text("from the local side\n")
    return str(path)


@pytest.fixture
def make_app(local_dir):
    """Build the app as a user starts it, connected (or not) to ``url``."""

    def make(url: str | None, **options) -> FerrymanApp:
        options.setdefault("check_revocation", False)
        return FerrymanApp(url=url, local_path=local_dir, config=Config(), **options)

    return make


async def settle(pilot, app, *, rounds: int = 400) -> None:
    """Wait until no worker runs, or one waits for the user in a modal (a trust prompt).

    Bounded: ``rounds`` pauses of 25 ms at most, then the test goes on and fails on what it
    sees rather than hanging.
    """
    for _ in range(rounds):
        await pilot.pause(0.025)
        running = [worker for worker in app.workers if worker.state == WorkerState.RUNNING]
        transfers = getattr(app, "transfers", None)
        if transfers is not None and not transfers.wait(timeout=0):
            running.append(transfers)  # the engine's threads are not Textual workers
        if not running:
            await pilot.pause()
            return
        if isinstance(app.screen, ModalScreen):
            await pilot.pause()  # let the modal compose and mount before the test reads it
            return


def store() -> TrustStore:
    return TrustStore(os.path.join(os.environ["FERRYMAN_HOME"], "data", "trust.json"))


def shown(pane, *, depth: int | None = 0) -> list[str]:
    """The pane's rows as drawn, top to bottom, without the tree's indentation and icon
    column (notes such as "(empty)" included); only rows at ``depth`` unless None."""
    tree = pane.file_tree
    rows = [n for n, line in enumerate(tree.lines) if depth is None or line.depth == depth]
    return [str(tree.row_text(n)).strip().lstrip("\u25b6\u25bc ").strip() for n in rows]
