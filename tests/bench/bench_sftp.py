"""Benchmark: Ferryman's SFTP against OpenSSH's ``sftp``, in the same run, on 127.0.0.1.

    python tests/bench/bench_sftp.py [--transport ssh|local] [--size-mib 1024] [--files 200]
                                     [--delay-ms 25] [--jobs 10] [--rounds 3]

Tasks: one large file downloaded and uploaded, and ``--files`` small files downloaded as a
tree through a proxy that delays every chunk ``--delay-ms`` each way (50 ms round trip).

``--transport ssh`` (the default when the private sshd can run: root, openssh-server, the
``ferrytest`` account of tests/interop/install-servers.sh, and ``tui.remote.sshchannel``):
both tools log in with the same key to a private sshd with the same cipher
(``aes128-gcm@openssh.com``, set in the one ssh_config both are given); the delay proxy is
a TCP proxy in front of sshd. ``--transport local``: no ssh at all; both tools run OpenSSH's
``sftp-server`` on pipes (``sftp -D``; Ferryman through the test transport of
tests/sftp_local.py), and the delay sits on the pipes. The local numbers compare the SFTP
clients alone; the ssh numbers are what a user sees.

Prints each task's best and median time, the tool's CPU time (its whole process tree: ssh
or sftp-server included, alike for both tools; Ferryman's detached ssh connection master
too, measured from /proc) and peak RSS (the largest single process of
the tree), and the ratios Ferryman / sftp (the targets: download <= 1.0, upload <= 1.2,
small files <= 0.2, CPU <= 1.5, Ferryman's RSS < 64 MB). An upload to a new name is
compared with ``sftp``'s ``put``; an upload over a file, which Ferryman flushes to the
server's disk before it replaces the old one, with ``put -f``, which flushes too. Not a
test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)

MEASURE = (
    "import os, resource, subprocess, sys, time\n"
    "start = time.monotonic()\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "took = time.monotonic() - start\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(done.returncode, took, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)\n"
    "sys.stderr.write(done.stderr.decode(errors='replace')[-2000:])\n"
)

# Ferryman with the test transport (sftp-server on pipes, optionally behind the delay relay).
LOCAL_DRIVER = (
    "import sys\n"
    "sys.path.insert(0, {root!r})\n"
    "from tests.sftp_local import LocalChannel\n"
    "from tui import backends\n"
    "from tui.remote.sftp import SFTPFS\n"
    "class Session:\n"
    "    def __init__(self, site, settings): self.site, self.settings = site, settings\n"
    "    def connect(self):\n"
    "        return SFTPFS(self.site, LocalChannel({command!r}), timeout=self.settings.timeout)\n"
    "backends.register(backends.SFTP._replace(session=Session))\n"
    "from tui.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


# --- a delay on a byte stream: pipes (local) or TCP (ssh) -------------------------------


def _relay(read: Callable[[], bytes], write: Callable[[bytes], None], delay: float,
           done: Callable[[], None]) -> None:  # fmt: skip
    """Copy ``read`` to ``write``, each chunk ``delay`` seconds late (throughput kept)."""
    queue: deque[tuple[float, bytes]] = deque()
    ready = threading.Condition()

    def reader() -> None:
        while True:
            try:
                chunk = read()
            except OSError:
                chunk = b""
            with ready:
                queue.append((time.monotonic() + delay, chunk))
                ready.notify()
            if not chunk:
                return

    threading.Thread(target=reader, daemon=True).start()
    while True:
        with ready:
            while not queue:
                ready.wait()
            due, chunk = queue.popleft()
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)  # the emulated link's latency
        if not chunk:
            done()
            return
        try:
            write(chunk)
        except OSError:
            done()
            return


def pipe_relay(delay: float, command: list[str]) -> None:
    """Run ``command`` with every byte to and from it ``delay`` seconds late (stdin/stdout)."""
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert child.stdin and child.stdout
    into, out = child.stdin.fileno(), child.stdout.fileno()

    def write_all(fd: int) -> Callable[[bytes], None]:
        def write(data: bytes) -> None:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        return write

    threading.Thread(target=_relay, args=(lambda: os.read(0, 1 << 20), write_all(into), delay,
                                          lambda: os.close(into)), daemon=True).start()  # fmt: skip
    _relay(lambda: os.read(out, 1 << 20), write_all(1), delay, lambda: None)
    child.wait()


class TCPDelay:
    """A TCP proxy on 127.0.0.1 to ``port`` that delays every chunk, each way."""

    def __init__(self, port: int, delay: float) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target, self.delay = port, delay
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, server), (server, client)):
                a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                threading.Thread(target=_relay, args=(
                    lambda a=a: a.recv(1 << 20), b.sendall, self.delay,
                    lambda b=b: _shut(b)), daemon=True).start()  # fmt: skip


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


# --- running and measuring ----------------------------------------------------------------


def measure_once(
    argv: list[str], env: dict[str, str], clean: str | Callable[[], None] | None
) -> tuple[float, int, float]:
    if callable(clean):
        clean()
    elif clean and os.path.lexists(clean):
        shutil.rmtree(clean) if os.path.isdir(clean) else os.remove(clean)
    os.sync()
    # Ferryman's ssh connection master detaches (ControlPersist), so no wait counts its CPU
    # (all the decryption), and it is stopped when Ferryman exits: sample it meanwhile.
    first = _master_cpu()
    last = dict(first)
    running = threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            last.update(_master_cpu())
            time.sleep(0.05)  # a sampling period, not a wait for a condition

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = subprocess.run([sys.executable, "-c", MEASURE, *argv], capture_output=True,
                                text=True, timeout=3600, env=env)  # fmt: skip
    finally:
        running.clear()
        sampler.join()
    code, took, rss, cpu = result.stdout.split()
    if code != "0":
        raise SystemExit(f"failed ({code}): {' '.join(argv)}\n{result.stderr}")
    spent = sum(ticks - first.get(pid, 0) for pid, ticks in last.items())
    return float(took), int(rss), float(cpu) + spent / os.sysconf("SC_CLK_TCK")


def _master_cpu() -> dict[int, int]:
    """CPU ticks so far of every ssh connection master (``ssh: PATH [mux]``)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
            if not (command.startswith(b"ssh: ") and b"[mux]" in command):
                continue
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            found[int(entry)] = int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return found


def make_files(folder: str, size_mib: int, files: int) -> None:
    os.makedirs(os.path.join(folder, "small"), exist_ok=True)
    block = os.urandom(1 << 20)
    with open(os.path.join(folder, "big.bin"), "wb") as handle:
        for n in range(size_mib):
            handle.write(block[n % 7 :] + block[: n % 7])
    for n in range(files):
        with open(os.path.join(folder, "small", f"f{n:04}.txt"), "wb") as handle:
            handle.write(os.urandom(1000 + n * 37 % 4000))
    shutil.copy(os.path.join(folder, "big.bin"), os.path.join(folder, "upload.bin"))


class Setup:
    """How each tool reaches the served folder, for one transport."""

    ferryman: Callable[[bool], list[str]]  # the command prefix, slow link or not
    sftp: Callable[[bool, str], list[str]]  # the whole command, with its batch file
    url: Callable[[bool, str], str]
    env: dict[str, str]
    remote: str  # the served folder as the server sees it
    stop: Callable[[], None]


def local_setup(folder: str, work: str, delay: float) -> Setup:
    from tests.sftp_local import SFTP_SERVER

    assert SFTP_SERVER
    setup = Setup()
    server = [SFTP_SERVER, "-d", folder]
    slow = [sys.executable, os.path.abspath(__file__), "--relay", str(delay), "--", *server]
    wrappers = {}
    for name, command in (("fast", server), ("slow", slow)):
        path = os.path.join(work, f"server-{name}.sh")
        with open(path, "w") as handle:
            handle.write("#!/bin/sh\nexec " + " ".join(f"'{part}'" for part in command) + "\n")
        os.chmod(path, 0o755)
        wrappers[name] = path
    setup.ferryman = lambda is_slow: [sys.executable, "-c", LOCAL_DRIVER.format(
        root=ROOT, command=slow if is_slow else server)]  # fmt: skip
    setup.sftp = lambda is_slow, commands: ["sftp", "-q", "-b", commands, "-D",
                                            wrappers["slow" if is_slow else "fast"]]  # fmt: skip
    setup.url = lambda _slow, path: f"sftp://local/{path}"
    setup.env = dict(os.environ, PYTHONPATH=ROOT)
    setup.remote = folder
    setup.stop = lambda: None
    return setup


def ssh_setup(folder: str, work: str, delay: float) -> Setup:
    from tests.interop.sshd import SSHD, Client

    client = Client(work)
    server = SSHD().start(client.public_key)
    proxy = TCPDelay(server.port, delay)
    client.add_host("fast", server)
    client.hosts.append(f"Host slow\n  HostName 127.0.0.1\n  Port {proxy.port}\n"
                        f"  HostKeyAlias {server.name}")  # fmt: skip
    client.hosts.append("Host *\n  Ciphers aes128-gcm@openssh.com\n  Compression no")
    client.write()
    client.know(f"{server.name} {server.host_keys['ssh-ed25519']}")
    client.know(f"{server.name} {server.host_keys['ssh-rsa']}")
    subprocess.run(["chown", "-R", "ferrytest:", folder], check=True)
    os.chmod(os.path.dirname(folder), 0o755)
    setup = Setup()
    setup.ferryman = lambda _slow: [sys.executable, "-m", "tui"]
    setup.sftp = lambda is_slow, commands: ["sftp", "-q", "-F", client.config, "-b", commands,
                                            "slow" if is_slow else "fast"]  # fmt: skip
    setup.url = lambda is_slow, path: f"sftp://{'slow' if is_slow else 'fast'}/{path}"
    setup.env = dict(os.environ, PYTHONPATH=ROOT, FERRYMAN_SSH_CONFIG=client.config,
                     FERRYMAN_HOME=os.path.join(work, "home"))  # fmt: skip
    setup.remote = folder
    setup.stop = server.stop
    return setup


def batch(work: str, name: str, line: str) -> str:
    path = os.path.join(work, name)
    with open(path, "w") as handle:
        handle.write(line + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transport", choices=["ssh", "local"], default=None)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--delay-ms", type=float, default=25.0)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", default="download,upload,small",
                        help="which tasks, comma-separated (download, upload, small)")
    parser.add_argument("--relay", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.relay is not None:
        pipe_relay(options.relay, options.command)
        return
    transport = options.transport or ("ssh" if _ssh_possible() else "local")
    work = tempfile.mkdtemp(prefix="ferryman-bench-sftp-")
    os.chmod(work, 0o755)
    served = os.path.join(work, "served")
    os.makedirs(served)
    make_files(served, options.size_mib, options.files)
    delay = options.delay_ms / 1000
    setup = (ssh_setup if transport == "ssh" else local_setup)(served, work, delay)
    local = os.path.join(work, "local")
    os.makedirs(local)
    big, small = os.path.join(local, "big.bin"), os.path.join(local, "small")
    remote = served if transport == "ssh" else ""  # local: the server starts in it

    uploaded = os.path.join(served, "uploaded.bin")  # removed before each upload: every
    # tool writes a new file (over an old one, ext4 flushes at the rename or truncation)
    replaced = os.path.join(served, "replaced.bin")

    def old_file() -> None:  # what "upload over a file" replaces: 1 MiB, the server's own
        with open(replaced, "wb") as handle:
            handle.write(b"old" * 349525)
        shutil.chown(replaced, *((None, None) if transport == "local" else ("ferrytest",)))

    def where(path: str) -> str:
        return os.path.join(remote, path)  # absolute over ssh ("sftp://host//abs/path")

    tasks: list[tuple[str, int, list[tuple[str, list[str], str | None]]]] = [
        ("download", options.size_mib << 20, [
            ("ferryman", [*setup.ferryman(False), "get", setup.url(False, where("big.bin")),
                          big], big),
            ("sftp", setup.sftp(False, batch(work, "get.b", f"get {where('big.bin')} {big}")),
             big),
        ]),
        ("upload", options.size_mib << 20, [
            ("ferryman", [*setup.ferryman(False), "put", os.path.join(served, "upload.bin"),
                          setup.url(False, where("uploaded.bin"))], uploaded),
            ("sftp", setup.sftp(False, batch(work, "put.b", f"put "
                     f"{os.path.join(served, 'upload.bin')} {where('uploaded.bin')}")),
             uploaded),
        ]),
        # Over a file, Ferryman flushes the copy to the server's disk before it takes the
        # old one's place (fsync@openssh.com); sftp flushes with -f (and writes in place).
        ("upload over a file", options.size_mib << 20, [
            ("ferryman", [*setup.ferryman(False), "put",
                          os.path.join(served, "upload.bin"),
                          setup.url(False, where("replaced.bin"))], old_file),
            ("sftp -f", setup.sftp(False, batch(work, "putf.b", f"put -f "
                        f"{os.path.join(served, 'upload.bin')} {where('replaced.bin')}")),
             old_file),
        ]),
        (f"{options.files} small files, {2 * options.delay_ms:g} ms RTT", 0, [
            ("ferryman", [*setup.ferryman(True), "get", "-r", "-j", str(options.jobs),
                          setup.url(True, where("small") + "/"), small], small),
            ("sftp", setup.sftp(True, batch(work, "small.b", f"get -r {where('small')} {small}")),
             small),
        ]),
    ]  # fmt: skip
    print(f"transport: {transport}; {options.size_mib} MiB; {options.files} files; "
          f"{options.rounds} rounds (interleaved)")  # fmt: skip
    print(f"{'task':34} {'tool':9} {'best s':>8} {'median s':>9} {'CPU s':>7} {'RSS MB':>7}")
    wanted = options.tasks.split(",")
    tasks = [t for t in tasks if t[0].split()[0] in wanted or ("small" in wanted and "small"
                                                                 in t[0])]  # fmt: skip
    # Ferryman starts from bytecode, as an installed package does (this machine sets
    # PYTHONDONTWRITEBYTECODE: each run would compile what it imports again).
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "tui")],
                   check=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE=""))  # fmt: skip
    try:
        for task, _volume, tools in tasks:
            runs: dict[str, list[tuple[float, int, float]]] = {name: [] for name, _, _ in tools}
            for round_number in range(options.rounds):
                order = tools if round_number % 2 == 0 else tools[::-1]
                for name, argv, clean in order:
                    runs[name].append(measure_once(argv, setup.env, clean))
            summary = {}
            for name, results in runs.items():
                best = min(r[0] for r in results)
                median = statistics.median(r[0] for r in results)
                cpu = statistics.median(r[2] for r in results)
                rss = max(r[1] for r in results) / 1024
                summary[name] = (best, median, cpu, rss)
                print(f"{task:34} {name:9} {best:8.2f} {median:9.2f} {cpu:7.2f} {rss:7.1f}")
            f = summary["ferryman"]
            for other, s in summary.items():
                if other != "ferryman":
                    print(f"{task:34} {'/ ' + other:9} {f[0] / s[0]:8.2f} {f[1] / s[1]:9.2f} "
                          f"{f[2] / s[2]:7.2f}")  # fmt: skip
    finally:
        setup.stop()
        shutil.rmtree(work, ignore_errors=True)


def _ssh_possible() -> bool:
    try:
        import tui.remote.sshchannel  # noqa: F401
        from tests.interop.sshd import missing
    except ImportError:
        return False
    return missing() is None


if __name__ == "__main__":
    main()
