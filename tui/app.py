"""Provides FerrymanApp: the full-screen app. Services in, screens pushed, global keys.

The core never calls the UI; the app gives the ConnectionService two callbacks that the core
calls from worker threads (the trust prompt and the password prompt). Each shows a modal and
blocks that worker until the user answers.

Quitting with transfers in flight asks first; what is unfinished is kept in the data dir
(``tui.transfer.persist``) and offered again when the app next connects to that site.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, TypeVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.message import Message
from textual.screen import Screen

from tui.config import Config, load_config
from tui.errors import CertificateNotTrusted
from tui.screens.confirm import ConfirmScreen, ConflictScreen, InputScreen
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.screens.quiet import QuietCommandPalette
from tui.sites import Site
from tui.textsafe import printable
from tui.transfer import persist
from tui.transfer.queue import FINISHED, Conflict, Direction, Job, TransferQueue
from tui.transfer.ratelimit import RateLimit
from tui.widgets.log_panel import LogPanel
from tui.widgets.transfer_panel import TransferPanel

if TYPE_CHECKING:
    from tui.connection import ConnectionService
    from tui.transfer.engine import TransferEngine
    from tui.trust.kinds import Report
    from tui.trust.policy import TrustDecision
    from tui.trust.store import TrustStore

Answer = TypeVar("Answer")


class LogLine(Message):
    """A protocol line from any thread (``post_message`` is thread-safe)."""

    def __init__(self, direction: str, line: str) -> None:
        super().__init__()
        self.direction = direction
        self.line = line


class TransferChanged(Message):
    """Jobs changed (in engine threads, or by the user). One is posted for a burst of
    changes (a tree's 100,000 files join the queue at once), and the main screen catches
    up with the queue once."""


class FerrymanApp(App[None]):
    TITLE = "Ferryman"
    CSS_PATH = "styles/app.tcss"
    BINDINGS = [
        Binding("f10,ctrl+q", "quit", "Quit", id="app.quit", tooltip="Quit Ferryman"),
        Binding("f1,question_mark", "help", "Help", id="app.help", tooltip="All keys"),
    ]

    def __init__(
        self,
        *,
        url: str | None = None,
        local_path: str | None = None,
        store: TrustStore | None = None,
        ca_file: str | None = None,
        config: Config | None = None,
        check_revocation: bool = True,
    ) -> None:
        super().__init__()
        self.settings = config or load_config()
        self.url = url
        self.local_path = os.path.abspath(local_path or os.getcwd())
        self.closing = threading.Event()
        self._changes = threading.Lock()  # guards the two flags below
        self._change_posted = False  # a TransferChanged is waiting to be handled
        self._finished_since = False  # a job finished since the last one was handled
        self.transfers = TransferQueue(on_change=self._transfer_changed)
        # One rate cap for every transfer (issue 23): [transfers] limit_rate, or the site's;
        # the transfer panel's key changes it while they run (then it is the user's).
        self.rate_limit = RateLimit(self.settings.limit_rate)
        self.rate_chosen = False
        self._engine: tuple[str, TransferEngine] | None = None
        self._service_options = {"store": store, "ca_file": ca_file or self.settings.ca_file,
                                 "check_revocation": check_revocation}  # fmt: skip
        self._service: ConnectionService | None = None
        self._rejected: set[str] = set()  # fingerprints the user rejected in the viewer
        self.unfinished_path = persist.default_path()
        self._site: Site | None = None  # the site the queue's jobs are for

    @property
    def service(self) -> ConnectionService:
        """The connection service, made on first use: it brings cryptography and the FTP
        stack, which the first screen does not need (the app draws sooner without them)."""
        if self._service is None:
            from tui.connection import ConnectionService

            self._service = ConnectionService(
                prompt=self.ask_trust,
                password_prompt=self.ask_password,
                ask=self.ask_transport,
                log=self._protocol_log,
                **self._service_options,  # type: ignore[arg-type]
            )
        return self._service

    def get_default_screen(self) -> Screen:
        # The first screen, drawn as soon as the app runs. Pushed from on_mount instead, it
        # was laid out once inside the app's start-up batch (drawn nowhere) and then again.
        return MainScreen(local_path=self.local_path, url=self.url)

    def on_mount(self) -> None:
        if self.settings.keys:
            self.set_keymap(self.settings.keys)

    def on_unmount(self) -> None:
        self.closing.set()  # releases workers waiting for an answer
        if self._engine is not None:
            # Paused, not cancelled: a cancel removes partial files, and a quit keeps them
            # for the next start to resume (cancelling raced the next run's resume).
            self._engine[1].halt()

    # --- transfers -------------------------------------------------------------------------

    def enqueue(self, site: Site, jobs: list[Job]) -> None:
        """Queue transfers for the connected site; its engine (``[transfers]`` in the config:
        two sessions by default) takes them."""
        if self._engine is None or self._engine[0] != site.key:
            if self._engine is not None:
                self._engine[1].stop()  # the previous site's jobs are cancelled
            from tui.transfer.engine import TransferEngine

            if not self.rate_chosen:
                self.rate_limit.set_rate(site.limit_rate or self.settings.limit_rate)
            engine = TransferEngine(
                self.transfers,
                lambda: self.service.open(site),
                slots=self.settings.sessions,
                conflict=Conflict.ASK,
                prompt=self.ask_conflict,
                persistent=True,
                segments=self.settings.segments,
                limit=self.rate_limit,
            )
            self._engine = (site.key, engine.start())
        self._site = site
        self.transfers.add(jobs)

    def unfinished(self) -> list[Job]:
        return [job for job in self.transfers.jobs() if job.state not in FINISHED]

    async def action_quit(self) -> None:
        """F10: at once when nothing is in flight; else ask, and keep what is unfinished
        for the next start."""
        left = [job for job in self.unfinished() if not job.is_dir]
        if not left or self._site is None:
            self.exit()
            return
        site = self._site

        def answered(yes: bool | None) -> None:
            if yes:
                persist.save(self.unfinished_path, site.key, site.url(), self.unfinished())
                self.exit()

        question = (f"{len(left)} transfer(s) not finished. Quit anyway? They are offered "
                    "again, to resume, when you next connect to this site.")  # fmt: skip
        self.push_screen(ConfirmScreen(question, yes="Quit"), answered)

    def offer_unfinished(self, site: Site) -> None:
        """Connected to ``site``: offer the transfers a quit left unfinished there."""
        record = persist.load(self.unfinished_path)
        if record is None or record.site != site.key:
            return
        files = sum(not job.is_dir for job in record.jobs) or len(record.jobs)

        def answered(yes: bool | None) -> None:
            persist.clear(self.unfinished_path)  # asked once: a no forgets them
            if yes:
                self.enqueue(site, record.jobs)
                for screen in self.screen_stack:
                    if isinstance(screen, MainScreen):
                        screen.show_transfers()

        question = (f"{files} transfer(s) to or from {printable(site.key)} were not finished "
                    "when Ferryman last quit. Resume them now?")  # fmt: skip
        self.push_screen(ConfirmScreen(question, yes="Resume"), answered)

    def ask_conflict(self, job: Job) -> tuple[Conflict, bool]:
        return self._ask(ConflictScreen(job, self._target_entry(job)), (Conflict.SKIP, False))

    def _target_entry(self, job: Job) -> tuple[int | None, float | None]:
        """The existing target's size and time (epoch seconds), for the conflict dialog:
        from the disk for a download, from the remote pane's listing for an upload (called
        from an engine thread: only plain data is read)."""
        if job.direction is Direction.DOWNLOAD:
            try:
                stat = os.stat(job.target)
            except OSError:
                return None, None
            return stat.st_size, stat.st_mtime
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                entry = screen.remote.entry_at(job.target)
                if entry is not None:
                    return entry.size, entry.mtime.timestamp() if entry.mtime else None
        return None, None

    def _transfer_changed(self, job: Job) -> None:
        """Called for every change of every job, from any thread: it only notes the change,
        and posts a message unless one is already waiting."""
        with self._changes:
            self._finished_since |= job.state in FINISHED
            if self._change_posted:
                return
            self._change_posted = True
        self.post_message(TransferChanged())

    def on_transfer_changed(self, message: TransferChanged) -> None:
        with self._changes:
            finished, self._finished_since = self._finished_since, False
            self._change_posted = False  # changes from now on post again
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.transfer_changed(finished)

    # --- answers the core asks for (called in worker threads) ---------------------------

    def _ask(self, screen: Screen[Answer], default: Answer) -> Answer:
        answer: Future[Answer] = Future()
        self.call_from_thread(self.push_screen, screen, answer.set_result)
        while not self.closing.is_set():
            try:
                return answer.result(timeout=0.25)
            except FutureTimeout:
                continue
        return default

    def ask_trust(self, report: Report) -> TrustDecision:
        """The trust prompt: the viewer for the identity's kind (certificate, host key …)."""
        from tui.screens.identity import trust_viewer
        from tui.trust.policy import TrustDecision

        decision = self._ask(trust_viewer(report), TrustDecision.REJECT)
        if decision is TrustDecision.REJECT:
            self._rejected.add(report.sha256)
        return decision

    def rejected(self, error: CertificateNotTrusted) -> bool:
        """Whether the user rejected this certificate in the viewer just now (then the
        refusal needs no second dialog)."""
        fingerprint = getattr(error.certificate, "sha256", None)
        if fingerprint in self._rejected:
            self._rejected.discard(fingerprint)
            return True
        return False

    def ask_password(self, site: Site) -> str | None:
        prompt = f"Password for {printable(site.user or '')}@{printable(site.key)}:"
        return self._ask(InputScreen(prompt, password=True), None)

    def ask_transport(self, prompt: str, echo: bool) -> str | None:
        """A transport's own question (ssh's key passphrase, a one-time code), as a modal:
        never a prompt drawn over the screen by ssh itself."""
        return self._ask(InputScreen(printable(prompt.strip()), password=not echo), None)

    def _protocol_log(self, direction: str, line: str) -> None:
        self.post_message(LogLine(direction, line))

    def log_note(self, text: str) -> None:
        """A line of Ferryman's own in the protocol log (keep-alives, reconnects); any thread."""
        self.post_message(LogLine("*", text))

    def on_log_line(self, message: LogLine) -> None:
        # App.query searches the default screen only; the panel lives on the main screen,
        # which may be under a modal.
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.query_one(LogPanel).add(message.direction, message.line)

    # --- global actions ----------------------------------------------------------------

    def action_command_palette(self) -> None:
        """Textual's command palette, with its cursor steady (QuietScreen) like every
        other screen here."""
        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(QuietCommandPalette(id="--command-palette"))

    def action_help(self) -> None:
        # Ferryman's own keys (ids "main.*", "app.*", and "transfers.*" while the queue has
        # the focus), as currently bound (keymap applied), in the order they are declared;
        # the pane keys are listed by HelpScreen.
        shown: dict[str, tuple[str, str]] = {}
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if binding.id and binding.id.split(".")[0] in ("main", "app", "transfers"):
                keys = shown.get(binding.id, ("", ""))[0]
                key = self.get_key_display(binding)
                shown[binding.id] = (f"{keys} / {key}" if keys else key,
                                     binding.tooltip or binding.description)  # fmt: skip
        declared = [*MainScreen.BINDINGS, *TransferPanel.BINDINGS, *self.BINDINGS]
        order = [b.id for b in declared if isinstance(b, Binding)]
        rows = [shown[i] for i in order if i in shown]
        self.push_screen(HelpScreen(rows))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            for title, help_text, action in [
                ("Connect", "Connect to a server or a saved site", screen.action_connect),
                (
                    "Show certificate",
                    "The current connection's certificate",
                    screen.action_certificate,
                ),
                ("Trusted certificates", "List, show or forget them", screen.action_trust_manager),
                ("Toggle protocol log", "Show or hide the log", screen.action_toggle_log),
                ("Toggle hidden files", "Show or hide dot files", screen.action_toggle_hidden),
                ("Cycle sort order", "Name, size, time", screen.action_cycle_sort),
                ("Reload", "Read the directories again", screen.action_reload),
                ("Switch pane", "Move to the other pane", screen.action_switch_pane),
                ("View file", "F3: show the file under the cursor", screen.action_view),
                ("Edit file", "F4: edit in $EDITOR, upload if changed", screen.action_edit),
                ("Copy", "F5: copy to the other pane", screen.action_copy),
                ("Rename or move", "F6", screen.action_rename),
                ("Make directory", "F7", screen.action_mkdir),
                ("Delete", "F8: delete, after asking", screen.action_delete),
                ("Filter", "/: show only matching names", screen.action_filter),
                ("Compare folders", "=: mark what differs in the panes", screen.action_compare),
                (
                    "Compare folders by checksum",
                    "Equal sizes compared by the server's HASH",
                    lambda: screen.action_compare(checksum=True),
                ),
                (
                    "Synchronize",
                    "y: make the other pane a copy of this one, after a preview",
                    screen.action_sync,
                ),
            ]:
                yield SystemCommand(title, help_text, action)
