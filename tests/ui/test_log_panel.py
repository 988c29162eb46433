"""The protocol log: bounded, follows the end, leaves a reader's place alone."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tui.widgets.log_panel import MAX_LINES, LogPanel


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LogPanel(id="log")


def screen_text(log: LogPanel) -> list[str]:
    return [log.render_line(y).text.rstrip() for y in range(log.scrollable_content_region.height)]


async def test_the_log_follows_new_lines_and_keeps_the_place_of_a_reader():
    app = LogApp()
    async with app.run_test(size=(60, 10)) as pilot:
        log = app.query_one(LogPanel)
        for n in range(30):
            log.add(">", f"NOOP {n}")
        await pilot.pause()
        shown = screen_text(log)
        assert shown[-1] == "> NOOP 29"  # the latest line, at the bottom
        assert "> NOOP 0" not in shown

        log.scroll_home(animate=False, immediate=True)
        log.add("<", "200 NOOP ok")
        await pilot.pause()
        shown = screen_text(log)
        assert shown[0] == "> NOOP 0"  # scrolled back: a new line does not pull the view
        log.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert screen_text(log)[-1].startswith("< 200 NOOP ok   ")  # with its meaning


async def test_the_log_keeps_only_the_last_lines_and_toggles_to_the_latest():
    app = LogApp()
    async with app.run_test(size=(60, 10)) as pilot:
        log = app.query_one(LogPanel)
        for n in range(20):
            log.add("*", f"early {n}")
        await pilot.pause()
        log.scroll_home(animate=False, immediate=True)  # a reader scrolled back, then hid it
        log.display = False
        for n in range(MAX_LINES + 50):
            log.add("*", f"line {n}")
        assert len(log.lines_seen) == MAX_LINES
        assert log.lines_seen[0] == "* line 50"
        log.toggle()
        await pilot.pause()
        await pilot.pause()
        assert log.virtual_size.height == MAX_LINES
        assert screen_text(log)[-1] == f"* line {MAX_LINES + 49}"
