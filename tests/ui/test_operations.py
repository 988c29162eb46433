"""Pilot tests: copying both ways, mkdir, rename, delete, view, and failures that are shown."""

from __future__ import annotations

import os

from tests.conftest import write
from tests.interop.servers import free_port
from tests.ui.conftest import settle, shown
from tui.demo import SandboxServer
from tui.screens.confirm import ConfirmScreen, InputScreen
from tui.screens.error import ErrorScreen
from tui.screens.help import HelpScreen
from tui.screens.viewer import ViewerScreen
from tui.widgets.log_panel import LogPanel


def row_names(pane) -> list[str]:
    return [text.split()[0] for text in shown(pane)]


async def connected(make_app, server, pilot_size=(100, 30)):
    app = make_app(server.url("ftp"))
    return app, app.run_test(size=pilot_size)


async def test_copy_a_file_both_ways_by_keyboard(make_app, plain_server, root, local_dir):
    write(root, "from-server.txt", b"remote bytes\n")
    write(root, "a-closed-folder/inside.txt", b"x")
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        # remote -> local: move to from-server.txt in the remote pane
        await pilot.press("j")
        assert screen.remote.cursor_row.path == "/from-server.txt"
        await pilot.press("f5")
        assert isinstance(app.screen, InputScreen)  # the target line, editable
        await pilot.press("enter")
        await settle(pilot, app)
        with open(os.path.join(local_dir, "from-server.txt"), "rb") as handle:
            assert handle.read() == b"remote bytes\n"
        # local -> remote: Tab to the local pane, pick local-file.txt, F5, yes
        # The remote cursor on a closed folder: a copy lands beside it, not inside it.
        screen.remote.file_tree.move_cursor_to_line(0)
        labels = row_names(screen.local)
        screen.local.file_tree.move_cursor_to_line(labels.index("local-file.txt"))
        # Tab then F5 at once, as a fast typist or a slow link delivers them: F5 must act
        # on the pane Tab switched to, even before the focus has moved.
        screen.action_switch_pane()
        screen.action_copy()
        await pilot.pause()
        assert "local-file.txt" in str(app.screen.prompt)
        await pilot.press("enter")
        await settle(pilot, app)
        with open(os.path.join(root, "local-file.txt"), "rb") as handle:
            assert handle.read() == b"from the local side\n"
        assert "local-file.txt" in row_names(screen.remote)  # the target pane reloaded


async def test_mkdir_rename_delete_on_the_server(make_app, plain_server, root):
    write(root, "old-name.txt", b"x")
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        await pilot.press("f7")
        assert isinstance(app.screen, InputScreen)
        await pilot.press(*"new-folder", "enter")
        await settle(pilot, app)
        assert os.path.isdir(os.path.join(root, "new-folder"))
        assert "new-folder/" in row_names(screen.remote)

        screen.remote.file_tree.move_cursor_to_line(row_names(screen.remote).index("old-name.txt"))
        await pilot.press("f6")
        field = app.screen.query_one("#answer")
        field.value = "renamed.txt"
        await pilot.press("enter")
        await settle(pilot, app)
        assert os.listdir(root) == ["new-folder", "renamed.txt"] or sorted(os.listdir(root)) == [
            "new-folder",
            "renamed.txt",
        ]

        write(root, "new-folder/inner/deep.txt", b"d")
        screen.remote.reload()
        await settle(pilot, app)
        screen.remote.file_tree.move_cursor_to_line(row_names(screen.remote).index("new-folder/"))
        await pilot.press("f8")
        assert isinstance(app.screen, ConfirmScreen)
        assert "everything in them" in str(app.screen.question)
        await pilot.press("n")  # No is the safe answer and changes nothing
        await settle(pilot, app)
        assert os.path.isdir(os.path.join(root, "new-folder"))
        await pilot.press("f8", "y")
        await settle(pilot, app)
        assert sorted(os.listdir(root)) == ["renamed.txt"]


async def test_view_reads_only_what_it_shows(make_app, plain_server, root):
    write(root, "code.py", b"def hello():\n    return 'hi'\n")
    write(root, "big.bin", bytes(range(256)) * 8192)  # 2 MiB, binary
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        screen.remote.file_tree.move_cursor_to_line(row_names(screen.remote).index("big.bin"))
        await pilot.press("f3")
        await settle(pilot, app)
        viewer = app.screen
        assert isinstance(viewer, ViewerScreen)
        assert len(viewer.data) == 256 * 1024 and viewer.total == 2 * 1024 * 1024
        await pilot.press("escape")
        screen.remote.file_tree.move_cursor_to_line(row_names(screen.remote).index("code.py"))
        await pilot.press("f3")
        await settle(pilot, app)
        assert app.screen.data.startswith(b"def hello")


async def test_a_permission_error_is_shown_with_the_servers_reply(make_app, tmp_path):
    from pyftpdlib.authorizers import DummyAuthorizer

    served = tmp_path / "readonly"
    served.mkdir()
    (served / "keep.txt").write_text("keep")
    server = SandboxServer(str(served))
    # pyftpdlib's read-only permissions: list and download only.
    original = DummyAuthorizer.add_user

    def read_only(self, user, password, homedir, perm="elr", **kwargs):
        return original(self, user, password, homedir, perm="elr")

    DummyAuthorizer.add_user = read_only
    try:
        server.start()
    finally:
        DummyAuthorizer.add_user = original
    try:
        app = make_app(server.url("ftp"))
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            await pilot.press("f8", "y")
            await settle(pilot, app)
            assert isinstance(app.screen, ErrorScreen)
            assert app.screen.error.code == 550
            assert (served / "keep.txt").exists()
    finally:
        server.stop()


async def test_a_lost_connection_offers_to_reconnect_keeping_the_path(make_app, root):
    write(root, "sub/file.txt", b"x")
    server = SandboxServer(root, port=free_port()).start()  # restarted on it: not ephemeral
    port = server.port
    app = make_app(server.url("ftp", "sub"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert screen.remote.path == "/sub"
        server.stop()
        screen.remote.reload()
        await settle(pilot, app)
        assert isinstance(app.screen, ErrorScreen) and app.screen.retry == "Reconnect"
        again = SandboxServer(root, port=port).start()
        try:
            await pilot.click("#retry")
            await settle(pilot, app)
            assert screen.remote.path == "/sub" and screen.remote.fs is not None
            assert row_names(screen.remote) == ["file.txt"]
        finally:
            again.stop()


async def test_log_panel_explains_replies_and_help_lists_keys(make_app, plain_server):
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        log = app.screen.query_one(LogPanel)
        assert not log.display
        await pilot.press("f9")
        assert log.display
        assert "> PASS ****" in log.lines_seen
        assert not any("PASS demo" in line for line in log.lines_seen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        described = dict((description, key) for key, description in app.screen.bindings)
        assert "Copy to the other pane" in described and "Delete (asks first)" in described


async def test_a_wrong_password_is_shown_with_the_reply_and_its_meaning(make_app, plain_server):
    app = make_app(plain_server.url("ftp").replace(":demo@", ":wrong@"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        error = app.screen
        assert isinstance(error, ErrorScreen)
        assert error.error.title == "Login failed" and error.error.code == 530
        shown = " ".join(str(label.render()) for label in error.query("Label"))
        assert "530: Not logged in" in shown
        await pilot.press("escape")
        assert app.screen.status.activity == "not connected"
