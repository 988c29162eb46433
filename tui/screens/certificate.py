"""Provides CertificateScreen: the certificate viewer, and the trust decision when one is asked.

Every value shown comes from the server and is escaped (``printable``) into ``Text``; none is
ever parsed as markup.
"""

from __future__ import annotations

from cryptography import x509
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.remote.tls import fingerprint
from tui.screens.quiet import QuietScreen
from tui.screens.viewer_body import ScrollingBody, scroll_bindings
from tui.textsafe import printable
from tui.trust.certificate import CertificateReport, Section, alt_names, name_fields, short_name
from tui.trust.policy import TrustDecision
from tui.trust.x509 import cannot_save

VERDICT_TEXT = {
    "trusted-ca": ("Trusted: verified by a certificate authority", "green"),
    "trusted-store": ("Trusted: you accepted this certificate before", "green"),
    "untrusted": ("NOT TRUSTED: check it before you accept it", "bold red"),
    "changed": ("WARNING: THE CERTIFICATE HAS CHANGED", "bold white on red"),
}


def section_text(section: Section) -> Text:
    """One section: each field on its own line, ``Invalid`` against the first field when
    the section fails. Its problems are shown under it by ``problem_text``."""
    text = Text()
    text.append(section.title + "\n", style="bold underline")
    width = max(len(label) for label, _ in section.fields)
    for index, (label, value) in enumerate(section.fields):
        if index == 0 and not section.valid:
            text.append("Invalid ", style="bold red")
        else:
            text.append("        ")
        text.append(f"{label:<{width}}  ", style="dim")
        text.append(printable(value) + "\n")
    text.rstrip()
    return text


def problem_text(problem: str) -> Text:
    """One problem of a section, in its own widget: indented under the field labels, and a
    long one wraps under itself, not back at the dialog's edge."""
    return Text("! " + printable(problem), style="red")


def halves(fingerprint_text: str, indent: int) -> str:
    """A SHA-256 fingerprint as two lines of 16 pairs (the second indented): fits 80
    columns, reads aloud, and never leaves a pair, or one character, wrapped alone."""
    pairs = fingerprint_text.split(":")
    if len(pairs) <= 16:
        return fingerprint_text
    return ":".join(pairs[:16]) + ":\n" + " " * indent + ":".join(pairs[16:])


def details_text(report: CertificateReport) -> Text:
    text = Text()
    for problem in report.problems:  # faults no section explains: no section label
        text.append("Invalid certificate: ", style="bold red")
        text.append(printable(problem) + "\n", style="red")
    if report.problems:
        text.append("\n")
    state = report.revocation
    style = {"good": "green", "revoked": "bold red", "unknown": "yellow"}.get(state, "dim")
    text.append("Revocation  ", style="bold")
    text.append(state, style=style)
    if report.revocation_detail:
        text.append(f"  ({printable(report.revocation_detail)})", style="dim")
    text.append("\nSHA-256     ", style="bold")
    text.append(halves(report.sha256, 12) + "\n")
    text.append("SHA-1       ", style="bold")
    text.append(report.sha1 + "\n")
    text.append("Serial      ", style="bold")
    text.append(report.serial + "\n")
    text.append("Key         ", style="bold")
    text.append(f"{report.public_key}, signed with {report.signature_algorithm}\n")
    text.append("Session     ", style="bold")
    text.append(f"{report.tls_version}, {report.cipher}")
    return text


def link_text(der: bytes) -> Text:
    """One certificate of the chain, for the chain picker."""
    cert = x509.load_der_x509_certificate(der)
    text = Text()
    for label, value in name_fields(cert.subject):
        text.append(f"{label:<13}", style="dim")
        text.append(printable(value) + "\n")
    names = alt_names(cert)
    if names:
        text.append(f"{'Alt. names':<13}", style="dim")
        text.append(printable(", ".join(names)) + "\n")
    text.append(f"{'Issued by':<13}", style="dim")
    text.append(printable(short_name(cert.issuer)) + "\n")
    text.append(f"{'Valid':<13}", style="dim")
    text.append(f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}\n")
    text.append(f"{'SHA-256':<13}", style="dim")
    text.append(halves(fingerprint(der), 13))
    return text


class CertificateScreen(QuietScreen, ScrollingBody, ModalScreen[TrustDecision]):
    """Shows a CertificateReport; with ``ask=True`` returns the user's trust decision."""

    # Reject (Close when only viewing) has the focus: a stray Enter never accepts.
    AUTO_FOCUS = "#reject"

    BINDINGS = [
        Binding("escape", "decide('reject')", "Reject / close", id="cert.reject"),
        *scroll_bindings("cert"),  # the body scrolls at once, whatever has the focus
        Binding("o", "decide('once')", "Accept once", id="cert.once"),
        Binding("a", "decide('always')", "Always trust", id="cert.always"),
    ]

    def __init__(self, report: CertificateReport, *, ask: bool = True) -> None:
        super().__init__()
        self.report = report
        self.ask = ask

    @property
    def can_always(self) -> bool:
        """Whether "Always trust" is offered: not for a revoked certificate, nor for one
        outside its dates (accepted for this session only; the policy enforces it too)."""
        return cannot_save(self.report) is None

    def compose(self) -> ComposeResult:
        report = self.report
        words, style = VERDICT_TEXT[report.verdict]
        classes = "changed" if report.verdict == "changed" else ""
        with Vertical(id="certificate", classes=classes):
            title = Text(f"Certificate of {printable(report.site)}", style="bold")
            yield Label(title, id="cert-title")
            yield Label(Text(words, style=style), id="cert-verdict")
            with VerticalScroll(id="cert-body"):
                if report.verdict == "changed":
                    with Horizontal(id="cert-compare"):
                        yield Static(self._fingerprint_box("Trusted before", report.previous or ""))
                        yield Static(self._fingerprint_box("Presented now", report.sha256))
                for section in report.sections:
                    with Vertical(classes="cert-section"):
                        yield Static(section_text(section))
                        for problem in section.problems:
                            yield Static(problem_text(problem), classes="cert-problem")
                yield Static(details_text(report), id="cert-details")
                yield Label(Text("Chain (pick one to see it)", style="bold"))
                yield OptionList(
                    *[
                        Option(Text(f"{n}. {printable(link.subject)}"), id=str(n - 1))
                        for n, link in enumerate(report.chain, 1)
                    ],
                    id="cert-chain",
                )
                yield Static(link_text(report.chain[0].der), id="cert-link")
            if self.ask and report.revocation != "revoked" and not self.can_always:
                # Said in words, not by a missing button alone (and readable without colour).
                yield Static(
                    Text(f'"Always trust" is not offered: the certificate is {_dates(report)}. '
                         "It can be accepted for this session only.", style="bold"),
                    id="cert-once-only",
                )  # fmt: skip
            with Horizontal(id="cert-buttons"):
                if self.ask and report.revocation != "revoked":
                    yield Button("Accept once (o)", id="once", variant="warning", compact=True)
                    if self.can_always:
                        yield Button("Always trust (a)", id="always", variant="primary",
                                     compact=True)  # fmt: skip
                    yield Button("Reject (Esc)", id="reject", variant="error", compact=True)
                else:
                    yield Button("Close (Esc)", id="reject", compact=True)

    @staticmethod
    def _fingerprint_box(title: str, value: str) -> Text:
        text = Text(title + "\n", style="bold")
        pairs = value.split(":")
        for start in range(0, len(pairs), 8):
            text.append(":".join(pairs[start : start + 8]) + "\n")
        text.rstrip()
        return text

    @on(OptionList.OptionHighlighted, "#cert-chain")
    def _show_link(self, event: OptionList.OptionHighlighted) -> None:
        index = int(event.option.id or 0)
        self.query_one("#cert-link", Static).update(link_text(self.report.chain[index].der))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_decide(event.button.id or "reject")

    def action_decide(self, choice: str) -> None:
        if not self.ask or self.report.revocation == "revoked":
            self.dismiss(TrustDecision.REJECT)
            return
        if choice == "always" and not self.can_always:
            self.notify("This certificate can be accepted for this session only (o).",
                        severity="warning", markup=False)  # fmt: skip
            return
        self.dismiss(TrustDecision(choice))


def _dates(report: CertificateReport) -> str:
    return "not yet valid" if "not yet valid" in (cannot_save(report) or "") else "expired"
