"""Provides LogPanel: the protocol conversation, each reply with its plain-language meaning."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from tui.remote.replies import meaning
from tui.textsafe import printable


def log_line(direction: str, line: str) -> Text:
    """``> USER bob`` / ``< 530 Login incorrect.  Not logged in`` as styled text."""
    text = Text()
    if direction == ">":
        text.append("> " + printable(line), style="cyan")
        return text
    if direction == "*":
        text.append("* " + printable(line), style="italic dim")
        return text
    style = ""
    if line[:1] in ("4", "5"):
        style = "red"
    elif line[:1] == "2":
        style = "green"
    text.append("< " + printable(line), style=style)
    if line[:3].isdigit() and line[3:4] in (" ", ""):
        text.append(f"   {meaning(int(line[:3]))}", style="dim italic")
    return text


class LogPanel(RichLog):
    """Bounded, so a long session cannot grow memory without end."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=2000, wrap=False, markup=False, highlight=False)
        self.lines_seen: list[str] = []  # plain copies, for tests and "copy log"

    def add(self, direction: str, line: str) -> None:
        self.lines_seen.append(f"{direction} {line}")
        del self.lines_seen[:-2000]
        self.write(log_line(direction, line))
