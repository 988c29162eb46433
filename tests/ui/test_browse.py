"""Pilot tests: connect, trust decisions, browse, and what a hostile server cannot do."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import pkgutil

from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import Input

import tui.screens
from tests.conftest import write
from tests.ui.conftest import settle, shown, store
from tui.app import FerrymanApp
from tui.config import Config, load_config
from tui.screens.certificate import CertificateScreen
from tui.screens.connect import ConnectScreen
from tui.screens.main import MainScreen
from tui.screens.quiet import QuietScreen
from tui.widgets.file_pane import FilePane
from tui.widgets.status_bar import StatusBar


def names(pane: FilePane) -> list[str]:
    return shown(pane)


async def test_connect_accept_once_and_browse(make_app, tls_server, root):
    write(root, "docs/guide.md", b"# Guide\n")
    write(root, "readme.txt", b"hello")
    app = make_app(tls_server.url("ftpes"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, CertificateScreen)
        assert app.screen.report.verdict == "untrusted"
        await pilot.press("o")  # accept once
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        remote = screen.remote
        assert [name.split()[0] for name in names(remote)] == ["docs/", "readme.txt"]
        status = screen.query_one(StatusBar)
        assert status.security.startswith("TLSv1.") and status.site.startswith("127.0.0.1:")
        assert remote.file_tree.has_focus
        await pilot.press("enter")  # expand docs/ in place
        await settle(pilot, app)
        docs = remote.file_tree.lines[0]
        assert docs.expanded and docs.entry.name == "docs"
        assert [text.split()[0] for text in shown(remote, depth=1)] == ["guide.md"]
    assert all(not record.certificates for record in store().sites().values())


async def test_trust_always_then_reconnect_without_a_prompt(make_app, tls_server):
    app = make_app(tls_server.url("ftpes"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("a")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
    assert len(store().certificates(f"127.0.0.1:{tls_server.port}")) == 1
    again = make_app(tls_server.url("ftpes"))
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(pilot, again)
        assert isinstance(again.screen, MainScreen)  # no certificate prompt this time
        assert again.screen.remote.fs is not None


async def test_rejecting_a_certificate__leaves_the_pane_disconnected_without_a_second_dialog(
    make_app, tls_server
):
    app = make_app(tls_server.url("ftpes"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")
        await settle(pilot, app)
        # The user said no in the viewer: no error dialog saying it again (issue 20, #12).
        assert isinstance(app.screen, MainScreen)
        assert app.screen.remote.fs is None
        assert app.screen.status.activity == "certificate rejected"


async def test_hostile_names_render_literally(make_app, plain_server, root):
    hostile = ["[bold red]markup[blink]", "\x1b[31mred\x1b[0m", "bell\x07.txt"]
    for name in hostile:
        write(root, name, b"x")
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        shown = names(app.screen.remote)
    joined = " ".join(shown)
    assert "[bold red]markup[blink]" in joined  # markup stays text
    assert "\x1b" not in joined and "\\x1b[31mred\\x1b[0m" in joined
    assert "\x07" not in joined and "bell\\x07.txt" in joined


async def test_filter_sort_and_hidden(make_app, plain_server, root):
    for name, size in [("alpha.txt", 10), ("beta.log", 300), (".hidden", 1), ("gamma.txt", 20)]:
        write(root, name, b"x" * size)
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        remote = app.screen.remote
        first = lambda: [n.split()[0] for n in names(remote)]  # noqa: E731
        assert first() == ["alpha.txt", "beta.log", "gamma.txt"]
        await pilot.press("full_stop")
        assert first()[0] == ".hidden"
        await pilot.press("full_stop", "s")  # hidden off, sort by size
        assert first() == ["beta.log", "gamma.txt", "alpha.txt"]
        await pilot.press("slash")
        await pilot.press(*"*.txt")
        await pilot.press("enter")
        assert first() == ["gamma.txt", "alpha.txt"]
        await pilot.press("escape")
        assert len(first()) == 3
        assert len(remote.listings) == 1  # none of that read the server again


async def test_80_by_24_shows_both_panes_and_the_keys(make_app, plain_server, root):
    write(root, "a-file-with-a-rather-long-name-that-needs-cutting.txt", b"x")
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert screen.local.size.width >= 38 and screen.remote.size.width >= 38
        label = names(screen.remote)[0]
        assert label.endswith("…") or len(label) <= screen.remote.size.width
        assert os.path.basename(app.local_path) == "local"


async def test_a_huge_folder_is_laid_out_but_only_the_screen_is_drawn(make_app, tmp_path):
    """20,000 entries: every row exists, but only the rows on screen were ever turned into
    text; sorting and filtering work from the kept listing."""
    huge = tmp_path / "huge"
    huge.mkdir()
    for n in range(20_000):
        (huge / f"f{n:05d}.txt").write_bytes(b"x" * (n % 7))
    app = make_app(None)
    app.local_path = str(huge)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")  # the connect screen
        await settle(pilot, app)
        local = app.screen.local
        tree = local.file_tree
        assert len(tree.lines) == 20_000
        drawn = [line for line in tree.lines if line.label is not None]
        assert 0 < len(drawn) <= 30  # the rows on screen, not 20,000 texts
        await pilot.press("end")
        assert tree.cursor.entry.name == "f19999.txt"
        await pilot.press("s")  # sort by size: from the listing, not the disk
        assert tree.lines[0].entry.size == 6
        await pilot.press("slash", *"f1999?.txt", "enter")
        names = [line.entry.name for line in tree.lines]
        assert sorted(names) == [f"f1999{n}.txt" for n in range(10)]
        assert [line.entry.size for line in tree.lines] == sorted(
            (line.entry.size for line in tree.lines), reverse=True
        )  # still by size
        assert len([line for line in tree.lines if line.label is not None]) <= 30


async def test_light_mode_draws_a_marker_cursor(local_dir):
    """--light (or [display] light): the cursor is a marker cell, so a move rewrites one
    cell per row instead of two whole rows."""
    for name in ("a.txt", "b.txt"):
        write(local_dir, name, b"x")
    app = FerrymanApp(local_path=local_dir, config=Config(light=True), check_revocation=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")
        tree = app.screen.local.file_tree
        assert tree.light
        first, second = tree.render_line(0).text, tree.render_line(1).text
        assert first.startswith("\u203a") and second.startswith(" ")
        await pilot.press("down")
        assert tree.render_line(0).text.startswith(" ")
        assert tree.render_line(1).text.startswith("\u203a")
        assert load_config_light("[display]\nlight = true\n")


def load_config_light(text: str) -> bool:
    path = os.path.join(os.environ["FERRYMAN_HOME"], "light.toml")
    with open(path, "w") as handle:
        handle.write(text)
    return load_config(path).light


async def test_a_small_local_folder_is_in_the_first_frame_without_a_worker(make_app):
    app = make_app(None)
    async with app.run_test(size=(80, 24)):
        pane = app.screen.query_one("#local", FilePane)
        names = [line.entry.name for line in pane.file_tree.lines if line.entry is not None]
        assert names == ["local-file.txt"]  # already there: no "loading" frame first
        assert not [worker for worker in app.workers if worker.group == "pane-load"]


async def test_a_dialog_with_a_text_field_redraws_nothing_while_the_user_reads_it(make_app):
    # A blinking cursor repaints twice a second: a steady trickle over a slow link.
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, ConnectScreen)
        field = app.screen.query_one("#url", Input)
        field.focus()
        await pilot.pause()
        repaints: list[object] = []
        original = field.refresh

        def counting(*regions, **options):  # type: ignore[no-untyped-def]
            repaints.append(regions)
            return original(*regions, **options)

        field.refresh = counting  # type: ignore[method-assign]
        await asyncio.sleep(1.2)  # more than two blink periods (0.5 s each)
        assert app.focused is field
        assert repaints == []


async def test_the_file_list_size_depends_on_its_entries_not_on_the_window(make_app):
    # A virtual size that follows the width changes on every resize, and each change lays
    # out and re-sends the whole screen (4 KB of the start-up at 80x24).
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        tree = app.screen_stack[0].query_one("#local", FilePane).file_tree
        before = tree.virtual_size
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert tree.virtual_size == before
        assert before.height == len(tree.lines)


async def test_the_command_palette_keeps_its_cursor_steady_too(make_app):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")  # the connect dialog: to the panes
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        fields = list(app.screen.query(Input))
        assert fields and not any(field.cursor_blink for field in fields)


def test_every_screen_keeps_its_text_cursors_steady():
    # A screen made later without the mixin would blink again; this names it.
    loud = []
    for module in pkgutil.iter_modules(tui.screens.__path__):
        loaded = importlib.import_module(f"tui.screens.{module.name}")
        for name, kind in inspect.getmembers(loaded, inspect.isclass):
            if kind.__module__ == loaded.__name__ and issubclass(kind, Screen):
                if not issubclass(kind, QuietScreen):
                    loud.append(name)
    assert loud == []


async def test_a_long_error_wraps_inside_its_dialog_at_80_columns(make_app):
    from textual.widgets import Label

    from tui.errors import ConnectFailed
    from tui.screens.error import ErrorScreen

    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")
        message = (
            "127.0.0.1 port 21 refused the connection (is an FTP server running "
            "there, and is it the right port?) and the words that follow are seen too"
        )
        app.push_screen(ErrorScreen(ConnectFailed(message)))
        await pilot.pause()
        shown = app.screen.query(Label)[1]
        dialog = app.screen.query_one(".dialog")
        assert shown.region.height >= 2  # wrapped, not cut at the dialog's edge
        assert shown.region.right <= dialog.region.right
