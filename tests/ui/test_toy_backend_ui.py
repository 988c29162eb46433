"""The app asks trust by identity kind: a toy backend's toy key (``tests/toy_backend.py``)
gets the generic identity viewer, not the certificate's, through the same prompt and store;
the status bar's badge reads the backend's security summary."""

from __future__ import annotations

from tests.toy_backend import KIND, registered, serving
from tests.ui.conftest import settle, store
from tui.screens.identity import IdentityScreen
from tui.screens.main import MainScreen


async def test_a_toy_key__is_asked_in_the_identity_viewer_and_trusted_always(make_app, tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "toy-file.txt").write_text("toy\n")
    with registered(), serving(str(folder)) as url:
        app = make_app(url)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            viewer = app.screen
            assert isinstance(viewer, IdentityScreen) and viewer.report.kind == KIND
            assert viewer.report.verdict == "untrusted"
            assert viewer.focused is not None and viewer.focused.id == "reject"
            await pilot.press("a")
            await settle(pilot, app)
            main = app.screen
            assert isinstance(main, MainScreen) and main.remote.fs is not None
            assert (main.status.security, main.status.badge) == ("TOY-1", "TOY")
        assert [pin.kind for pin in store().pins("toy.test:7")] == [KIND]
        again = make_app(url)
        async with again.run_test(size=(100, 30)) as pilot:
            await settle(pilot, again)
            assert isinstance(again.screen, MainScreen) and again.screen.remote.fs is not None
