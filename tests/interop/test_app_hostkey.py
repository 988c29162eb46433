"""The app over sftp:// to a private OpenSSH sshd: an unknown host key is asked about in the
host-key viewer (the key ssh was offered in the live handshake: its SHA256 and randomart,
as ``ssh-keygen -lv`` prints them), trusted always, and shown again by F2 with only Close."""

from __future__ import annotations

import subprocess

import pytest
from textual.widgets import Button

from tests.interop.sshd import host_fingerprint
from tests.ui.conftest import settle
from tests.ui.test_hostkey_viewer import shown_text
from tui.app import FerrymanApp
from tui.config import Config
from tui.screens.hostkey import HostKeyScreen
from tui.screens.main import MainScreen

pytestmark = pytest.mark.interop


async def test_an_unknown_host_key__is_asked_in_the_host_key_viewer_and_shown_by_f2(
    server, client, tmp_path
):
    public = tmp_path / "host.pub"
    public.write_text(server.host_keys["ssh-ed25519"] + "\n")
    drawn = subprocess.run(["ssh-keygen", "-lv", "-E", "sha256", "-f", str(public)],
                           capture_output=True, text=True, check=True, timeout=30)  # fmt: skip
    art = drawn.stdout.splitlines()[1:]
    (tmp_path / "local").mkdir()
    app = FerrymanApp(url=f"sftp://127.0.0.1:{server.port}/", local_path=str(tmp_path / "local"),
                      config=Config(), check_revocation=False)  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        viewer = app.screen
        assert isinstance(viewer, HostKeyScreen) and viewer.ask
        await pilot.pause()
        text = shown_text(viewer)
        assert "NOT TRUSTED" in text and host_fingerprint(server) in text
        assert all(line in text for line in art)
        assert server.key("ssh-ed25519")[:24] not in "".join(text.split())
        await pilot.press("a")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen) and app.screen.remote.fs is not None
        await pilot.press("f2")
        await pilot.pause()
        again = app.screen
        assert isinstance(again, HostKeyScreen) and not again.ask
        assert again.report.verdict == "trusted-store"
        assert [button.id for button in again.query(Button)] == ["reject"]  # just Close
        await pilot.press("escape")
