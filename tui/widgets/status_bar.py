"""Provides StatusBar: the site, whether the connection is encrypted, and what is running."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.textsafe import printable


class StatusBar(Static):
    """The site and its security badge, then what is running. The badge shows TLS only for
    a session that is open and encrypted: an empty ``security`` is never drawn as TLS."""

    site: reactive[str] = reactive("")
    security: reactive[str] = reactive("")  # "TLSv1.3", "insecure", or "" (not connected)
    activity: reactive[str] = reactive("idle")

    def render(self) -> Text:
        text = Text()
        if not self.site:
            text.append("not connected", style="dim")
        else:
            text.append(printable(self.site), style="bold")
            text.append("  ")
            if self.security == "insecure":
                text.append(" INSECURE: plain FTP ", style="bold white on red")
            elif self.security.startswith("TLS"):
                text.append(
                    f" TLS {self.security.removeprefix('TLSv')} ", style="bold black on green"
                )
            else:  # no session (lost, or not yet made): no badge vouches for anything
                text.append(" no connection ", style="reverse")
        if self.activity:
            text.append("  │  ", style="dim")
            text.append(printable(self.activity))
        return text
