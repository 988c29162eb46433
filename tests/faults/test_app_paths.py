"""Names a hostile server sends, in the app and the CLI: a name such as ``x/..``, ``..``,
``/etc/x`` or one with NUL never leads a copy, a view, an edit, a rename, a delete or a sync
outside the folder the user sees (the app takes the CLI's road from a server name to a local
path); and no name puts a control or invisible format character (U+202E and the like) on
the terminal."""

from __future__ import annotations

import logging
import os
import threading
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ui.conftest import local_dir, make_app, settle, shown  # noqa: F401 (fixtures)
from tui.cli import main
from tui.demo import SandboxServer
from tui.screens.confirm import InputScreen
from tui.screens.error import ErrorScreen
from tui.screens.main import MainScreen
from tui.screens.sync_plan import SyncPlanScreen
from tui.textsafe import printable

USER, PASSWORD = "demo", "demo"
UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # never on a terminal as they are
# The lies: (name, type) added to the real listing of a folder. Served from "/" and "/dir".
HOSTILE = [("x/..", "dir"), ("..", "dir"), ("/etc/x", "dir"), ("../escape.txt", "file"),
           ("a\x00b.txt", "file"), ("sub/../../up.txt", "file")]  # fmt: skip


class HostileServer:
    """pyftpdlib serving ``root`` (plain FTP), whose MLSD also lists the HOSTILE names in every
    folder: a real server with one trick, since no file system holds a name with ``/``."""

    def __init__(self, root: str) -> None:
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.filesystems import AbstractedFS
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.ioloop import IOLoop
        from pyftpdlib.servers import FTPServer

        class Lying(AbstractedFS):  # type: ignore[misc]
            def format_mlsx(self, basedir, listing, perms, facts, ignore_err=True):  # type: ignore[no-untyped-def]
                yield from super().format_mlsx(basedir, listing, perms, facts, ignore_err)
                if ignore_err:  # MLSD, a folder's listing (MLST of one entry passes False)
                    for name, kind in HOSTILE:
                        yield f"type={kind};size=4;modify=20260101000000; {name}\r\n".encode()

        logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, root, perm="elradfmwMT")
        attributes = {"authorizer": authorizer, "abstracted_fs": Lying, "timeout": 30}
        handler = type("Hostile", (FTPHandler,), attributes)
        self.server = FTPServer(("127.0.0.1", 0), handler, ioloop=IOLoop())
        self.port = self.server.address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"timeout": 0.2, "blocking": True,
                                               "handle_exit": False})  # fmt: skip

    def url(self, path: str = "") -> str:
        return f"ftp://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{path}"

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close_all()
        self.thread.join(timeout=5)


def files(top: str) -> set[str]:
    return {
        os.path.relpath(os.path.join(folder, name), top)
        for folder, dirs, found in os.walk(top)
        for name in found + dirs
    }


@pytest.fixture
def world(tmp_path, local_dir):  # noqa: F811
    """``tmp_path/served`` on the hostile server; the app's local folder is ``tmp_path/local``;
    anything new anywhere else under ``tmp_path`` is a file written outside."""
    served = tmp_path / "served"
    (served / "dir").mkdir(parents=True)
    (served / "x").mkdir()
    (served / "dir" / "safe.txt").write_bytes(b"safe")
    (served / "escape.txt").write_bytes(b"evil")
    (served / "up.txt").write_bytes(b"evil")
    with HostileServer(str(served)) as server:
        before = files(str(tmp_path))
        yield server, before
        allowed = {"local/dir", "local/dir/safe.txt", "local/safe.txt"}  # what the tests copy
        assert files(str(tmp_path)) - before <= allowed


def select(pane, name: str) -> None:  # type: ignore[no-untyped-def]
    (index,) = [n for n, line in enumerate(pane.file_tree.lines)
                if line.entry is not None and line.entry.name == name]  # fmt: skip
    pane.file_tree.cursor_line = index


async def connected(app, pilot):  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    screen = app.screen
    assert isinstance(screen, MainScreen) and screen.remote.fs is not None
    screen.remote.show_hidden = True  # "../escape.txt" is a dot name
    await pilot.pause()
    return screen


@pytest.mark.parametrize(
    "name", ["x/..", "/etc/x", "../escape.txt", "sub/../../up.txt", "a\x00b.txt"]
)
async def test_f5_on_a_hostile_name__refuses_and_writes_nothing_outside(make_app, world, name):  # noqa: F811
    server, _ = world
    app = make_app(server.url())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await connected(app, pilot)
        select(screen.remote, name)
        await pilot.press("f5")
        if isinstance(app.screen, InputScreen):  # the copy dialog's target line
            await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ErrorScreen) and "Unsafe name" in str(app.screen.error)
        assert app.transfers.jobs() == []


async def test_f5_on_a_folder_with_hostile_entries__copies_only_the_safe_ones(make_app, world):  # noqa: F811
    server, _ = world
    app = make_app(server.url())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await connected(app, pilot)
        select(screen.remote, "dir")
        await pilot.press("f5", "enter")
        await settle(pilot, app)
        (job,) = [j for j in app.transfers.jobs() if j.source == "/dir"]
        assert "Unsafe name" in job.reason  # the skipped names are said
    # (the fixture checks that only local/dir/safe.txt was written)


@pytest.mark.parametrize("key", ["f3", "f4", "f6", "f8"])
@pytest.mark.parametrize("name", ["../escape.txt", "x/.."])
async def test_view_edit_rename_delete_of_a_hostile_name__refuse_with_one_error(
    make_app,  # noqa: F811
    world,
    key,
    name,
    monkeypatch,  # noqa: F811
):
    server, _ = world
    monkeypatch.setenv("EDITOR", "true")
    app = make_app(server.url())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await connected(app, pilot)
        select(screen.remote, name)
        await pilot.press(key)
        await settle(pilot, app)
        if key in ("f3", "f4") and name == "x/..":
            assert app.screen is screen  # a folder: nothing to view or edit
            return
        assert isinstance(app.screen, ErrorScreen) and "Unsafe name" in str(app.screen.error)


async def test_sync_of_a_remote_folder_with_hostile_names__writes_only_inside(make_app, world):  # noqa: F811
    server, _ = world
    app = make_app(server.url("dir"))
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app, pilot)
        await pilot.press("y")  # remote → local
        await settle(pilot, app)
        assert isinstance(app.screen, SyncPlanScreen)
        assert {item.path for item in app.screen.plan.items} <= {"safe.txt", "local-file.txt"}
        await pilot.press("s")
        await settle(pilot, app)
    # the copy is where the pane is; the fixture checks that nothing else was written
    assert os.path.exists(os.path.join(app.local_path, "safe.txt"))


# --- invisible and control characters ---------------------------------------------------------

SPOOF = "invoice\u202etxt.exe"  # shows as "invoiceexe.txt" on a terminal that obeys it


def test_ls_of_a_name_with_a_bidi_override__prints_it_escaped(tmp_path, capsys):
    (tmp_path / SPOOF).write_bytes(b"x")
    (tmp_path / "line\u2028break\u200b.txt").write_bytes(b"x")
    with SandboxServer(str(tmp_path)) as server:
        assert main(["ls", server.url("ftp")]) == 0
    out = capsys.readouterr().out
    assert "invoice\\u202etxt.exe" in out and "line\\u2028break\\u200b.txt" in out
    assert not any(unicodedata.category(c) in UNSAFE_CATEGORIES for c in out.replace("\n", ""))


async def test_a_pane_row_with_a_bidi_override__is_drawn_escaped(make_app, tmp_path):  # noqa: F811
    served = tmp_path / "served"
    served.mkdir()
    (served / SPOOF).write_bytes(b"x")
    with SandboxServer(str(served)) as server:
        app = make_app(server.url("ftp"))
        # 100 columns: at 80 the name column (beside size and time) cuts the escaped name.
        async with app.run_test(size=(100, 24)) as pilot:
            screen = await connected(app, pilot)
            (row,) = shown(screen.remote)
            strip = screen.remote.file_tree.render_line(0)
    assert row.startswith("invoice\\u202etxt.exe")
    drawn = "".join(segment.text for segment in strip)
    assert "\u202e" not in drawn and "invoice\\u202e" in drawn


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40) | st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Cs"])))
def test_printable_of_any_text__has_no_control_or_format_character_and_is_stable(text):
    safe = printable(text)
    assert not any(unicodedata.category(char) in UNSAFE_CATEGORIES for char in safe)
    assert printable(safe) == safe
    if text.isprintable():
        assert safe == text  # ordinary names are left alone


async def test_compare_with_hostile_names__marks_only_real_entries(make_app, world):  # noqa: F811
    server, _ = world
    app = make_app(server.url("dir"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await connected(app, pilot)
        await pilot.press("equals_sign")
        await settle(pilot, app)
        assert not isinstance(app.screen, ErrorScreen)
        marked = {path.rsplit("/", 1)[-1] for path in screen.remote.compared}
        assert marked == {"safe.txt"}  # the names that cannot be a path are left out
