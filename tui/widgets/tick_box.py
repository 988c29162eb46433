"""Provides TickBox: a Checkbox that reads without colour.

Textual draws ``X`` inside every check box and tells ticked from not by colour alone, so
with ``NO_COLOR`` (or a monochrome terminal) an unticked box looked ticked. Here the box is
``X`` when ticked and blank when not.
"""

from __future__ import annotations

from textual.widgets import Checkbox


class TickBox(Checkbox):
    """A Checkbox whose mark is the character ``X`` or a blank."""

    def watch_value(self) -> None:
        super().watch_value()
        self.BUTTON_INNER = "X" if self.value else " "
        self.refresh()

    def on_mount(self) -> None:
        self.BUTTON_INNER = "X" if self.value else " "
