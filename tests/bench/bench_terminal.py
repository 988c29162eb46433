"""Benchmark: what the app costs a slow terminal, against Midnight Commander, and how fast
it draws its first screen, against a minimal Textual app.

    apt-get install -y mc tmux
    python tests/bench/bench_terminal.py [--moves 40] [--rounds 5]

Each program runs in an 80x24 tmux window (TERM=xterm-256color), as over SSH, and
``tmux pipe-pane`` copies everything it writes to a file:

- bytes per cursor move: after the screen settles, the Down key is sent ``--moves`` times,
  each after the output of the one before has gone quiet; the bytes written in answer are
  counted: the median of the first 10 (on screen) and the mean from the 20th on (each of
  those scrolls the list).
  Both programs browse the same local folder of 200 files; Ferryman also with ``--light``.
- idle: bytes written over 5 s with no input, on the file list and with the connect dialog
  (its text field focused) open.
- cold start: time from the start of the process until its first screen has been
  written: for Ferryman the panes with the folder's first file, then (a second row) the
  connect dialog over them (best of ``--rounds``), with the package compiled to
  bytecode first, as installed packages are.

Targets (issue 7): Ferryman's bytes per move / mc's <= 0.5, 0 bytes while idle, cold start
/ the minimal app's <= 1.5. Not a test: the numbers go in the closing notes.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import shlex
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOWN = b"\x1b[B"
MINIMAL_APP = """
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("minimal-app-ready")

Minimal().run()
"""


class Terminal:
    """A program in an 80x24 pseudo-terminal; everything it writes is read and counted."""

    def __init__(self, argv: list[str], cwd: str, env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.output = bytearray()

    def read(self, timeout: float, until: bytes | None = None) -> int:
        """Read what arrives within ``timeout`` (or until ``until`` has arrived); returns
        the byte count."""
        count = 0
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                break
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self._answer_queries(chunk)
            self.output += chunk
            count += len(chunk)
            if until is not None and until in self.output:
                break
        return count

    def _answer_queries(self, chunk: bytes) -> None:
        # Terminal queries a real terminal answers: cursor position and device attributes.
        if b"\x1b[6n" in chunk:
            os.write(self.fd, b"\x1b[1;1R")
        if b"\x1b[c" in chunk or b"\x1b[0c" in chunk:
            os.write(self.fd, b"\x1b[?62;22c")

    def quiet(self, *, gap: float = 0.3, limit: float = 20.0) -> int:
        """Read until nothing arrives for ``gap`` seconds; returns the byte count."""
        total = 0
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            got = self.read(gap)
            total += got
            if not got:
                break
        return total

    def wait_for(self, marker: bytes, limit: float = 30.0) -> float:
        """Seconds from the start until ``marker`` appears in the output."""
        deadline = time.monotonic() + limit
        while marker not in self.output and time.monotonic() < deadline:
            self.read(deadline - time.monotonic(), until=marker)  # returns as it arrives
        if marker not in self.output:
            raise SystemExit(f"never saw {marker!r}; output ends {bytes(self.output[-300:])!r}")
        return time.monotonic() - self.started

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
            time.sleep(0.2)
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


class Tmux:
    """A program in an 80x24 tmux window; ``tmux pipe-pane`` copies everything it writes
    to a file, whose growth is what a slow link would carry. (mc ignores keys in a bare
    pseudo-terminal that answers none of its queries; in tmux it runs as for a user.)"""

    def __init__(self, argv: list[str], cwd: str, env: dict[str, str], name: str) -> None:
        self.name = name
        self.log = os.path.join(env["HOME"], f"{name}.out")  # not in the folder shown
        command = " ".join(shlex.quote(part) for part in argv)
        exports = " ".join(f"{key}={shlex.quote(env[key])}"
                           for key in ("HOME", "FERRYMAN_HOME", "PYTHONPATH"))  # fmt: skip
        subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24",
                        f"cd {shlex.quote(cwd)} && env TERM=xterm-256color {exports} {command}"],
                       check=True)  # fmt: skip
        subprocess.run(["tmux", "pipe-pane", "-t", name, "-o", f"cat >> {shlex.quote(self.log)}"],
                       check=True)  # fmt: skip

    def size(self) -> int:
        try:
            return os.path.getsize(self.log)
        except FileNotFoundError:
            return 0

    def quiet(self, *, gap: float = 0.3, limit: float = 20.0) -> int:
        start = last = self.size()
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            time.sleep(gap)
            now = self.size()
            if now == last:
                break
            last = now
        return last - start

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-t", self.name, "-p"],
                              capture_output=True, text=True).stdout  # fmt: skip

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def per_move(term: Tmux, moves: int) -> list[int]:
    counts = []
    for _ in range(moves):
        before = term.size()  # before the key: a fast program answers while send-keys returns
        term.keys("Down")
        term.quiet(gap=0.25)
        counts.append(term.size() - before)
    return counts


def browse(term: Tmux, moves: int, ready: str) -> tuple[list[int], int]:
    """Wait for ``ready`` on the screen, then move; returns bytes per move and 5 s idle."""
    deadline = time.monotonic() + 30
    while ready not in term.screen() and time.monotonic() < deadline:
        time.sleep(0.1)
    if ready not in term.screen():
        raise SystemExit(f"{term.name}: never showed {ready!r}; the screen was:\n{term.screen()}")
    term.quiet(gap=0.5)
    counts = per_move(term, moves)
    before = term.size()
    time.sleep(5)
    return counts, term.size() - before


def environment(home: str) -> dict[str, str]:
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="80", LINES="24", HOME=home,
               FERRYMAN_HOME=os.path.join(home, ".ferryman"), PYTHONPATH=ROOT)  # fmt: skip
    env.pop("TEXTUAL", None)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moves", type=int, default=40, help="at least 30")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("mc") or not shutil.which("tmux"):
        raise SystemExit("cannot run: mc and tmux are needed (apt-get install -y mc tmux)")
    home = tempfile.mkdtemp(prefix="ferryman-term-")
    folder = os.path.join(home, "files")
    os.makedirs(folder)
    for n in range(200):
        with open(os.path.join(folder, f"file-{n:03d}.txt"), "w") as handle:
            handle.write("x" * n)
    env = environment(home)
    rows = []
    # One session that outlives the others: without it the tmux server exits with each
    # program's session, and the next one's pipe-pane can attach to a server going away.
    subprocess.run(["tmux", "new-session", "-d", "-s", "bench-holder", "sleep 3600"], check=True)
    try:
        # Ferryman: no site given, so the connect screen opens; Esc shows the local pane.
        runs = {}
        dialog_idle: dict[str, int] = {}
        for flags in ([], ["--light"]):
            term = Tmux([sys.executable, "-m", "tui", *flags], folder, env, "ferryman-bench")
            try:
                deadline = time.monotonic() + 30
                while "Connect" not in term.screen() and time.monotonic() < deadline:
                    time.sleep(0.1)
                term.quiet()
                before = term.size()
                time.sleep(5)  # the dialog's text field has the focus: nothing may blink
                dialog_idle[" ".join(flags)] = term.size() - before
                term.keys("Escape")
                runs[" ".join(flags)] = browse(term, args.moves, "file-000")
            finally:
                term.close()
        ours, idle_ours = runs[""]
        light, idle_light = runs["--light"]
        term = Tmux(["mc", "--nosubshell", folder, folder], folder, env, "mc-bench")
        try:
            theirs, idle_mc = browse(term, args.moves, "file-000")
        finally:
            term.close()
        # The first 10 moves stay on screen; from the 20th on, every move scrolls the list
        # (17 rows show at 80x24). They cost very different amounts, so they are shown apart.
        for label, counts in (("ferryman", ours), ("ferryman --light", light)):
            rows.append((f"bytes per move on screen, {label}", statistics.median(counts[:10]),
                         statistics.median(theirs[:10])))  # fmt: skip
        for label, counts in (("ferryman", ours), ("ferryman --light", light)):
            rows.append((f"bytes per scrolling move, {label}", statistics.mean(counts[20:]),
                         statistics.mean(theirs[20:])))  # fmt: skip
        rows.append(("bytes over 5 s idle", idle_ours, idle_mc))
        rows.append(("  with --light", idle_light, idle_mc))
        rows.append(("  with the connect dialog open", dialog_idle[""], idle_mc))

        # Started from bytecode, as an installed package is (pip compiles it; an editable
        # install caches it on first run). This machine sets PYTHONDONTWRITEBYTECODE, which
        # would otherwise make every start compile the whole package again (~20 ms).
        subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "tui")],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        starts_ours, starts_minimal, dialogs = [], [], []
        script = os.path.join(home, "minimal.py")
        with open(script, "w") as handle:
            handle.write(MINIMAL_APP)
        for _ in range(args.rounds):
            term = Terminal([sys.executable, "-m", "tui"], folder, env)
            # The main screen with the folder's files in it (not just the pane titles)
            starts_ours.append(term.wait_for(b"file-000"))
            dialogs.append(term.wait_for(b"Connect to a server"))  # then the dialog on it
            term.close()
            term = Terminal([sys.executable, script], folder, env)
            starts_minimal.append(term.wait_for(b"minimal-app-ready"))
            term.close()
        rows.append(("cold start to first screen, s (best)", min(starts_ours),
                     min(starts_minimal)))  # fmt: skip
        rows.append(("  ... to the connect dialog over it, s", min(dialogs), min(starts_minimal)))
    finally:
        subprocess.run(["tmux", "kill-session", "-t", "bench-holder"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)

    print(f"\n{'measure':<46}{'ferryman':>10}{'reference':>11}{'ratio':>8}")
    for name, mine, other in rows:
        ratio = f"{mine / other:.2f}" if other else ("0" if not mine else "inf")
        digits = 3 if ", s" in name else 2  # seconds, or bytes
        print(f"{name:<46}{mine:>10.{digits}f}{other:>11.{digits}f}{ratio:>8}")
    print("\nreference: mc for the terminal rows, a minimal Textual app for the cold start;")
    print("ratio = Ferryman / reference (targets: bytes per move <= 0.5, idle 0, start <= 1.5)")


if __name__ == "__main__":
    main()
