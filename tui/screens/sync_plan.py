"""Provides SyncPlanScreen: the plan of a synchronisation, shown before anything is copied.

Totals per action (count and bytes) on top, then every entry with a check box: copies are
ticked, what is only in the destination is not (ticking it deletes it), entries that are
kept (the destination is newer, a file facing a folder) are listed without a box. Space
toggles an entry, ``a`` ticks every copy, ``s`` starts, Esc cancels.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Button, Label, SelectionList
from textual.widgets.selection_list import Selection

from tui.screens.quiet import QuietScreen
from tui.textsafe import printable
from tui.transfer.sync import Action, Item, Plan, human

STYLES = {Action.NEW: "green", Action.NEWER: "cyan", Action.SIZE: "red",
          Action.DIFFERENT: "red", Action.EXTRA: "yellow"}  # fmt: skip


class TickList(SelectionList[int]):
    """A SelectionList whose box says ticked or not in its character too: ``X`` or blank.
    Textual draws an ``X`` in both and tells them apart by colour only, so without colour
    (NO_COLOR, a monochrome terminal) every extra looked ticked."""

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        segments = list(line)
        index = self.scroll_offset.y + y
        if index >= self.option_count or len(segments) < 2:
            return line
        ticked = self.get_option_at_index(index).value in self.selected
        text, style, control = segments[1]
        segments[1] = Segment("X" if ticked else " ", style, control)
        return Strip(segments, line.cell_length)


class SyncPlanScreen(QuietScreen, ModalScreen[bool]):
    """Dismisses with True to carry out the plan (its items' ``selected`` set), else False."""

    AUTO_FOCUS = "#entries"

    BINDINGS = [
        Binding("escape", "answer(False)", "Cancel", id="sync.cancel"),
        Binding("s", "answer(True)", "Start", id="sync.start"),
        Binding("a", "all_copies", "All copies", id="sync.all"),
    ]

    def __init__(self, title: str, plan: Plan) -> None:
        super().__init__()
        self.title_text = title
        self.plan = plan
        self.choosable = [i for i in plan.items if i.action.copies or i.action is Action.EXTRA]
        self.kept = [i for i in plan.items if i.action in (Action.OLDER, Action.KIND)]
        for item in self.choosable:
            item.selected = item.action.copies  # deleting is always the user's own choice

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog sync-dialog"):
            yield Label(Text(self.title_text, style="bold"))
            yield Label(self._totals(), id="totals")
            if self.choosable:
                yield TickList(
                    *[Selection(self._label(item), n, item.selected)
                      for n, item in enumerate(self.choosable)],
                    id="entries",
                )  # fmt: skip
            else:
                yield Label(Text("Nothing to copy or delete: the folders match.", style="bold"))
            if self.kept:
                kept = Text("Kept: ", style="bold")
                kept.append(", ".join(f"{printable(i.path)} ({i.note})" for i in self.kept[:4]))
                if len(self.kept) > 4:
                    kept.append(f" and {len(self.kept) - 4} more")
                yield Label(kept)
            # What the walks could not take: never silent, or a sync would look complete.
            missing = self.plan.skipped + [f"not listed: {u}" for u in self.plan.unlisted]
            if missing:
                left_out = Text("Left out: ", style="bold red")
                left_out.append("; ".join(printable(line) for line in missing[:4]))
                if len(missing) > 4:
                    left_out.append(f" and {len(missing) - 4} more")
                yield Label(left_out, id="left-out")
            yield Label(Text("space ticks or unticks · a ticks every copy · a ticked "
                             "extra is deleted", style="dim"))  # fmt: skip
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start (s)", id="start", variant="primary", compact=True,
                             disabled=not self.choosable)  # fmt: skip
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    @staticmethod
    def _label(item: Item) -> Text:
        action = "extra" if item.action is Action.EXTRA else item.action.value
        text = Text(f"{action:<13}", style=STYLES.get(item.action, ""))
        text.append(printable(item.path) + ("/" if item.is_dir else ""))
        if not item.is_dir:
            text.append(f"  {human(item.size)}", style="dim")
        return text

    def _totals(self) -> Text:
        copies = [i for i in self.choosable if i.selected and i.action.copies]
        deletions = [i for i in self.choosable if i.selected and i.action is Action.EXTRA]
        extra = [i for i in self.choosable if i.action is Action.EXTRA]
        text = Text()
        for action in (Action.NEW, Action.NEWER, Action.SIZE, Action.DIFFERENT):
            chosen = [i for i in copies if i.action is action and not i.is_dir]
            if chosen:
                size = human(sum(i.size for i in chosen))
                text.append(f"{action.value} {len(chosen)} ({size})  ", style=STYLES[action])
        if extra:
            text.append(f"extra (only in destination) {len(extra)}, "
                        f"{len(deletions)} to delete  ", style="yellow")  # fmt: skip
        if self.kept:
            text.append(f"kept {len(self.kept)}", style="dim")
        return text or Text("nothing differs")

    @on(SelectionList.SelectedChanged)
    def _changed(self, event: SelectionList.SelectedChanged[int]) -> None:
        chosen = set(event.selection_list.selected)
        for n, item in enumerate(self.choosable):
            item.selected = n in chosen
        self.query_one("#totals", Label).update(self._totals())

    def action_all_copies(self) -> None:
        entries = self.query_one("#entries", SelectionList)
        for n, item in enumerate(self.choosable):
            if item.action.copies:
                entries.select(n)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "start")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value and bool(self.choosable))
