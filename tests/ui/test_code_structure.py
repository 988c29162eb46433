"""The app's code against Textual's: no Ferryman name hides one of Textual's (a method,
property or attribute of the same name breaks Textual in ways tests rarely reach: ``lock``
broke ``batch()``, ``visible()`` replaced a property, ``_log`` broke devtools logging)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap

from textual.app import App
from textual.dom import DOMNode

import tui.screens
import tui.widgets
from tui.app import FerrymanApp

HOOKS = {
    # What Textual asks subclasses to define or set: overriding these is the point.
    "__init__", "BINDINGS", "CSS", "CSS_PATH", "DEFAULT_CSS", "TITLE", "COMPONENT_CLASSES",
    "AUTO_FOCUS", "compose", "render", "render_line", "on_mount", "check_action",
    "get_default_screen", "get_system_commands", "action_command_palette", "action_quit",
    "action_page_down",
    "action_page_up", "action_scroll_end", "action_scroll_home", "watch_scroll_y",
    # Public attributes Textual documents as settable.
    "virtual_size", "tooltip", "display", "BUTTON_INNER", "watch_value",
}  # fmt: skip


def _classes() -> list[type]:
    found: list[type] = [FerrymanApp]
    for package in (tui.screens, tui.widgets):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == module.__name__ and issubclass(cls, DOMNode | App):
                    found.append(cls)
    return found


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return node.targets
    return [node.target] if isinstance(node, ast.AnnAssign) else []


def _defined(cls: type) -> set[str]:
    """Names the class's own source defines: methods, class attributes, ``self.X = ...``."""
    node = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(node, ast.ClassDef)
    names: set[str] = set()
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(item.name)
        names |= {t.id for t in _targets(item) if isinstance(t, ast.Name)}
    for sub in ast.walk(node):
        for target in _targets(sub):
            if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                    and target.value.id == "self"):  # fmt: skip
                names.add(target.attr)
    return names


def test_no_app_screen_or_widget_class__shadows_a_textual_name():
    shadowing = []
    for cls in _classes():
        textual: set[str] = set()
        for base in cls.__mro__:
            if base.__module__.startswith("textual"):
                textual |= set(dir(base))
        shadowing += [f"{cls.__name__}.{name}" for name in _defined(cls) & textual - HOOKS]
    assert sorted(shadowing) == []


def test_no_widget__pushes_a_screen_or_reaches_for_its_parent():
    """Widgets send messages up and the screen decides: none pushes a modal, looks up an
    ancestor, or calls its parent's methods."""
    offenders = []
    for info in pkgutil.iter_modules(tui.widgets.__path__):
        module = importlib.import_module(f"tui.widgets.{info.name}")
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr in (
                "push_screen", "query_ancestor", "parent", "pane"
            ):  # fmt: skip
                offenders.append(f"{info.name}:{node.lineno} .{node.attr}")
    assert offenders == []


async def test_a_worker_failing_with_any_exception__opens_the_error_modal(make_app, plain_server):
    """Workers used to catch only FerrymanError: anything else vanished and the status said
    "connecting…" for ever."""
    from tests.ui.conftest import settle
    from tui.screens.error import ErrorScreen

    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")

        def broken(site):  # type: ignore[no-untyped-def]
            raise RuntimeError("a bug in a backend")

        app.service.open = broken  # type: ignore[method-assign]
        app.screen.connect(app.service.site_for(plain_server.url("ftp")))
        await settle(pilot, app)
        assert isinstance(app.screen, ErrorScreen)
        assert app.screen.error.title == "Unexpected error"
        assert "a bug in a backend" in str(app.screen.error)
        await pilot.press("escape")
        assert "connecting" not in app.screen.status.activity


async def test_a_pane_listing_failing_with_any_exception__says_so(make_app, plain_server, root):
    from tests.conftest import write
    from tests.ui.conftest import settle
    from tui.screens.error import ErrorScreen

    write(root, "sub/x.txt", b"x")
    app = make_app(plain_server.url("ftp"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        remote = app.screen.remote

        def broken(path):  # type: ignore[no-untyped-def]
            raise ValueError("unexpected listing")

        remote.fs.listdir = broken
        await pilot.press("enter")  # open sub/
        await settle(pilot, app)
        assert isinstance(app.screen, ErrorScreen)
        assert "unexpected listing" in str(app.screen.error)


async def test_panes_settings__show_hidden_and_sort_apply_at_start(local_dir):
    """[panes] show_hidden and sort were parsed and never applied."""
    import os

    from tests.ui.conftest import settle, shown
    from tui.app import FerrymanApp
    from tui.config import Config

    with open(os.path.join(local_dir, ".hidden"), "w") as handle:
        handle.write("h")
    with open(os.path.join(local_dir, "big.bin"), "wb") as handle:
        handle.write(b"x" * 5000)
    config = Config(show_hidden=True, sort="size")
    app = FerrymanApp(url=None, local_path=local_dir, config=config, check_revocation=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        names = [row.split()[0] for row in shown(app.screen_stack[0].local)]
        assert names[0] == "big.bin" and ".hidden" in names


def test_every_class_that_starts_workers__has_one_worker_state_handler():
    """Worker failures have one road: a class with ``@work`` methods handles
    ``Worker.StateChanged`` once (a failure is never left to vanish)."""
    missing = []
    for cls in _classes():
        node = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
        assert isinstance(node, ast.ClassDef)
        methods = [item for item in node.body if isinstance(item, ast.FunctionDef)]
        decorators = [ast.unparse(d) for item in methods for d in item.decorator_list]
        workers = sum(d.startswith("work") for d in decorators)
        handlers = sum(d == "on(Worker.StateChanged)" for d in decorators)
        if workers and handlers != 1:
            missing.append(f"{cls.__name__}: {workers} worker(s), {handlers} handler(s)")
    assert missing == []
