"""Provides ViewerScreen (F3): a text file with syntax highlighting, or a hex view of a binary
one. It is given only the first bytes of the file: a large remote file is not downloaded."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.screens.quiet import QuietScreen
from tui.textsafe import printable

VIEW_LIMIT = 256 * 1024


def is_binary(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return True
    try:
        data[:8192].decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start < len(data[:8192]) - 4  # a cut multi-byte character at the end is fine
    return False


HINT = "Esc q F3 close \u00b7 \u2191\u2193 PgUp PgDn scroll \u00b7 g G top, end"


def hex_width(columns: int) -> int:
    """Bytes per hex row for a terminal ``columns`` wide: 16 (77 cells, as mc shows them)
    when the row fits beside the border and the scrollbar, else 8: never a wrapped row."""
    return 16 if columns >= 80 else 8


def hex_view(data: bytes, width: int = 16) -> Text:
    text = Text(no_wrap=True, overflow="crop")
    for offset in range(0, len(data), width):
        chunk = data[offset : offset + width]
        hexes = " ".join(f"{byte:02x}" for byte in chunk).ljust(width * 3 - 1)
        shown = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in chunk)
        text.append(f"{offset:08x}  ", style="dim")
        text.append(hexes)
        text.append(f"  |{shown}|\n", style="cyan")
    text.rstrip()  # no empty row after the last one
    return text


def safe_text(data: bytes) -> str:
    """Decoded text with control characters (but tabs and newlines) made visible."""
    decoded = data.decode("utf-8", "replace")
    return "\n".join(printable(line.replace("\t", "    ")) for line in decoded.split("\n"))


class ViewerScreen(QuietScreen, ModalScreen[None]):
    """The first bytes of a file, scrolled with the arrows, PageUp/PageDown, g and G."""

    BINDINGS = [
        Binding("escape,q,f3,f10", "dismiss", "Close", id="viewer.close"),
        Binding("g,home", "top", "Top", show=False, id="viewer.top"),
        Binding("G,end", "bottom", "End", show=False, id="viewer.bottom"),
    ]

    def __init__(self, name: str, data: bytes, total: int | None) -> None:
        super().__init__()
        self.file_name = name
        self.data = data
        self.total = total

    def compose(self) -> ComposeResult:
        binary = is_binary(self.data)
        title = Text(printable(self.file_name), style="bold")
        shown = len(self.data)
        if self.total is not None and self.total > shown:
            title.append(f"  (first {shown:,} of {self.total:,} bytes)", style="dim")
        title.append("  hex" if binary else "", style="dim")
        with Vertical(id="viewer"):
            yield Label(title)
            with VerticalScroll(id="viewer-body"):
                if binary:
                    yield Static(hex_view(self.data, hex_width(self.app.size.width)))
                else:
                    code = safe_text(self.data)
                    lexer = Syntax.guess_lexer(self.file_name, code)
                    yield Static(Syntax(code, lexer, line_numbers=True, theme="ansi_dark"))
            yield Label(Text(HINT, style="dim"), id="viewer-hint")

    def action_top(self) -> None:
        self.query_one("#viewer-body", VerticalScroll).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one("#viewer-body", VerticalScroll).scroll_end(animate=False)
