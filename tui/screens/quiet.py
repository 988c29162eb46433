"""Provides QuietScreen: what every Ferryman screen mixes in so that, while the user only
looks, nothing is written to the terminal.

Textual's inputs blink their cursor: two repaints a second, ~240 bytes/s at 80x24, for as
long as a dialog with a text field is open. Over a slow SSH link that is a steady trickle
for nothing, and it breaks the promise of no periodic redraw while idle. The cursor here is
steady, as mc's is.
"""

from __future__ import annotations

from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import Input


class QuietScreen:
    """Mixed into a Screen subclass before it: ``class X(QuietScreen, ModalScreen[T])``.

    Textual calls ``on_mount`` of every class in the MRO, so a screen's own ``on_mount``
    needs no ``super()`` call for this one to run.
    """

    def on_mount(self) -> None:
        assert isinstance(self, Screen)
        for field in self.query(Input):
            field.cursor_blink = False


class QuietCommandPalette(QuietScreen, CommandPalette):
    """Textual's command palette (ctrl+p), its search field as steady as the rest."""
