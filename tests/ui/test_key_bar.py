"""The key bar: the hints of what has focus, clickable, repainted only when they change."""

from __future__ import annotations

from tests.ui.conftest import settle
from tui.screens.confirm import InputScreen
from tui.widgets.key_bar import KeyBar


async def test_the_bar_shows_the_keys_and_a_click_presses_one(make_app):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")  # close the connect dialog
        bar = app.screen.query_one(KeyBar)
        line = bar.render().plain
        assert len(line) == 80
        assert line.startswith(" tab Pane  f3 View ")
        assert " f8 Delete " in line  # all of them fit at 80 columns
        assert line.endswith("^p palette")
        start = line.index(" f7 Mkdir ")
        await pilot.click(KeyBar, offset=(start + 2, 0))
        await pilot.pause()
        assert isinstance(app.screen, InputScreen)


async def test_moving_focus_repaints_the_bar_only_when_its_keys_change(make_app):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        drawn = []
        original = bar.render
        bar.render = lambda: drawn.append(1) or original()  # type: ignore[method-assign]
        await pilot.press("tab")  # the other pane: the same keys
        await pilot.pause()
        await pilot.press("tab")
        await pilot.pause()
        assert drawn == []
        await pilot.press("t")  # the transfer queue takes focus: its own keys
        await pilot.pause()
        await pilot.pause()
        assert drawn
        assert any(hint.description == "Pause/resume" for hint in bar.hints)
