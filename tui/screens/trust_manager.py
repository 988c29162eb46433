"""Provides TrustManagerScreen: the certificates you trust, per site; show or forget them."""

from __future__ import annotations

import ssl

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from tui.errors import FerrymanError
from tui.identity import show_fingerprint
from tui.remote.tls import PeerCertificate, TLSCheck
from tui.screens.certificate import CertificateScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.quiet import QuietScreen
from tui.textsafe import printable
from tui.trust.kinds import IdentityReport
from tui.trust.store import Pin, TrustedCertificate, TrustStore
from tui.trust.verify import build_report, trust_anchors
from tui.widgets.key_bar import KeyBar


class TrustManagerScreen(QuietScreen, ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="trust.close"),
        Binding("enter,v", "show", "Show", id="trust.show"),
        Binding("d,delete,f8", "forget", "Forget", id="trust.forget"),
    ]

    def __init__(self, store: TrustStore) -> None:
        super().__init__()
        self.store = store
        # A damaged record is a row without a certificate: shown, never trusted, forgettable.
        self.rows: list[tuple[str, Pin | None]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog trust-dialog"):
            yield Label(Text("Trusted certificates", style="bold"))
            yield DataTable(cursor_type="row", id="trusted")
            yield Label("", id="trust-problem")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Site", "Subject", "Valid until", "SHA-256")
        self._fill()
        table.focus()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        try:
            sites = self.store.sites()
        except FerrymanError as error:
            self.query_one("#trust-problem", Label).update(Text(printable(str(error)), style="red"))
            return
        self.rows = []
        for site, record in sorted(sites.items()):
            if record.damaged is not None:
                self.rows.append((site, None))
                damaged = Text("DAMAGED record: not trusted", style="bold red")
                table.add_row(_cell(site), damaged, "", _cell(record.damaged[:40]))
            for entry in record.pins:
                self.rows.append((site, entry))
                until = (Text("EXPIRED", style="bold red") if entry.expired
                         else _cell(entry.not_after[:10]))  # fmt: skip
                shown = show_fingerprint(entry.sha256, entry.kind)
                table.add_row(_cell(site), _cell(entry.label), until,
                              _cell(shown[:23] + "…"))  # fmt: skip
        if not self.rows:
            self.query_one("#trust-problem", Label).update(
                Text("No trusted certificates yet.", style="dim")
            )

    def _current(self) -> tuple[str, Pin | None] | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowSelected)
    def action_show(self) -> None:
        current = self._current()
        if current is None:
            return
        site, entry = current
        if entry is None:
            message = f"The record of {printable(site)} in {self.store.path} is damaged; forget it"
            self.notify(message + " (d) or fix the file.", severity="warning", markup=False)
            return
        if not isinstance(entry, TrustedCertificate):  # another kind: its details as saved
            from tui.screens.identity import trust_viewer

            host = site.rsplit(":", 1)[0].strip("[]")
            fields = list(entry.details.items())
            shown = IdentityReport(site, host, entry.kind, entry.sha256, fields)
            shown.verdict = "trusted-store"
            self.app.push_screen(trust_viewer(shown, ask=False))
            return
        try:
            der = ssl.PEM_cert_to_DER_cert(entry.pem)
        except ValueError:
            self.notify("No certificate was saved with this entry.", severity="warning")
            return
        host = site.rsplit(":", 1)[0].strip("[]")
        check = TLSCheck(site=site, host=host, peer=PeerCertificate((der,), "", ""), verified=False)
        report = build_report(check, trust_anchors())
        report.verdict = "trusted-store"
        self.app.push_screen(CertificateScreen(report, ask=False))

    def action_forget(self) -> None:
        current = self._current()
        if current is None:
            return
        site, entry = current

        def forget(yes: bool | None) -> None:
            if yes:
                self.store.forget(site, entry.sha256 if entry is not None else None)
                self._fill()

        what = printable(entry.label) if entry is not None else "the damaged record"
        question = Text(f"Stop trusting {what} for {printable(site)}?")
        self.app.push_screen(ConfirmScreen(question, yes="Forget", danger=True), forget)


def _cell(value: str) -> Text:
    """A table cell from the file or a server: escaped, and a ``Text`` because DataTable
    reads a plain string as markup (a subject with ``[link=…]`` would become a link)."""
    return Text(printable(value))
