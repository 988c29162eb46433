"""The app over sftp://: browsing with the SSH badge in the status bar, the connect screen's
SFTP choice and a saved SFTP site (the transport is sftp-server on pipes)."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select

from tests.sftp_local import SFTP_SERVER, local_session_factory
from tests.ui.conftest import settle, shown
from tui import backends
from tui.screens.connect import ConnectScreen
from tui.screens.main import MainScreen
from tui.sites import load_sites
from tui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.skipif(SFTP_SERVER is None, reason="sftp-server is not installed")


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "served"
    (folder / "docs").mkdir(parents=True)
    (folder / "readme.txt").write_bytes(b"hello")
    backends.register(backends.SFTP._replace(session=local_session_factory(str(folder))))
    try:
        yield str(folder)
    finally:
        backends.register(backends.SFTP)


async def test_an_sftp_site__is_browsed_with_the_ssh_badge(make_app, served):
    app = make_app("sftp://me@sftp.test/")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert [name.split()[0] for name in shown(screen.remote)] == ["docs/", "readme.txt"]
        status = screen.query_one(StatusBar)
        assert status.security == "SSH-2.0" and status.site == "sftp.test:22"


async def test_the_connect_screen__makes_and_saves_an_sftp_site(make_app):
    app = make_app(None)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ConnectScreen)
        screen.query_one("#url", Input).value = "deploy@prod-alias/var/www"
        screen.query_one("#protocol", Select).value = "sftp"
        site = screen._site()
        assert (site.protocol, site.port, site.user, site.host) == ("sftp", 22, "deploy",
                                                                    "prod-alias")  # fmt: skip
        assert site.options == {} and site.url(path="") == "sftp://deploy@prod-alias:22/"
        screen.query_one("#name", Input).value = "prod"
        screen.action_save()
        (saved,) = load_sites()
        assert (saved.name, saved.protocol, saved.port) == ("prod", "sftp", 22)
        screen.query_one("#protocol", Select).value = "explicit"  # back to FTPS
        assert screen._site().protocol == "ftp" and screen._site().tls == "explicit"


async def test_a_transports_own_question__is_a_modal_and_its_answer_goes_back(make_app):
    """ssh's key passphrase or one-time code (SSH_ASKPASS) reaches the app as a modal, with
    the answer hidden unless ssh asked to echo it, never drawn by ssh over the screen."""
    import asyncio
    import time

    from textual.widgets import Input

    from tui.screens.confirm import InputScreen

    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        loop = asyncio.get_running_loop()
        answer = loop.run_in_executor(
            None, app.ask_transport, "Enter passphrase for key '/k/id_ed25519': ", False
        )
        deadline = time.monotonic() + 10  # the question crosses threads: slow under load
        while not isinstance(app.screen, InputScreen) and time.monotonic() < deadline:
            await pilot.pause(0.02)
        assert isinstance(app.screen, InputScreen)
        field = app.screen.query_one(Input)
        assert field.password
        field.value = "correct horse"
        await pilot.press("enter")
        assert await asyncio.wait_for(answer, 5) == "correct horse"


def test_the_clis_answer_to_a_transports_question__is_none_without_a_terminal(monkeypatch):
    import io

    from tui import cli_service

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli_service.prompt_transport("Verification code: ", True) is None
