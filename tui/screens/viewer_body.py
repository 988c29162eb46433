"""Provides the trust viewers' scrolling body: the keys and the action that scroll it at once.

The certificate viewer and the host-key viewer open with Reject focused (a stray Enter never
accepts), so their arrow, page, Home and End keys are the screen's own: the body
(``#cert-body``) scrolls from the first key, whatever has the focus.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen


def scroll_bindings(prefix: str) -> list[Binding]:
    """The keys, with ids under ``prefix`` (``cert``, ``hostkey``) for the user's keymap."""
    return [
        Binding("down,j", "scroll('down')", "Scroll", show=False, id=f"{prefix}.down"),
        Binding("up,k", "scroll('up')", "Scroll", show=False, id=f"{prefix}.up"),
        Binding("pagedown", "scroll('page_down')", "Page", show=False, id=f"{prefix}.page"),
        Binding("pageup", "scroll('page_up')", "Page", show=False, id=f"{prefix}.page-up"),
        Binding("home", "scroll('home')", "Top", show=False, id=f"{prefix}.top"),
        Binding("end", "scroll('end')", "End", show=False, id=f"{prefix}.end"),
    ]


class ScrollingBody:
    """Mixed into a viewer screen: ``action_scroll`` moves its ``#cert-body``."""

    def action_scroll(self, where: str) -> None:
        assert isinstance(self, Screen)
        body = self.query_one("#cert-body", VerticalScroll)
        moves = {
            "down": body.scroll_down,
            "up": body.scroll_up,
            "page_down": body.scroll_page_down,
            "page_up": body.scroll_page_up,
            "home": body.scroll_home,
            "end": body.scroll_end,
        }
        moves[where](animate=False)
