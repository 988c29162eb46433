"""Provides ``ferryman get`` and ``ferryman put`` on the transfer engine.

Paths follow ``cp``: into LOCAL (or the remote path) when it is an existing directory, else
to that name; ``-r`` copies a tree. Progress goes to stderr: one updating line on a
terminal, one plain line per finished file otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import posixpath
import socket
import sys
import threading
import time
from collections.abc import Callable

from tui.errors import EXIT_OK, EXIT_TRANSFER, FerrymanError, RemoteError, UsageError
from tui.remote.base import RemoteFS, check_name, local_child
from tui.sites import Site
from tui.textsafe import printable
from tui.transfer.engine import Conflict, TransferEngine
from tui.transfer.queue import Direction, Job, State, TransferQueue
from tui.transfer.rate import Rate, eta
from tui.transfer.ratelimit import RateLimit, parse_rate
from tui.transfer.segments import DEFAULT_SEGMENTS, SEGMENT_THRESHOLD

CONFLICT_KEYS = {"o": Conflict.OVERWRITE, "n": Conflict.NEWER, "s": Conflict.SKIP,
                 "r": Conflict.RESUME, "m": Conflict.RENAME}  # fmt: skip


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-r", "--recursive", action="store_true", help="copy directories")
    parser.add_argument("-j", "--jobs", type=int, default=2, metavar="N",
                        help="parallel sessions, 1 to 10 (default 2)")  # fmt: skip
    parser.add_argument("--overwrite", default="always",
                        choices=[choice.value for choice in Conflict],
                        help="when the target exists (default: always, as cp does)")  # fmt: skip
    parser.add_argument("--resume", action="store_true",
                        help="continue from partial files left by an interrupted run")  # fmt: skip
    add_limit_rate(parser)
    if parser.prog.endswith(" get"):
        parser.add_argument(
            "--segments", type=int, default=DEFAULT_SEGMENTS, metavar="N",
            help=f"streams for one file of {SEGMENT_THRESHOLD >> 20} MiB or more, 1 to 16 "
                 f"(default {DEFAULT_SEGMENTS}; 1: one stream)")  # fmt: skip


def add_limit_rate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit-rate", metavar="RATE", type=_rate_argument,
                        help="at most RATE bytes a second for all transfers together, as curl "
                             "writes it: 500K, 2M (0: no cap; default: the saved site's "
                             "limit_rate, else [transfers] limit_rate in config.toml)")  # fmt: skip


def _rate_argument(text: str) -> int:
    """``--limit-rate``'s value in bytes a second, 0 for none; checked while parsing, so a
    bad one is a usage error before anything connects."""
    try:
        return parse_rate(text) or 0
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def rate_limit(args: argparse.Namespace, site: Site) -> RateLimit | None:
    """The batch's one rate cap: ``--limit-rate``, else the saved site's (same host:port),
    else ``[transfers] limit_rate``; ``None`` when there is none (then it costs nothing).

    Raises:
        ConfigError: a saved setting is not a rate.
    """
    if args.limit_rate is not None:
        rate = args.limit_rate
    else:
        from tui.config import load_config
        from tui.sites import load_sites

        saved = next((s.limit_rate for s in load_sites() if s.key == site.key and s.limit_rate),
                     None)  # fmt: skip
        rate = saved or load_config().limit_rate
    return RateLimit(rate) if rate else None


def run(fs: RemoteFS, site: Site, args: argparse.Namespace, open_session) -> int:  # type: ignore[no-untyped-def]
    if not 1 <= args.jobs <= 10:
        raise UsageError("-j takes 1 to 10 sessions")
    segments = getattr(args, "segments", 1)
    if not 1 <= segments <= 16:
        raise UsageError("--segments takes 1 to 16 streams")
    job = _get_job(fs, site, args) if args.command == "get" else _put_job(fs, site, args)
    conflict = Conflict(args.overwrite)
    if args.resume and conflict is Conflict.OVERWRITE:
        conflict = Conflict.RESUME
    sessions = Sessions(fs, open_session)  # the session already open serves the first slot
    display = Display(args.command)
    queue = TransferQueue(on_change=display.changed)
    queue.add([job])
    engine = TransferEngine(
        queue,
        sessions,
        slots=args.jobs,
        conflict=conflict,
        prompt=_ask if sys.stdin.isatty() and sys.stderr.isatty() else None,
        progress=display.moved,
        resume_partials=args.resume,
        segments=segments,
        limit=rate_limit(args, site),
    )
    jobs = run_engine(engine, sessions, display)
    display.finish(jobs)
    failed = [j for j in jobs if j.state is State.FAILED]
    return EXIT_TRANSFER if failed else EXIT_OK


class Sessions:
    """The engine's session factory: the session already open first, then new ones. It
    remembers each, so that an interrupt can shut them all down at once."""

    def __init__(self, first: RemoteFS | None, open_session: Callable[[], RemoteFS]) -> None:
        self._spare = [first] if first is not None else []
        self._open = open_session
        self._given: list[RemoteFS] = []
        self._lock = threading.Lock()
        self._down = False

    def __call__(self) -> RemoteFS:
        with self._lock:
            if self._spare:
                session = self._spare.pop()
                self._given.append(session)
                return session
        session = self._open()
        with self._lock:
            self._given.append(session)
            down = self._down
        if down:  # opened while Ctrl+C was being handled: it must not start a transfer
            _shut(session)
        return session

    def shut_down(self) -> None:
        """Shut every session's control socket down: whatever waits on it (a reply, a
        QUIT at the end) returns at once instead of after the timeout. A server busy with a
        transfer does not read its control connection (vsftpd): a polite QUIT there waited
        three seconds for an answer that could not come."""
        with self._lock:
            self._down = True
            given = list(self._given)
        for session in given:
            _shut(session)


def _shut(session: RemoteFS) -> None:
    """Shut an FTP session's control socket down (reads on it return at once)."""
    try:
        sock = getattr(session, "control", None)  # an FTP session's Control
        sock = getattr(sock, "sock", None)
    except FerrymanError:
        return  # already disconnected
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


INTERRUPT_GRACE = 0.2
"""Seconds the transfers get, after Ctrl+C, to stop at a clean point and keep their partial
files (they check between blocks); a read that is still blocked is not waited for."""


def run_engine(engine: TransferEngine, sessions: Sessions, display: Display) -> list[Job]:
    """Run the engine to the end; on Ctrl+C stop it at once and re-raise.

    The jobs are paused, not cancelled, so partial files stay for ``--resume``; the progress
    line stops being drawn, so the message that follows stands on a line of its own.
    """
    engine.start()
    try:
        engine.join()
    except KeyboardInterrupt:
        display.silence()
        engine.queue.pause()
        sessions.shut_down()
        deadline = time.monotonic() + INTERRUPT_GRACE
        for thread in threading.enumerate():
            if thread.name.startswith(("transfer-", "segment")):
                thread.join(max(0.0, deadline - time.monotonic()))
        raise
    return engine.queue.jobs()


def _get_job(fs: RemoteFS, site: Site, args: argparse.Namespace) -> Job:
    source = fs.resolve(site.path)
    name = posixpath.basename(source.rstrip("/")) or site.host
    check_name(name)
    target = local_child(args.local, name) if os.path.isdir(args.local) else args.local
    # A trailing "/" (or no path: the login folder) means a folder, whatever the server
    # says: some answer SIZE for a folder, which made it look like a file (stat falls back
    # to SIZE where there is no MLST).
    if site.path == "" or site.path.endswith("/"):
        if not args.recursive:
            raise UsageError(f"{source} is a folder (use -r to copy it)")
        return Job(Direction.DOWNLOAD, source, target, is_dir=True)
    entry = fs.stat(source)
    if entry.is_dir and not args.recursive:
        raise UsageError(f"{source} is a folder (use -r to copy it)")
    return Job(Direction.DOWNLOAD, source, target, is_dir=entry.is_dir, size=entry.size,
               mtime=entry.mtime)  # fmt: skip


def _put_job(fs: RemoteFS, site: Site, args: argparse.Namespace) -> Job:
    local = args.local
    if not os.path.exists(local):
        raise UsageError(f"No such file or directory: {local}")
    target = fs.resolve(site.path)
    if site.path == "" or site.path.endswith("/") or _is_remote_dir(fs, target):
        target = posixpath.join(target, os.path.basename(os.path.normpath(local)))
    folder = os.path.isdir(local)
    if folder and not args.recursive:
        raise UsageError(f"{local} is a directory (use -r to copy it)")
    return Job(Direction.UPLOAD, local, target, is_dir=folder,
               size=None if folder else os.path.getsize(local))  # fmt: skip


def _is_remote_dir(fs: RemoteFS, path: str) -> bool:
    try:
        return fs.stat(path).is_dir
    except RemoteError:
        return False


def _ask(job: Job) -> tuple[Conflict, bool]:
    """On a terminal: what to do with an existing target; a capital letter answers for all."""
    question = (f"{printable(job.target)} exists: [o]verwrite, [n]ewer only, [s]kip, "
                "[r]esume, rena[m]e (capital: all)? ")  # fmt: skip
    while True:
        sys.stderr.write(question)
        sys.stderr.flush()
        answer = sys.stdin.readline().strip()
        if not answer:
            return Conflict.SKIP, False
        if answer.lower() in CONFLICT_KEYS:
            return CONFLICT_KEYS[answer.lower()], answer.isupper()


GAVE_UP = (State.SKIPPED, State.FAILED, State.CANCELLED)
"""Jobs whose bytes will not come: left out of the batch's total."""


class Display:
    """Progress on stderr. On a terminal, one line rewritten in place: how much of the whole
    batch has arrived, the speed over the last seconds, the time left and the current file,
    never wider than the terminal (a longer line would wrap, and each update would leave a
    line behind). Otherwise a line per file, for logs."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        self.bytes = 0
        self.last = 0.0
        self.rate = Rate()
        # The batch's total, kept as jobs come and go rather than summed over every job at
        # each update (18 ms a time with 100,000 files, under the lock the transfers take).
        self.sizes: dict[int, int] = {}  # each file of known size still expected -> its size
        self.total = 0  # their sizes
        self.done = 0  # bytes they have moved
        self.lock = threading.Lock()

    silent = False  # after Ctrl+C: nothing more is drawn over the message that follows

    def silence(self) -> None:
        with self.lock:
            self.silent = True

    def moved(self, job: Job, count: int) -> None:
        with self.lock:
            self.bytes += count
            if job.id in self.sizes:
                self.done += count
            now = time.monotonic()
            speed = self.rate.update(now, self.bytes)
            if self.tty and now - self.last >= 0.1 and not self.silent:
                self.last = now
                sys.stderr.write("\r" + self._progress(job, speed).ljust(self._width()))
                sys.stderr.flush()

    def _progress(self, job: Job, speed: float) -> str:
        total, done = self.total, min(self.done, self.total)  # a restarted file moves twice
        if total:
            parts = [f"{self.verb}: {100 * done // total:3d}%", f"{done / 1e6:.1f} of "
                     f"{total / 1e6:.1f} MB"]  # fmt: skip
        else:
            parts = [f"{self.verb}:", f"{self.bytes / 1e6:.1f} MB"]
        if speed:
            parts.append(f"{speed / 1e6:.1f} MB/s")
            if total and (left := eta((total - done) / speed)):
                parts.append(f"ETA {left}")
        parts.append(printable(job.name))
        return "  ".join(parts)[: self._width()]

    def _width(self) -> int:
        """Columns the line may take: the terminal's, less one (a full row wraps on some
        terminals)."""
        try:
            columns = os.get_terminal_size(sys.stderr.fileno()).columns
        except (OSError, ValueError):
            columns = 80
        return max(20, columns - 1)

    def changed(self, job: Job) -> None:
        if job.is_dir and job.state is State.DONE and not job.reason:
            return
        with self.lock:
            self._count(job)
            if job.state is State.FAILED:
                self._line(f"ferryman: failed {printable(job.source)}: {printable(job.reason)}")
            elif job.state is State.DONE and job.reason and not job.is_dir:
                self._line(f"ferryman: {printable(job.source)}: {printable(job.reason)}")
            elif job.state is State.SKIPPED or (job.state is State.DONE and job.reason):
                self._line(f"ferryman: skipped {printable(job.source)}: {printable(job.reason)}")
            elif job.state is State.DONE and not self.tty:
                self._line(f"{self.verb}: {printable(job.target)}")

    def _count(self, job: Job) -> None:
        """A file of known size joins the total when first seen, and leaves it with what
        it moved when it gives up (skipped, failed, cancelled): its bytes will not come."""
        if job.is_dir or not job.size:
            return
        if job.state in GAVE_UP:
            size = self.sizes.pop(job.id, None)
            if size is not None:
                self.total -= size
                self.done -= min(job.done, size)
        elif job.id not in self.sizes and job.state is State.QUEUED:
            self.sizes[job.id] = job.size
            self.total += job.size

    def _line(self, text: str) -> None:
        if self.silent:
            return
        if self.tty:
            sys.stderr.write("\r" + " " * self._width() + "\r")
        print(text, file=sys.stderr, flush=True)

    def finish(self, jobs: list[Job]) -> None:
        files = [j for j in jobs if not j.is_dir and j.state is State.DONE]
        seconds = time.monotonic() - self.started
        if self.tty:
            rate = self.bytes / max(seconds, 1e-6) / 1e6
            self._line(f"{self.verb}: {len(files)} files, {self.bytes} bytes in {seconds:.1f} s "
                       f"({rate:.1f} MB/s)")  # fmt: skip
