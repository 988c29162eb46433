"""Provides KeyBar: the bottom line of key hints (``f5 Copy  f6 RenMov …  ^p palette``).

What fits, as Midnight Commander fits it: every hint in full if the line is wide enough;
else mc's compact form (``1Help 5Copy``), the function keys first (F1 Help and F10 Quit
always, the focused widget's own keys next), and at last each description cut to an even
share of the line, so that no function key is ever dropped (60 columns keep F1 to F10).

One widget drawing one line, in place of Textual's Footer, which is a widget per key and
composes them all again whenever focus moves. Under a modal dialog each of those recomposes
laid out the screen again and sent all of it to the terminal (~10 KB a time, several times
while the connect dialog opened). This bar repaints its one row, and only when the hints
it shows have changed.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class Hint(NamedTuple):
    key: str  # what a click presses
    display: str  # as shown: "f5", "^p"
    description: str
    enabled: bool
    tooltip: str
    rank: int = 2  # who goes first when space is short: 0 F1/F10, 1 focused, 2 F-keys, 3 rest


def _fkey(display: str) -> int | None:
    """The number of a function key hint ("f5" -> 5), else None."""
    return int(display[1:]) if display[:1] == "f" and display[1:].isdigit() else None


def _width(pieces: list[tuple[Hint, str, str]]) -> int:
    return sum(len(key) + len(description) for _, key, description in pieces)


def fit(hints: list[Hint], width: int) -> tuple[list[tuple[Hint, str, str]], bool]:
    """Which hints to show in ``width`` cells, each as (hint, key text, description text),
    and whether the palette hint still fits after them."""
    full = [(h, f" {h.display} ", f"{h.description} ") for h in hints]
    if _width(full) <= width - PALETTE_WIDTH:
        return full, True
    # mc's form: "5Copy" for function keys ("tab Pane" for the others); one space between.
    compact = [(h, str(n) if (n := _fkey(h.display)) else f"{h.display} ", f"{h.description} ")
               for h in hints]  # fmt: skip
    focused = any(h.rank == 1 for h in hints)
    # Who gives way first: other keys; then, while a widget's own keys show (the queue's),
    # function keys from F9 down; never F1 and F10, and never F2-F9 in the panes.
    order = sorted(compact, key=lambda p: (-p[0].rank, -(_fkey(p[0].display) or 0)))
    droppable = [p for p in order if p[0].rank == 3 or (focused and p[0].rank == 2)]
    for room, palette in ((width - PALETTE_WIDTH, True), (width, False)):
        chosen = list(compact)
        for piece in droppable:
            if _width(chosen) <= room:
                break
            chosen.remove(piece)
        if _width(chosen) <= room:
            return chosen, palette
    # The keys that must stay do not fit in full: the longest descriptions are cut, a
    # letter at a time (mc: "6RenM 7Mkdi 8Dele").
    descriptions = [description for _, _, description in chosen]
    while sum(len(k) for _, k, _ in chosen) + sum(map(len, descriptions)) > width:
        longest = max(range(len(descriptions)), key=lambda n: len(descriptions[n]))
        if len(descriptions[longest]) <= 2:
            break
        descriptions[longest] = descriptions[longest][:-2] + " "
    return [(h, k, d) for (h, k, _), d in zip(chosen, descriptions, strict=True)], False


PALETTE_WIDTH = 11  # "▏^p palette"


class KeyBar(Widget):
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description"}

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        text-style: bold;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.hints: list[Hint] = []
        self.palette: Hint | None = None
        self._spans: list[tuple[int, int, Hint]] = []  # cells each hint takes, for clicks

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if screen is not self.screen:
            return
        hints, palette = self._collect()
        if (hints, palette) != (self.hints, self.palette):
            self.hints, self.palette = hints, palette
            self.refresh()

    def _collect(self) -> tuple[list[Hint], Hint | None]:
        """The shown bindings of the focused widget and its ancestors, one per action."""
        hints: list[Hint] = []
        actions: dict[str, int] = {}  # action -> its hint's index
        palette = None
        for node, binding, enabled, tooltip in self.screen.active_bindings.values():
            display = self.app.get_key_display(binding)
            if binding.id in ("app.help", "app.quit"):
                rank = 0
            elif node is not self.app and node is not self.screen:
                rank = 1  # the focused widget's own keys (the queue's p, x, r)
            else:
                rank = 2 if _fkey(display) else 3
            hint = Hint(binding.key, display, binding.description, enabled,
                        tooltip or binding.tooltip or binding.description, rank)  # fmt: skip
            if binding.key == self.app.COMMAND_PALETTE_BINDING:
                palette = hint if self.app.ENABLE_COMMAND_PALETTE else None
            elif binding.show and binding.action not in actions:
                actions[binding.action] = len(hints)
                hints.append(hint)
            elif binding.show and _fkey(display) and not _fkey(hints[actions[binding.action]]
                                                              .display):  # fmt: skip
                hints[actions[binding.action]] = hint  # "f10 Quit" rather than "^q Quit"
        # Function keys in their order (F1 first, F10 last, as mc shows them), then the rest.
        hints.sort(key=lambda h: (0, _fkey(h.display)) if _fkey(h.display) else (1, 0))
        return hints, palette

    def render(self) -> Text:
        width = self.size.width
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        description_style = self.get_component_rich_style("key-bar--description", partial=True)
        text = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        right = Text(end="")
        if self.palette is not None:
            right.append("\u258f", style="dim")
            right.append(f"{self.palette.display} ", style=key_style)
            right.append(self.palette.description, style=description_style)
        shown, palette_fits = fit(self.hints, width if self.palette is not None else
                                  width + PALETTE_WIDTH)  # fmt: skip
        if not palette_fits:
            right = Text(end="")
        room = width - right.cell_len
        for hint, key, description in shown:
            piece = Text(end="")
            piece.append(key, style=key_style)
            piece.append(description, style=description_style)
            if not hint.enabled:
                piece.stylize("dim")
            if text.cell_len + piece.cell_len > room:
                break
            self._spans.append((text.cell_len, text.cell_len + piece.cell_len, hint))
            text.append_text(piece)
        text.pad_right(max(room - text.cell_len, 0))
        if self.palette is not None and palette_fits:
            self._spans.append((text.cell_len, width, self.palette))
        text.append_text(right)
        return text

    def _hint_at(self, x: int) -> Hint | None:
        return next((hint for start, end, hint in self._spans if start <= x < end), None)

    def on_click(self, event: events.Click) -> None:
        hint = self._hint_at(event.x)
        if hint is None:
            return
        if hint.enabled:
            self.app.simulate_key(hint.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        hint = self._hint_at(event.x)
        self.tooltip = hint.tooltip if hint is not None else None
