"""Provides the text of a pane's row: name, size and time as the width allows (mc's
columns), and the compare marks. Shared by the panes and the transfer queue."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text

from tui.remote.base import Entry, EntryType
from tui.textsafe import printable


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            return f"{int(value)}{unit}" if unit == "" else f"{value:.1f}{unit}"
        value /= 1024
    return str(size)


def short_time(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return ""
    now = now or datetime.now(UTC)
    if abs((now - when).days) < 180:
        return when.strftime("%b %d %H:%M")
    return when.strftime("%b %d  %Y")


COMPARE_MARKS = {
    "only": ("+", "bold green"),  # only on this side
    "newer": (">", "bold cyan"),
    "older": ("<", "yellow"),
    "different": ("≠", "bold red"),
}
"""How a compare result shows on a row: a sign before the name, and the name's colour."""


def row_text(
    entry: Entry,
    width: int,
    *,
    marked: bool = False,
    compared: str | None = None,
    plain_columns: bool = False,
) -> Text:
    """One row: name, then size, time and permissions as the width allows; a compare mark
    (a sign and a colour, so it reads without colour too) before the name."""
    if entry.type is EntryType.UNKNOWN:
        return Text(printable(entry.raw or entry.name)[: max(width, 10)], style="italic dim")
    # As mc at 80 columns: a name of 14 or more, the size and the time (each pane is about
    # 35 cells there); at 60 columns (about 25) the size still shows.
    columns = []
    if width >= 20:
        columns.append(human_size(entry.size).rjust(7) if not entry.is_dir else "  <DIR>")
    if width >= 30:
        columns.append(short_time(entry.mtime).rjust(12))
    if width >= 60:
        columns.append((entry.perms or "")[-9:].ljust(9))
    tail = " " + " ".join(columns) if columns else ""
    name = printable(entry.name) + ("/" if entry.is_dir else "")
    if entry.type is EntryType.LINK:
        name += " -> " + printable(entry.target or "?")
    room = max(width - len(tail), 8)
    sign, colour = COMPARE_MARKS.get(compared or "", ("", ""))
    prefix = ("*" if marked else sign) + " " if (marked or sign) else ""
    if len(prefix) + len(name) > room:  # the mark takes from the name, not from the columns
        name = name[: room - len(prefix) - 1] + "…"
    text = Text(prefix + name.ljust(room - len(prefix)))
    if entry.is_dir:
        text.stylize("bold")
    if colour:
        text.stylize(colour)
    if marked:
        text.stylize("reverse")
    text.append(tail, style="" if plain_columns else "dim")  # one style a row costs fewer bytes
    return text
