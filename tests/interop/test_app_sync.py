"""The app's sync (y, the plan modal, the transfer panel) against every interop server and
mode, both directions, until the trees match and a new plan has nothing to copy."""

from __future__ import annotations

import os

from tests.conftest import files_under
from tests.ui.conftest import settle
from tui.app import FerrymanApp
from tui.config import Config
from tui.screens.sync_plan import SyncPlanScreen
from tui.transfer.queue import State


async def sync_from(app: FerrymanApp, pilot, keys: tuple[str, ...]) -> SyncPlanScreen:
    await pilot.press(*keys, "y")
    await settle(pilot, app)
    assert isinstance(app.screen, SyncPlanScreen)
    return app.screen


async def test_app_sync_converges_both_ways(target, tmp_path):
    local = tmp_path / "local"
    tree = {"index.html": b"<h1>hi</h1>\n", "assets/app.js": b"console.log(1)\n" * 50,
            "assets/\u00e9t\u00e9.txt": b"summer\n"}  # fmt: skip
    for relative, data in tree.items():
        (local / relative).parent.mkdir(parents=True, exist_ok=True)
        (local / relative).write_bytes(data)
    app = FerrymanApp(url=target.url(), local_path=str(local), config=Config(),
                      ca_file=target.ca_file, check_revocation=False)  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        plan = await sync_from(app, pilot, ("tab",))  # local pane → remote pane
        assert {i.path for i in plan.choosable if i.selected} == {*tree, "assets"}
        await pilot.press("s")
        await settle(pilot, app)
        await settle(pilot, app)
        assert {job.state for job in app.transfers.jobs()} == {State.DONE}
        assert files_under(target.folder) == tree

        with open(os.path.join(target.folder, "from-server.txt"), "wb") as handle:
            handle.write(b"made on the server\n")
        plan = await sync_from(app, pilot, ("tab",))  # remote pane → local pane
        chosen = {i.path for i in plan.choosable if i.selected}
        assert "from-server.txt" in chosen
        await pilot.press("s")
        await settle(pilot, app)
        await settle(pilot, app)
        assert files_under(str(local)) == files_under(target.folder)

        plan = await sync_from(app, pilot, ())  # the same direction again: nothing to copy
        assert not [i for i in plan.choosable if i.selected]
        await pilot.press("escape")
