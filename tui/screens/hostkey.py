"""Provides HostKeyScreen: the SSH host-key viewer, and the trust decision when one is asked.

What a user checks a host key by, and nothing else: its type and size, its SHA-256 in
OpenSSH's form (``SHA256:`` + base64, as ``ssh-keygen -l`` and ssh's own prompt print it),
OpenSSH's randomart of it, what the user's ``known_hosts`` says about the host, and the host
certificate's CA when there is one. The key's base64 (hundreds of characters for RSA) is not
shown: nobody compares it by eye, and the fingerprint is its digest. A changed key is the
same loud warning as a changed certificate: the key trusted before beside the one presented
now, each with its picture (drawn from the stored fingerprint: the picture depends on the
digest alone) and its fingerprint.

The screen reuses the certificate viewer's ids and classes, so it looks like it, and its
keys: ``o`` accept once, ``a`` always trust, Esc reject (which has the focus), the arrows
scroll the body at once. The verdict is words, readable without colour. Every value shown
comes from the server and is escaped (``printable``) into ``Text``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from tui.identity import ON_THE_WAY, normalize_fingerprint, show_fingerprint
from tui.screens.quiet import QuietScreen
from tui.screens.viewer_body import ScrollingBody, scroll_bindings
from tui.textsafe import printable
from tui.trust.kinds import Report
from tui.trust.policy import TrustDecision
from tui.trust.randomart import key_bits, key_title, randomart

VERDICT_TEXT = {  # the identity viewer's words, but a host key's "authority" is known_hosts
    "trusted-ca": ("Trusted: your known_hosts vouches for this key", "green"),
    "trusted-store": ("Trusted: you accepted this host key before", "green"),
    "untrusted": ("NOT TRUSTED: check it before you accept it", "bold red"),
    "changed": ("WARNING: THE HOST KEY HAS CHANGED", "bold white on red"),
}
LABELS = {
    "key_type": "Key type",
    "known_hosts": "known_hosts",
    "certificate": "Certificate",
    ON_THE_WAY: "Leads to",
}  # a ProxyJump host's: the site it is on the way to
HIDDEN = ("key", "known_hosts_name", "known_hosts_files")  # the blob; how ssh searched
LABEL_WIDTH = max(len(label) for label in (*LABELS.values(), "SHA-256", "Randomart", "Problem"))


def fitted_fingerprint(shown: str, width: int) -> str:
    """OpenSSH's ``SHA256:…`` in ``width`` columns: one line when it fits, else its base64
    in two halves under the prefix (never a lone character wrapped onto a line of its own).
    Any other form (a damaged record) is returned as it stands."""
    prefix, _, digest = shown.partition(":")
    if prefix != "SHA256" or len(shown) <= width or len(digest) < 2:
        return shown
    half = (len(digest) + 1) // 2
    first, second = digest[:half], digest[half:]
    if len(prefix) + 1 + half <= width:
        return f"{prefix}:{first}\n{' ' * (len(prefix) + 1)}{second}"
    return f"{prefix}:\n{first}\n{second}"


def digest_of(sha256: str) -> bytes | None:
    """The raw SHA-256 a fingerprint (any form) stands for, or None for a damaged one."""
    try:
        return bytes.fromhex(normalize_fingerprint(sha256).replace(":", ""))
    except ValueError:
        return None


def key_blob(details: dict[str, str]) -> bytes:
    """The key blob from the details' base64, or ``b""`` when it is missing or broken."""
    try:
        return base64.b64decode(details.get("key", ""), validate=True)
    except (binascii.Error, ValueError):
        return b""


def art_text(digest: bytes | None, title: str = "") -> Text:
    """The randomart, one line per row and never wrapped (a narrow box crops it)."""
    if digest is None:
        return Text("(no picture: the fingerprint is damaged)", style="dim")
    return Text(randomart(digest, title), no_wrap=True, overflow="crop")


class Fitted(Static):
    """A Static whose content is laid out again for its width whenever that changes (a
    fingerprint goes on one line where it fits, in halves where it does not)."""

    def __init__(self, build: Callable[[int], RenderableType], *, id: str | None = None) -> None:
        super().__init__(build(0), id=id)  # the narrowest form until the width is known
        self.build = build

    def on_resize(self, event: events.Resize) -> None:
        self.update(self.build(self.content_size.width))


class HostKeyScreen(QuietScreen, ScrollingBody, ModalScreen[TrustDecision]):
    """Shows a host-key report; with ``ask=True`` returns the user's trust decision."""

    AUTO_FOCUS = "#reject"  # a stray Enter never accepts

    BINDINGS = [
        Binding("escape", "decide('reject')", "Reject / close", id="hostkey.reject"),
        *scroll_bindings("hostkey"),  # the body scrolls at once, whatever has the focus
        Binding("o", "decide('once')", "Accept once", id="hostkey.once"),
        Binding("a", "decide('always')", "Always trust", id="hostkey.always"),
    ]

    DEFAULT_CSS = """
    HostKeyScreen #cert-compare Static {
        border-title-style: bold;
    }
    """

    def __init__(self, report: Report, *, ask: bool = True) -> None:
        super().__init__()
        self.report = report
        self.ask = ask
        details = report.to_json().get("details")
        self.details = (
            {str(label): str(value) for label, value in details.items()}
            if isinstance(details, dict)
            else {}
        )
        blob = key_blob(self.details)
        self.key_type = self.details.get("key_type", "")
        self.bits = key_bits(blob)
        self.art_title = key_title(self.key_type, blob)  # not .title: the Screen's own

    @property
    def can_answer(self) -> bool:
        """Whether the three answers are offered (never for a revoked key)."""
        return self.ask and self.report.revocation != "revoked"

    def compose(self) -> ComposeResult:
        report = self.report
        words, style = VERDICT_TEXT.get(report.verdict, (report.verdict, "bold"))
        changed = report.verdict == "changed"
        with Vertical(id="certificate", classes="changed" if changed else ""):
            title = Text(f"Host key of {printable(report.site)}", style="bold")
            yield Label(title, id="cert-title")
            yield Label(Text(words, style=style), id="cert-verdict")
            with VerticalScroll(id="cert-body"):
                if changed:
                    with Horizontal(id="cert-compare"):
                        yield self._box("Trusted before", report.previous or "", "", "before")
                        yield self._box("Presented now", report.sha256, self.art_title, "now")
                yield Fitted(self._details, id="cert-details")
            with Horizontal(id="cert-buttons"):
                if self.can_answer:
                    yield Button("Accept once (o)", id="once", variant="warning", compact=True)
                    yield Button("Always trust (a)", id="always", variant="primary", compact=True)
                    yield Button("Reject (Esc)", id="reject", variant="error", compact=True)
                else:
                    yield Button("Close (Esc)", id="reject", compact=True)

    def _box(self, heading: str, sha256: str, title: str, name: str) -> Fitted:
        """One side of the comparison: the fingerprint over its picture (the words first: a
        short terminal shows them before it scrolls), headed in its border (a row saved)."""
        shown = printable(show_fingerprint(sha256, self.report.kind))
        digest = digest_of(sha256)

        def build(width: int) -> Text:
            # Laid out for the width already: wrapping would only undo the halves' indent.
            text = Text(fitted_fingerprint(shown, width) + "\n", no_wrap=True, overflow="crop")
            text.append_text(art_text(digest, title))
            return text

        box = Fitted(build, id=f"hostkey-{name}")
        box.border_title = heading
        return box

    def _details(self, width: int) -> Table:
        report, details = self.report, self.details
        value_width = width - LABEL_WIDTH - 2
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True, width=LABEL_WIDTH)
        table.add_column(overflow="fold")
        key_type = printable(self.key_type) or "unknown"
        rows: list[tuple[str, Text]] = [
            ("Key type", Text(f"{key_type}, {self.bits} bits" if self.bits else key_type)),
            ("SHA-256", Text(fitted_fingerprint(printable(report.fingerprint), value_width))),
        ]
        problems = report.all_problems
        for label, value in details.items():
            if label not in HIDDEN and label != "key_type":
                name = LABELS.get(label, label.replace("_", " ").capitalize())
                # The rules word "not listed" as the problem "Host key not listed": the row
                # is shown in red once rather than repeated as a problem.
                said = f"Host key {value}" if label == "known_hosts" else None
                style = "red" if said in problems else ""
                rows.append((printable(name), Text(printable(value), style=style)))
                problems = [problem for problem in problems if problem != said]
        for heading, shown in rows:
            table.add_row(Text(heading, style="dim"), shown)
        for problem in problems:
            table.add_row(Text("Problem", style="bold red"), Text(printable(problem), style="red"))
        if report.verdict != "changed":  # else it is drawn above, beside the one before
            art = art_text(digest_of(report.sha256), self.art_title)
            table.add_row(Text("Randomart", style="dim"), art)
        return table

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_decide(event.button.id or "reject")

    def action_decide(self, choice: str) -> None:
        if not self.can_answer:
            self.dismiss(TrustDecision.REJECT)
            return
        self.dismiss(TrustDecision(choice))
