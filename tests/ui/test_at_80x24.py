"""What a Midnight Commander or FileZilla user expects of the app at 80x24 and 60x20
(issue 20): the cursor keeps its entry, copies go where the header says, quitting keeps
unfinished work, every bar and dialog fits, nothing relies on colour, no status lies."""

from __future__ import annotations

import os
import re
import tempfile

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Button, Label, Static

from tests.conftest import write
from tests.ui.conftest import settle, shown
from tests.ui.test_compare_sync import prepare as prepare_sync
from tui.app import FerrymanApp
from tui.config import load_config
from tui.errors import ConnectionLost
from tui.screens.certificate import CertificateScreen, link_text
from tui.screens.confirm import ConfirmScreen, ConflictScreen
from tui.screens.error import ErrorScreen
from tui.screens.main import MainScreen
from tui.screens.sync_plan import SyncPlanScreen
from tui.screens.viewer import ViewerScreen
from tui.transfer.queue import Direction, Job, State
from tui.widgets.file_tree import FileTree
from tui.widgets.job_list import JobList
from tui.widgets.status_bar import StatusBar


def tree(pane) -> FileTree:  # type: ignore[no-untyped-def]
    return pane.query_one(FileTree)


def cursor_name(pane) -> str:  # type: ignore[no-untyped-def]
    line = tree(pane).cursor
    return line.entry.name if line is not None and line.entry is not None else ""


def put_cursor(pane, name: str) -> None:  # type: ignore[no-untyped-def]
    lines = tree(pane).lines
    (index,) = [n for n, line in enumerate(lines) if line.entry and line.entry.name == name]
    tree(pane).cursor_line = index


def prompt_of(screen) -> str:  # type: ignore[no-untyped-def]
    return " ".join(str(label.render()) for label in screen.query(Label))


# --- 1. the cursor keeps its entry --------------------------------------------------------


async def test_reload__keeps_the_cursor_on_its_entry_or_its_neighbour(make_app, plain_server,
                                                                      root):  # fmt: skip
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        write(root, name, b"x")
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        remote = app.screen.remote
        put_cursor(remote, "c.txt")
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        assert cursor_name(remote) == "c.txt"
        os.unlink(os.path.join(root, "c.txt"))  # gone: its neighbour takes the cursor
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        assert cursor_name(remote) == "d.txt"


async def test_rename__leaves_the_cursor_on_the_renamed_entry(make_app, plain_server, root):
    for name in ("a.txt", "b.txt", "c.txt"):
        write(root, name, b"x")
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        remote = app.screen.remote
        put_cursor(remote, "b.txt")
        await pilot.press("f6")
        app.screen.query_one("#answer").value = "z.txt"
        await pilot.press("enter")
        await settle(pilot, app)
        assert cursor_name(remote) == "z.txt"
        await pilot.press("f6")  # the rename box offers the entry under the cursor
        assert app.screen.query_one("#answer").value == "/z.txt"


# --- 2. copies go to the folder the other pane's header shows ------------------------------


async def test_copy_with_a_folder_open_under_the_other_cursor__goes_to_the_shown_folder(
    make_app, plain_server, root, local_dir
):
    write(root, "report.txt", b"report")
    os.makedirs(os.path.join(local_dir, "photos"))
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        put_cursor(screen.local, "photos")
        tree(screen.local).action_open()  # open in place: the cursor stays on it
        await settle(pilot, app)
        put_cursor(screen.remote, "report.txt")
        await pilot.press("f5")
        assert local_dir in prompt_of(app.screen) + str(getattr(app.screen, "value", ""))
        await pilot.press("enter")
        await settle(pilot, app)
    assert os.path.exists(os.path.join(local_dir, "report.txt"))
    assert not os.path.exists(os.path.join(local_dir, "photos", "report.txt"))


async def test_copy_target_line__can_be_edited_like_mcs(make_app, plain_server, root,
                                                        local_dir):  # fmt: skip
    write(root, "report.txt", b"report")
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        put_cursor(app.screen.remote, "report.txt")
        await pilot.press("f5")
        app.screen.query_one("#answer").value = "renamed.txt"
        await pilot.press("enter")
        await settle(pilot, app)
    with open(os.path.join(local_dir, "renamed.txt"), "rb") as handle:
        assert handle.read() == b"report"


# --- 3. quitting with work in flight ----------------------------------------------------


async def test_f10_with_a_transfer_unfinished__asks_and_the_next_start_offers_it(
    make_app, plain_server, root, local_dir
):
    write(root, "big.bin", os.urandom(300_000))
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        target = os.path.join(local_dir, "big.bin")
        job = Job(Direction.DOWNLOAD, "/big.bin", target, size=300_000, state=State.PAUSED)
        app.enqueue(screen.site, [job])  # paused: in flight, nothing moves
        await pilot.press("f10")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "1 transfer(s) not finished" in str(app.screen.question)
        await pilot.press("y")
        await pilot.pause()
    assert not os.path.exists(target)
    # What an interrupted run leaves: our partial file with the first 100,000 bytes.
    from tui.transfer.copy import part_path
    from tui.widgets.log_panel import LogPanel

    with open(os.path.join(root, "big.bin"), "rb") as source:
        head = source.read(100_000)
    with open(part_path(target), "wb") as partial:
        partial.write(head)
    again = make_app(plain_server.url("ftp"))
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot, again)
        assert isinstance(again.screen, ConfirmScreen)
        assert "Resume them now?" in str(again.screen.question)
        await pilot.press("y")
        await settle(pilot, again)
        await settle(pilot, again)
        assert [job.state for job in again.transfers.jobs()] == [State.DONE]
        log = again.screen_stack[0].query_one(LogPanel).lines_seen
        assert any("REST 100000" in line for line in log), "\n".join(log)  # resumed, not from zero
    with open(os.path.join(root, "big.bin"), "rb") as a, open(target, "rb") as b:
        assert a.read() == b.read()


async def test_f10_with_nothing_in_flight__quits_at_once(make_app):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape", "f10")
        await pilot.pause()
        assert not app.is_running


# --- 5. the conflict dialog ----------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_conflict_dialog__shows_all_five_choices_and_both_sides(
    make_app, plain_server, root, local_dir, size
):
    write(root, "same.txt", b"the server's version, longer")
    write(local_dir, "same.txt", b"local")
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        put_cursor(app.screen.remote, "same.txt")
        await pilot.press("f5", "enter")
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, ConflictScreen)
        screen_region = dialog.region
        for button in dialog.query(Button):
            label = str(button.label)
            assert button.region.width >= len(label), label  # not blank, not cut
            assert screen_region.contains_region(button.region), label
        text = prompt_of(dialog)
        assert "28 bytes" in text and "5 bytes" in text  # both sides' sizes
        box = dialog.query_one("#all")
        assert "X" not in str(box.render())[:3]  # unticked reads unticked without colour
        box.value = True
        await pilot.pause()
        assert "X" in str(box.render())[:3]
        await pilot.press("s")
        await settle(pilot, app)


# --- 6. ticks readable without colour ----------------------------------------------------


async def test_sync_plan_without_colour__an_unticked_extra_has_an_empty_box(
    make_app, plain_server, root, local_dir
):
    prepare_sync(root, local_dir)
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("tab", "y")
        await settle(pilot, app)
        plan = app.screen
        assert isinstance(plan, SyncPlanScreen)
        entries = plan.query_one("#entries")
        order = [item.path for item in plan.choosable]
        boxes = {}
        for path in ("server-only.txt", "edited.txt"):
            y = order.index(path) - entries.scroll_offset.y
            boxes[path] = "".join(s.text for s in entries.render_line(y))[:3]
        assert boxes["edited.txt"][1] == "X" and boxes["server-only.txt"][1] == " "
        await pilot.press("escape")


# --- 7. the security badge ------------------------------------------------------------------


async def test_a_lost_connection__shows_no_tls_badge_and_no_site(make_app, plain_server):
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        screen.show_error(ConnectionLost("421 Timeout"))
        await pilot.pause()
        shown_status = screen.query_one(StatusBar).render().plain
        assert "TLS" not in shown_status
        assert screen.remote.fs is None and "lost" in shown_status


async def test_a_failed_second_login__keeps_saying_which_session_browses(make_app, plain_server):
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        bad = app.service.site_for(plain_server.url("ftp").replace(":demo@", ":wrong@"))
        screen.connect(bad)
        await settle(pilot, app)
        assert isinstance(app.screen, ErrorScreen)
        await pilot.press("escape")
        status = screen.query_one(StatusBar)
        assert status.activity.startswith("could not connect") and status.site
        assert screen.remote.fs is not None and "INSECURE" in status.render().plain


# --- 8. the transfer panel's direction and path ------------------------------------------


async def test_a_download_and_an_upload_of_one_name__are_two_different_rows(
    make_app, local_dir
):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        jobs = [Job(Direction.DOWNLOAD, "/in/x.txt", os.path.join(local_dir, "x.txt"),
                    state=State.DONE),
                Job(Direction.UPLOAD, os.path.join(local_dir, "x.txt"), "/out/x.txt",
                    state=State.DONE)]  # fmt: skip
        app.transfers.add(jobs)
        await pilot.press("escape", "t")
        await pilot.pause()
        listing = app.screen.query_one(JobList)
        rows = [listing.row_text(n).plain for n in range(2)]
        assert "\u2193" in rows[0] and "/in/x.txt" in rows[0]
        assert "\u2191" in rows[1] and "/out/x.txt" in rows[1]


async def test_jobs_a_sync_adds__are_brought_into_view(make_app, plain_server, root, local_dir):
    prepare_sync(root, local_dir)
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        old = [Job(Direction.DOWNLOAD, f"/old-{n}", os.path.join(local_dir, f"o{n}"),
                   state=State.DONE) for n in range(30)]  # fmt: skip
        app.transfers.add(old)
        await pilot.press("tab", "y")
        await settle(pilot, app)
        await pilot.press("s")
        await settle(pilot, app)
        listing = app.screen.query_one(JobList)
        assert listing.cursor_job is not None and listing.cursor_job not in old
        top = listing.scroll_offset.y
        assert top <= listing.cursor_line < top + listing.scrollable_content_region.height


# --- 9. the hex viewer ---------------------------------------------------------------


async def test_hex_view_at_80_columns__one_row_per_16_bytes_g_and_G_and_a_hint(
    make_app, plain_server, root
):
    write(root, "blob.bin", bytes(range(256)) * 8)  # 2 KiB: 128 rows
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        put_cursor(app.screen.remote, "blob.bin")
        await pilot.press("f3")
        await settle(pilot, app)
        viewer = app.screen
        assert isinstance(viewer, ViewerScreen)
        body = viewer.query_one(VerticalScroll)
        assert body.virtual_size.height == 128  # no row wrapped onto a second line
        await pilot.press("G")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y > 0
        await pilot.press("g")
        await pilot.pause()
        assert body.scroll_y == 0
        assert "Esc" in prompt_of(viewer)  # how to close it


# --- 10. columns -------------------------------------------------------------------------


@pytest.mark.parametrize("size, column", [((80, 24), "time"), ((60, 20), "size")])
async def test_pane_rows__show_size_and_time_at_80_and_size_at_60(make_app, plain_server, root,
                                                                  size, column):  # fmt: skip
    write(root, "data.csv", b"x" * 2048)
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        (row,) = shown(app.screen.remote)
        assert "2.0K" in row
        if column == "time":
            assert re.search(r"\d\d:\d\d|\d{4}$", row)


# --- 11. --ca-file for the app ---------------------------------------------------------------


async def test_the_configs_ca_file__verifies_a_private_ca_without_a_prompt(tls_server, pki,
                                                                            local_dir):  # fmt: skip
    path = os.path.join(os.environ["FERRYMAN_HOME"], "config", "config.toml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(f'[trust]\nca_file = "{pki.ca_file}"\n')
    app = FerrymanApp(url=tls_server.url("ftpes"), local_path=local_dir, config=load_config(),
                      check_revocation=False)  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen) and app.screen.remote.fs is not None


def test_the_apps_command_line__takes_ca_file():
    from tui.cli import build_app_parser

    assert build_app_parser().parse_args(["--ca-file", "ca.pem"]).ca_file == "ca.pem"


# --- 12. the certificate viewer ----------------------------------------------------------


async def test_certificate_viewer__scrolls_with_the_keys_at_once(make_app, tls_server):
    app = make_app(tls_server.url("ftpes").replace("127.0.0.1", "localhost"))
    app_ = make_app(None)
    async with app_.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app_)
        await pilot.press("escape")
        from tests.ui.states import report

        await app_.push_screen(CertificateScreen(report("untrusted")))
        await pilot.pause()
        body = app_.screen.query_one("#cert-body", VerticalScroll)
        assert body.max_scroll_y > 0
        await pilot.press("down", "down")
        await pilot.pause()
        assert body.scroll_y == 2
        await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y > 2
    del app


def test_a_chain_link__prints_its_fingerprint_in_two_halves():
    import ssl

    from tests.ui.states import DATA

    der = ssl.PEM_cert_to_DER_cert((DATA / "snapshot-cert.pem").read_text())
    assert max(len(line) for line in link_text(der).plain.split("\n")) <= 64


# --- 13. nothing left behind, nothing stale -------------------------------------------------


async def test_f4_on_a_remote_file__leaves_no_temporary_copy(make_app, plain_server, root,
                                                             tmp_path, monkeypatch):  # fmt: skip
    write(root, "notes.txt", b"notes")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        put_cursor(app.screen.remote, "notes.txt")
        await pilot.press("f4")  # no terminal to suspend: the editor cannot run
        await settle(pilot, app)
        await settle(pilot, app)
    assert [p.name for p in scratch.iterdir() if p.name.startswith("ferryman-edit-")] == []


async def test_status_line__drops_words_about_what_has_ended(make_app, plain_server, root):
    write(root, "readme.txt", b"hello")
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        put_cursor(screen.remote, "readme.txt")
        await pilot.press("f3")
        await settle(pilot, app)
        await pilot.press("escape")
        assert "reading" not in screen.status.activity
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("t")  # back to the panes: the queue's key hint goes
        await pilot.pause()
        assert "pause, cancel, retry" not in screen.status.activity


def test_a_marked_long_name__is_cut_so_the_columns_stay_in_place():
    from datetime import UTC, datetime

    from tui.remote.base import Entry, EntryType
    from tui.widgets.file_pane import row_text

    entry = Entry("upload-me-later.iso", EntryType.FILE, size=1_500_000,
                  mtime=datetime(2025, 6, 1, tzinfo=UTC))  # fmt: skip
    plain = row_text(entry, 35).plain
    for mark in ({"marked": True}, {"compared": "only"}):
        assert row_text(entry, 35, **mark).plain[-20:] == plain[-20:]
        assert len(row_text(entry, 35, **mark).plain) == len(plain)


async def test_a_resize_to_60_columns__lays_the_rows_out_again(make_app, plain_server, root):
    """Labels are cut to the width: after a live resize they were drawn at the old width,
    the time column cut to "De"."""
    write(root, "data.csv", b"x" * 2048)
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        remote = tree(app.screen.remote)
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        await pilot.pause()
        drawn = "".join(segment.text for segment in remote.render_line(0)).rstrip()
        assert drawn.endswith("2.0K")


def test_the_queue_at_60_columns__keeps_room_for_the_name():
    from tui.widgets.job_list import name_width

    assert name_width(59) >= 15 and name_width(79) >= 25


def _dialogs():  # type: ignore[no-untyped-def]
    from tui.errors import AuthFailed
    from tui.screens.connect import ConnectScreen

    return {
        "connect": lambda: ConnectScreen(),
        "confirm": lambda: ConfirmScreen("Delete notes.txt?", yes="Delete", danger=True),
        "error": lambda: ErrorScreen(AuthFailed("Login failed for deploy"), retry="Reconnect"),
        "conflict": lambda: ConflictScreen(Job(Direction.DOWNLOAD, "/a", "/tmp/a", size=3)),
    }


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
@pytest.mark.parametrize("dialog", ["connect", "confirm", "error", "conflict"])
async def test_every_dialogs_buttons__are_whole_on_screen(make_app, dialog, size):
    app = make_app(None)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")
        await app.push_screen(_dialogs()[dialog]())
        await pilot.pause()
        for button in app.screen.query(Button):
            if not button.display:
                continue
            label = str(button.label)
            assert button.region.width >= len(label), label
            assert app.screen.region.contains_region(button.region), label


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_certificate_viewer__wraps_no_fingerprint(make_app, size):
    """At 120 columns one fingerprint character wrapped alone onto its own line."""
    from tests.ui.states import report

    app = make_app(None)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")
        shown_report = report("untrusted")
        await app.push_screen(CertificateScreen(shown_report))
        await pilot.pause()
        for selector in ("#cert-link", "#cert-details"):
            static = app.screen.query_one(selector, Static)
            lines = str(static.render()).count("\n") + 1
            assert static.size.height == lines, selector  # drawn as written: nothing wrapped
