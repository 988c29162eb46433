"""Pilot tests of compare (marks in both panes, a legend) and sync (the plan modal, then
the transfer panel), against pyftpdlib."""

from __future__ import annotations

import os
import time

from tests.conftest import write
from tests.ui.conftest import settle, shown
from tui.screens.sync_plan import SyncPlanScreen
from tui.sites import Site, load_sites, save_sites
from tui.transfer.queue import State


def labels(pane) -> dict[str, str]:
    """Name → the row's text, for the pane's top level."""
    lines = [line for line in pane.file_tree.lines if line.depth == 0 and line.entry is not None]
    return {line.entry.name: text for line, text in zip(lines, shown(pane), strict=True)}


def prepare(root: str, local_dir: str) -> None:
    old = time.time() - 7200
    write(local_dir, "both-same.txt", b"same")
    write(root, "both-same.txt", b"same")
    write(local_dir, "edited.txt", b"edited here, newer")
    write(root, "edited.txt", b"old version, longer..")  # different size
    write(root, "server-only.txt", b"only on the server")
    write(local_dir, "docs/new.txt", b"new in a new folder")
    write(local_dir, "older.txt", b"12345")
    write(root, "older.txt", b"abcde")  # same size; the server's copy is newer
    os.utime(os.path.join(local_dir, "older.txt"), (old, old))
    for name in ("both-same.txt", "edited.txt"):
        os.utime(os.path.join(root, name), (old, old))
        os.utime(os.path.join(local_dir, name), (old + 60 if name == "edited.txt" else old,) * 2)


async def test_compare_marks_both_panes_and_clears(make_app, plain_server, root, local_dir):
    prepare(root, local_dir)
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("equals_sign")
        await settle(pilot, app)
        local, remote = labels(app.screen.local), labels(app.screen.remote)
        assert local["docs"].startswith("+ ") and local["edited.txt"].startswith("\u2260 ")
        assert local["older.txt"].startswith("< ") and remote["older.txt"].startswith("> ")
        assert remote["server-only.txt"].startswith("+ ")
        assert local["local-file.txt"].startswith("+ ")
        assert not local["both-same.txt"].startswith(("+", "\u2260", "<", ">"))
        legend = app.screen.query_one("#legend")
        assert legend.display and "only here" in str(legend.render())
        assert "difference" in app.screen.status.activity
        await pilot.press("equals_sign")  # again: the marks go
        local = labels(app.screen.local)
        assert local["docs"].startswith("docs") and not legend.display


async def test_sync_shows_the_plan_then_copies_what_is_ticked(
    make_app, plain_server, root, local_dir
):
    prepare(root, local_dir)
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("tab", "y")  # from the local pane to the remote one
        await settle(pilot, app)
        assert isinstance(app.screen, SyncPlanScreen)
        plan_screen = app.screen
        totals = str(plan_screen.query_one("#totals").render())
        assert "new 2" in totals and "size differs 1" in totals
        assert "only in destination) 1, 0 to delete" in totals
        paths = {item.path: item.selected for item in plan_screen.choosable}
        assert paths == {"docs": True, "docs/new.txt": True, "edited.txt": True,
                         "local-file.txt": True, "server-only.txt": False}  # fmt: skip
        # Untick local-file.txt and tick server-only.txt for deletion, by keyboard.
        entries = plan_screen.query_one("#entries")
        order = [item.path for item in plan_screen.choosable]
        entries.highlighted = order.index("local-file.txt")
        await pilot.press("space")
        entries.highlighted = order.index("server-only.txt")
        await pilot.press("space")
        assert "1 to delete" in str(plan_screen.query_one("#totals").render())
        await pilot.press("s")
        await settle(pilot, app)
        await settle(pilot, app)
        assert {job.state for job in app.transfers.jobs()} == {State.DONE}
        assert sorted(os.path.basename(job.target) for job in app.transfers.jobs()) == [
            "edited.txt", "new.txt"]  # fmt: skip
    with open(os.path.join(root, "docs", "new.txt"), "rb") as handle:
        assert handle.read() == b"new in a new folder"
    with open(os.path.join(root, "edited.txt"), "rb") as handle:
        assert handle.read() == b"edited here, newer"
    with open(os.path.join(root, "older.txt"), "rb") as handle:
        assert handle.read() == b"abcde"  # newer on the server: kept
    assert not os.path.exists(os.path.join(root, "server-only.txt"))  # ticked: deleted
    assert not os.path.exists(os.path.join(root, "local-file.txt"))  # unticked: not copied


async def test_sync_plan_escape_changes_nothing(make_app, plain_server, root, local_dir):
    prepare(root, local_dir)
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("y")  # from the remote pane (active after connecting): a download
        await settle(pilot, app)
        assert isinstance(app.screen, SyncPlanScreen)
        assert {i.path for i in app.screen.choosable if i.selected} == {
            "server-only.txt", "edited.txt", "older.txt"}  # fmt: skip  # newer on the server
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.transfers.jobs() == []
    assert not os.path.exists(os.path.join(local_dir, "server-only.txt"))


async def test_the_sites_clock_offset_applies_to_compare(make_app, plain_server, root, local_dir):
    """A server three hours behind: its files look older until the site's offset says so."""
    os.remove(os.path.join(local_dir, "local-file.txt"))
    write(local_dir, "f.txt", b"same")
    write(root, "f.txt", b"same")
    behind = time.time() - 3 * 3600
    os.utime(os.path.join(root, "f.txt"), (behind, behind))
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("equals_sign")
        await settle(pilot, app)
        assert labels(app.screen.local)["f.txt"].startswith("> ")
        await pilot.press("equals_sign")
        app.screen.site.time_offset = 3 * 3600
        await pilot.press("equals_sign")
        await settle(pilot, app)
        assert labels(app.screen.local)["f.txt"].startswith("f.txt")
        assert "the folders are the same" in app.screen.status.activity


def test_a_sites_time_offset_is_saved_and_read(tmp_path):
    path = str(tmp_path / "sites.toml")
    save_sites([Site("a.test", 21, name="A", time_offset=-7200), Site("b.test", 21)], path)
    assert [s.time_offset for s in load_sites(path)] == [-7200, 0.0]
    assert open(path).read().count("time_offset") == 1  # the default is not written
