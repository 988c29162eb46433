"""Provides StatusBar: the site, whether the connection is encrypted, and what is running."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.remote.base import Security
from tui.textsafe import printable


class StatusBar(Static):
    """The site and its security badge, then what is running. The badge shows TLS only for
    a session that is open and encrypted: an empty ``security`` is never drawn as TLS."""

    site: reactive[str] = reactive("")
    security: reactive[str] = reactive("")  # "TLSv1.3", "insecure", or "" (not connected)
    badge: reactive[str] = reactive("")  # the words on the badge ("TLS 1.3", "plain FTP")
    activity: reactive[str] = reactive("idle")

    def show_security(self, summary: Security) -> None:
        """Show a session's protection, as its backend summarises it (any protocol)."""
        self.badge = summary.badge if summary.encrypted else summary.protocol
        self.security = summary.protocol if summary.encrypted else "insecure"

    def render(self) -> Text:
        text = Text()
        if not self.site:
            text.append("not connected", style="dim")
        else:
            text.append(printable(self.site), style="bold")
            text.append("  ")
            if self.security == "insecure":
                text.append(f" INSECURE: {self.badge or 'plain FTP'} ", style="bold white on red")
            elif self.security:
                badge = self.badge or f"TLS {self.security.removeprefix('TLSv')}"
                text.append(f" {badge} ", style="bold black on green")
            else:  # no session (lost, or not yet made): no badge vouches for anything
                text.append(" no connection ", style="reverse")
        if self.activity:
            text.append("  │  ", style="dim")
            text.append(printable(self.activity))
        return text
