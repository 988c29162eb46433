"""Provides KeyBar: the bottom line of key hints (``f5 Copy  f6 RenMov …  ^p palette``).

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
        actions: set[str] = set()
        palette = None
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            hint = Hint(binding.key, self.app.get_key_display(binding), binding.description,
                        enabled, tooltip or binding.tooltip or binding.description)  # fmt: skip
            if binding.key == self.app.COMMAND_PALETTE_BINDING:
                palette = hint if self.app.ENABLE_COMMAND_PALETTE else None
            elif binding.show and binding.action not in actions:
                actions.add(binding.action)
                hints.append(hint)
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
        room = width - right.cell_len
        for hint in self.hints:
            piece = Text(end="")
            piece.append(f" {hint.display} ", style=key_style)
            piece.append(f"{hint.description} ", style=description_style)
            if not hint.enabled:
                piece.stylize("dim")
            if text.cell_len + piece.cell_len > room:
                break
            self._spans.append((text.cell_len, text.cell_len + piece.cell_len, hint))
            text.append_text(piece)
        text.pad_right(max(room - text.cell_len, 0))
        if self.palette is not None:
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
