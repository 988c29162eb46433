"""Provides HelpScreen: every key the main screen answers to, from its live bindings."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.screens.quiet import QuietScreen

PANE_KEYS = [
    ("Enter / l", "open or close a directory"),
    ("Backspace", "up a level"),
    ("h", "collapse, or go to the parent row"),
    ("j / k, arrows", "down / up"),
    ("g / G", "first / last row"),
    ("Space / Insert", "select (several files for F5, F8)"),
]


class HelpScreen(QuietScreen, ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close")]

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, description in PANE_KEYS + self.bindings:
            table.add_row(key, description)
        with Vertical(classes="dialog help-dialog"):
            yield Label(
                Text("Ferryman keys (Esc closes; Ctrl+P searches every command)", style="bold")
            )
            with VerticalScroll():
                yield Static(table)
