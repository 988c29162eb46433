"""Provides the trust viewer for a peer identity of any kind, and the choice of viewer by kind.

X.509 certificates have their own viewer (``CertificateScreen``: sections, chain), SSH host
keys theirs (``HostKeyScreen``: fingerprint, randomart, known_hosts); every other kind (a
test backend's toy kind) is shown here:
its details as labelled values, its fingerprint in the form its users know, and the same
three answers with the same rules (a changed identity is shown old beside new; a revoked
one cannot be accepted). It reuses the certificate viewer's styles.

Every value shown comes from the server and is escaped (``printable``) into ``Text``.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from tui.identity import SSH_HOST_KEY, X509, kind_noun, show_fingerprint
from tui.screens.quiet import QuietScreen
from tui.textsafe import printable
from tui.trust.kinds import Report
from tui.trust.policy import TrustDecision


def trust_viewer(report: Report, *, ask: bool = True) -> ModalScreen[TrustDecision]:
    """The viewer for ``report``'s identity kind (the app asks trust through this)."""
    if report.kind == X509:
        from tui.screens.certificate import CertificateScreen  # cryptography: when needed
        from tui.trust.certificate import CertificateReport

        if isinstance(report, CertificateReport):
            return CertificateScreen(report, ask=ask)
    if report.kind == SSH_HOST_KEY:
        from tui.screens.hostkey import HostKeyScreen

        return HostKeyScreen(report, ask=ask)
    return IdentityScreen(report, ask=ask)


class IdentityScreen(QuietScreen, ModalScreen[TrustDecision]):
    """Shows a report of any identity kind; with ``ask=True`` returns the trust decision."""

    AUTO_FOCUS = "#reject"  # a stray Enter never accepts

    BINDINGS = [
        Binding("escape", "decide('reject')", "Reject / close", id="identity.reject"),
        Binding("o", "decide('once')", "Accept once", id="identity.once"),
        Binding("a", "decide('always')", "Always trust", id="identity.always"),
    ]

    def __init__(self, report: Report, *, ask: bool = True) -> None:
        super().__init__()
        self.report = report
        self.ask = ask
        self.noun = kind_noun(report.kind)

    def compose(self) -> ComposeResult:
        report, noun = self.report, self.noun
        verdicts = {
            "trusted-ca": ("Trusted: vouched for by an authority you trust", "green"),
            "trusted-store": (f"Trusted: you accepted this {noun} before", "green"),
            "untrusted": ("NOT TRUSTED: check it before you accept it", "bold red"),
            "changed": (f"WARNING: THE {noun.upper()} HAS CHANGED", "bold white on red"),
        }
        words, style = verdicts.get(report.verdict, (report.verdict, "bold"))
        with Vertical(id="certificate", classes="changed" if report.verdict == "changed" else ""):
            title = f"{noun.capitalize()} of {printable(report.site)}"
            yield Label(Text(title, style="bold"), id="cert-title")
            yield Label(Text(words, style=style), id="cert-verdict")
            with VerticalScroll(id="cert-body"):
                if report.verdict == "changed":
                    with Horizontal(id="cert-compare"):
                        previous = show_fingerprint(report.previous or "", report.kind)
                        yield Static(_box("Trusted before", previous))
                        yield Static(_box("Presented now", report.fingerprint))
                yield Static(self._details(), id="cert-details")
            can_answer = self.ask and report.revocation != "revoked"
            with Horizontal(id="cert-buttons"):
                if can_answer:
                    yield Button("Accept once (o)", id="once", variant="warning", compact=True)
                    yield Button("Always trust (a)", id="always", variant="primary", compact=True)
                    yield Button("Reject (Esc)", id="reject", variant="error", compact=True)
                else:
                    yield Button("Close (Esc)", id="reject", compact=True)

    def _details(self) -> Text:
        report = self.report
        details = report.to_json().get("details")
        rows = list(details.items()) if isinstance(details, dict) else []
        rows.append(("SHA-256", report.fingerprint))
        width = max(len(str(label)) for label, _ in rows)
        text = Text()
        for label, value in rows:
            text.append(f"{printable(str(label)):<{width}}  ", style="dim")
            text.append(printable(str(value)) + "\n")
        for problem in report.all_problems:
            text.append("! " + printable(problem) + "\n", style="red")
        text.rstrip()
        return text

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_decide(event.button.id or "reject")

    def action_decide(self, choice: str) -> None:
        if not self.ask or self.report.revocation == "revoked":
            self.dismiss(TrustDecision.REJECT)
            return
        self.dismiss(TrustDecision(choice))


def _box(title: str, value: str) -> Text:
    text = Text(title + "\n", style="bold")
    text.append(printable(value))
    return text
