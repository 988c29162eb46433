"""Provides ConnectScreen: a URL field and the site manager (saved sites in ``sites.toml``).

Passwords are never written to disk: typed here for this connection, or asked when needed.
"""

from __future__ import annotations

import dataclasses

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from tui import keychain
from tui.errors import FerrymanError, as_ferryman_error
from tui.screens.quiet import QuietScreen
from tui.sites import Site, load_sites, parse_url, save_sites
from tui.textsafe import printable
from tui.widgets.tick_box import TickBox

PROTOCOLS = [("FTP (insecure)", "none"), ("Explicit FTPS", "explicit"),
             ("Implicit FTPS", "implicit"), ("FTP, TLS if offered", "auto"),
             ("SFTP (over ssh)", "sftp")]  # fmt: skip
"""The protocol choices: FTP's TLS modes, and SFTP (another backend, chosen by scheme)."""


class ConnectScreen(QuietScreen, ModalScreen[Site | None]):
    """Returns the Site to connect to (with the password typed, if any), or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="connect.cancel"),
        Binding("ctrl+s", "save", "Save site", id="connect.save"),
    ]

    def __init__(self, url: str = "") -> None:
        super().__init__()
        self.initial_url = url
        self.sites: list[Site] = []
        self.problem = ""

    def compose(self) -> ComposeResult:
        try:
            self.sites = load_sites()
        except FerrymanError as error:
            self.problem = str(error)
        with Vertical(id="connect", classes="dialog"):
            yield Label(Text("Connect to a server", style="bold"))
            with Horizontal(id="connect-body"):
                yield OptionList(
                    *[
                        Option(Text(printable(site.name or site.key)), id=str(n))
                        for n, site in enumerate(self.sites)
                    ],  # fmt: skip
                    id="saved-sites",
                )
                with Vertical(id="connect-form"):
                    yield self._row(
                        "URL",
                        Input(
                            self.initial_url,
                            id="url",
                            compact=True,
                            placeholder="ftpes://user@host/path",
                        ),
                    )
                    yield self._row("Name", Input(id="name", compact=True, placeholder="to save"))
                    yield self._row("User", Input(id="user", compact=True))
                    yield self._row("Password", Input(id="password", password=True, compact=True))
                    yield self._row(
                        "Protocol",
                        Select(
                            PROTOCOLS,
                            id="protocol",
                            compact=True,
                            allow_blank=True,
                            prompt="from the URL",
                        ),
                    )
                    yield self._row("Charset", Input("utf-8", id="charset", compact=True))
                    yield self._row("Start dir", Input(id="start", compact=True))
                    yield TickBox("Passive mode", True, id="passive", compact=True)
                    # Shown once a keyring is found: finding one takes keyring ~0.1 s,
                    # which the dialog does not wait for (see _find_keyring).
                    remember = TickBox("Remember the password in the system keyring", False,
                                        id="remember", compact=True)  # fmt: skip
                    remember.display = False
                    yield remember
            yield Label(Text(self.problem, style="red"), id="connect-problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Connect", id="go", variant="primary", compact=True)
                yield Button("Save", id="save", compact=True)
                yield Button("Delete", id="delete", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    @staticmethod
    def _row(label: str, field: Input | Select[str]) -> Horizontal:
        return Horizontal(Label(label, classes="form-label"), field, classes="form-row")

    def on_mount(self) -> None:
        self.query_one("#url", Input).focus()
        # Once the dialog is on screen: importing keyring holds the interpreter for ~0.1 s,
        # which would otherwise delay the dialog's first frame as much.
        self.call_after_refresh(self._find_keyring)

    @work(thread=True, exit_on_error=False, group="keyring")
    def _find_keyring(self) -> bool:
        return keychain.available()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """The screen's one road out of its workers: the keyring found (or not), or any
        failure said in words (the password is then simply not remembered)."""
        if event.state is WorkerState.SUCCESS and event.worker.result:
            self.query_one("#remember", Checkbox).display = True
        elif event.state is WorkerState.ERROR:
            error = as_ferryman_error(event.worker.error)
            self.notify(f"The system keyring cannot be used: {printable(str(error))}",
                        severity="warning", markup=False)  # fmt: skip

    # --- saved sites -------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#saved-sites")
    @on(OptionList.OptionHighlighted, "#saved-sites")
    def _pick(self, event: OptionList.OptionSelected | OptionList.OptionHighlighted) -> None:
        site = self.sites[int(event.option.id or 0)]
        self.query_one("#url", Input).value = site.url(path="")
        self.query_one("#name", Input).value = site.name or ""
        self.query_one("#user", Input).value = site.user or ""
        self.query_one("#protocol", Select).value = "sftp" if site.protocol == "sftp" else site.tls
        self.query_one("#charset", Input).value = site.encoding
        self.query_one("#start", Input).value = site.path
        self.query_one("#passive", Checkbox).value = site.passive
        if isinstance(event, OptionList.OptionSelected):
            self.query_one("#password", Input).focus()

    def _site(self) -> Site:
        """The form as a Site. Raises UsageError for a bad URL."""
        url = self.query_one("#url", Input).value.strip()
        if url and "://" not in url:
            url = "ftpes://" + url  # a bare host: encrypted by default
        protocol = self.query_one("#protocol", Select).value
        site = parse_url(_with_scheme(url, protocol if isinstance(protocol, str) else None))
        user = self.query_one("#user", Input).value.strip()
        password = self.query_one("#password", Input).value
        start = self.query_one("#start", Input).value.strip()
        return dataclasses.replace(
            site,
            options=site.options if site.protocol != "ftp" else {
                **site.options,
                "tls": protocol if isinstance(protocol, str) else site.tls,
                "passive": self.query_one("#passive", Checkbox).value,
            },
            user=user or site.user,
            password=password or site.password,
            path=start or site.path,
            encoding=self.query_one("#charset", Input).value.strip() or "utf-8",
            name=self.query_one("#name", Input).value.strip() or None,
        )

    def _say(self, problem: str) -> None:
        self.query_one("#connect-problem", Label).update(Text(problem, style="red"))

    # --- actions -----------------------------------------------------------------------

    @on(Input.Submitted)
    @on(Button.Pressed, "#go")
    def _connect(self) -> None:
        try:
            site = self._site()
        except FerrymanError as error:
            self._say(str(error))
            return
        self.dismiss(site)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        try:
            site = dataclasses.replace(self._site(), password=None)
        except FerrymanError as error:
            self._say(str(error))
            return
        site.name = site.name or site.key
        self.sites = [s for s in self.sites if s.name != site.name] + [site]
        done = f"Saved {site.name} (without its password)"
        password = self.query_one("#password", Input).value
        remember = self.query_one("#remember", Checkbox)
        if remember.display and remember.value and password and site.user:
            kept = keychain.store(site.user, site.key, password)
            done = f"Saved {site.name}; " + (
                "its password is in the system keyring" if kept else
                "the keyring refused the password: it will be asked for"
            )  # fmt: skip
        self._store(done)

    @on(Button.Pressed, "#delete")
    def _delete(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        self.sites = [s for s in self.sites if s.name != name]
        self._store(f"Deleted {name}")

    def _store(self, done: str) -> None:
        try:
            save_sites(self.sites)
        except OSError as error:
            self._say(f"Cannot save the sites: {error}")
            return
        listing = self.query_one("#saved-sites", OptionList)
        listing.clear_options()
        listing.add_options(
            [Option(Text(printable(s.name or s.key)), id=str(n)) for n, s in enumerate(self.sites)]
        )
        self.query_one("#connect-problem", Label).update(Text(done, style="green"))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def _with_scheme(url: str, choice: str | None) -> str:
    """The URL with the scheme the protocol choice needs: ``sftp://`` for SFTP, ``ftp://``
    for an FTP choice made on an ``sftp://`` URL (the TLS mode is the choice's); unchanged
    when the choice is "from the URL" or already agrees with it."""
    scheme, sep, rest = url.partition("://")
    if not sep or choice is None:
        return url
    if choice == "sftp" and scheme.lower() != "sftp":
        return "sftp://" + rest
    if choice != "sftp" and scheme.lower() == "sftp":
        return "ftp://" + rest
    return url
