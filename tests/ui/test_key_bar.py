"""The key bar: the hints of what has focus, clickable, repainted only when they change."""

from __future__ import annotations

import re

import pytest

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
        assert line.endswith("^p palette")
        start = line.index("7Mkdir ")
        await pilot.click(KeyBar, offset=(start + 2, 0))
        await pilot.pause()
        assert isinstance(app.screen, InputScreen)


@pytest.mark.parametrize("width", [80, 60])
async def test_the_bar_at_80_and_60_columns__keeps_f1_to_f10_in_mcs_order(make_app, width):
    """Issue 20, #4: F1 Help and F10 Quit fell off the end at 80 columns, F7 and F8 at 60."""
    app = make_app(None)
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")
        await pilot.pause()
        line = app.screen.query_one(KeyBar).render().plain
        assert len(line) == width
        keys = re.findall(r"(?:^| )(\d+)[A-Z]", line)
        assert keys == [str(n) for n in range(1, 11)]
        assert line.startswith("1Help ") and "10Quit" in line


async def test_the_queue_focused_at_80_columns__shows_its_keys_and_f1_f10(make_app):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape", "t")
        await pilot.pause()
        await pilot.pause()
        line = app.screen.query_one(KeyBar).render().plain
        for hint in ("1Help", "10Quit", "p Pause/resume", "x Cancel", "r Retry"):
            assert hint in line


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
