"""Provides small modals: a yes/no confirmation and a one-line text prompt."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label

from tui.screens.quiet import QuietScreen
from tui.textsafe import printable
from tui.transfer.queue import Conflict


class ConfirmScreen(QuietScreen, ModalScreen[bool]):
    """Asks a yes/no question; Enter on the focused button, y/n or Esc."""

    AUTO_FOCUS = "#no"  # destructive answers are never the default

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: Text | str, *, yes: str = "Yes", danger: bool = False) -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            with Horizontal(classes="dialog-buttons"):
                variant = "error" if self.danger else "primary"
                yield Button(f"{self.yes} (y)", id="yes", variant=variant, compact=True)
                yield Button("No (n)", id="no", compact=True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class InputScreen(QuietScreen, ModalScreen[str | None]):
    """Asks for one line of text (a new name, a password); Esc cancels."""

    AUTO_FOCUS = "#answer"

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="input.cancel")]

    def __init__(self, prompt: str, value: str = "", *, password: bool = False) -> None:
        super().__init__()
        self.prompt = prompt
        self.value = value
        self.password = password

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.prompt))
            yield Input(value=self.value, password=self.password, id="answer")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConflictScreen(QuietScreen, ModalScreen[tuple[Conflict, bool]]):
    """The target exists: overwrite, only if newer, skip, resume or rename; "for all" too."""

    BINDINGS = [
        Binding("o", "choose('always')", "Overwrite", id="conflict.overwrite"),
        Binding("n", "choose('newer')", "If newer", id="conflict.newer"),
        Binding("s,escape", "choose('skip')", "Skip", id="conflict.skip"),
        Binding("r", "choose('resume')", "Resume", id="conflict.resume"),
        Binding("m", "choose('rename')", "Rename", id="conflict.rename"),
    ]
    AUTO_FOCUS = "#skip"  # the answer that loses nothing

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(f"{printable(self.target)} exists. What now?"))
            yield Checkbox("Do the same for every file in this batch", id="all", compact=True)
            with Horizontal(classes="dialog-buttons"):
                for key, label in [("always", "Overwrite (o)"), ("newer", "If newer (n)"),
                                   ("skip", "Skip (s)"), ("resume", "Resume (r)"),
                                   ("rename", "Rename (m)")]:  # fmt: skip
                    yield Button(label, id=key, compact=True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_choose(event.button.id or "skip")

    def action_choose(self, choice: str) -> None:
        self.dismiss((Conflict(choice), self.query_one("#all", Checkbox).value))
