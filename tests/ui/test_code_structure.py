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
    "virtual_size", "tooltip", "display",
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
