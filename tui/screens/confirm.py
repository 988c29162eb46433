"""Provides small modals: a yes/no confirmation and a one-line text prompt."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from tui.screens.quiet import QuietScreen
from tui.textsafe import printable
from tui.transfer.queue import Conflict, Job
from tui.widgets.tick_box import TickBox


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
                variant: Literal["error", "primary"] = "error" if self.danger else "primary"
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
            yield Label(Text("Enter: OK \u00b7 Esc: cancel", style="dim"), classes="dialog-hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _side(label: str, size: int | None, when: datetime | None) -> Text:
    """One side of a conflict: its size in bytes and its time, aligned with the other."""
    text = Text(f"  {label:<9}", style="bold")
    text.append(f"{size:>15,} bytes" if size is not None else f"{'size unknown':>21}")
    text.append(f"  {when:%Y-%m-%d %H:%M}" if when is not None else "  time unknown")
    return text


class ConflictScreen(QuietScreen, ModalScreen[tuple[Conflict, bool]]):
    """The target exists: overwrite, only if newer, skip, resume or rename; "for all" too.
    Both sides' size and time are shown, as mc and FileZilla do: that is what one decides on.
    The buttons take two rows, so that all five fit 60 columns."""

    BINDINGS = [
        Binding("o", "choose('always')", "Overwrite", id="conflict.overwrite"),
        Binding("n", "choose('newer')", "If newer", id="conflict.newer"),
        Binding("s,escape", "choose('skip')", "Skip", id="conflict.skip"),
        Binding("r", "choose('resume')", "Resume", id="conflict.resume"),
        Binding("m", "choose('rename')", "Rename", id="conflict.rename"),
    ]
    AUTO_FOCUS = "#skip"  # the answer that loses nothing

    def __init__(self, job: Job, existing: tuple[int | None, float | None] = (None, None)
                 ) -> None:  # fmt: skip
        super().__init__()
        self.job = job
        self.existing = existing

    def compose(self) -> ComposeResult:
        job = self.job
        size, stamp = self.existing
        with Vertical(classes="dialog"):
            yield Label(Text(f"{printable(job.target)} exists. What now?", style="bold"))
            yield Label(_side("New:", job.size, job.mtime.astimezone(UTC) if job.mtime else None))
            when = datetime.fromtimestamp(stamp, UTC) if stamp is not None else None
            yield Label(_side("Existing:", size, when))
            yield TickBox("Do the same for every file in this batch", id="all", compact=True)
            for row in ([("always", "Overwrite (o)"), ("newer", "If newer (n)"),
                         ("resume", "Resume (r)")], [("rename", "Rename (m)"),
                                                     ("skip", "Skip (s)")]):  # fmt: skip
                with Horizontal(classes="dialog-buttons"):
                    for key, label in row:
                        yield Button(label, id=key, compact=True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_choose(event.button.id or "skip")

    def action_choose(self, choice: str) -> None:
        self.dismiss((Conflict(choice), self.query_one("#all", TickBox).value))
