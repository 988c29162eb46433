"""Provides ErrorScreen: one failure, in words, with the server's reply and what it means."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from tui.errors import FerrymanError
from tui.remote.replies import meaning
from tui.screens.quiet import QuietScreen
from tui.textsafe import printable


class ErrorScreen(QuietScreen, ModalScreen[bool]):
    """Shows an error; returns True when the user chose the offered retry (reconnect)."""

    BINDINGS = [Binding("escape,enter", "close", "Close", id="error.close")]

    def __init__(self, error: FerrymanError, *, retry: str | None = None) -> None:
        super().__init__()
        self.error = error
        self.retry = retry

    def compose(self) -> ComposeResult:
        error = self.error
        with Vertical(classes="dialog error-dialog"):
            yield Label(Text(printable(error.title), style="bold red"))
            yield Label(Text(printable(str(error))))
            if error.reply and error.code:
                reply = Text("Server said: ", style="dim")
                reply.append(printable(error.reply))
                reply.append(f"  ({error.code}: {meaning(error.code)})", style="dim")
                yield Label(reply)
            with Horizontal(classes="dialog-buttons"):
                if self.retry:
                    yield Button(self.retry, id="retry", variant="primary", compact=True)
                yield Button("Close", id="close", compact=True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "retry")

    def action_close(self) -> None:
        self.dismiss(False)
