"""Benchmark: one small command's latency, Ferryman beside lftp and curl, over explicit FTPS.

    sudo tests/interop/install-servers.sh && apt-get install -y lftp curl
    python tests/bench/bench_cli_startup.py [--rounds 15]

What a script that runs ``ferryman ls`` or ``get`` from cron pays per call: ``ls`` of a
folder and ``get`` of a 1 KiB file from vsftpd on 127.0.0.1 over explicit FTPS (certificate
verified against a CA given with --ca-file / --cacert / ssl:ca-file). Runs alternate between
the tools (a slow spell of this shared machine hits all alike). Ferryman runs from bytecode,
as an installed package does. Prints wall-time medians, the client's own CPU time
(user + system, medians) and Ferryman's ratios to lftp; the targets (issue 23) are
<= 1.2 x lftp's wall time and <= 0.15 s of client CPU per command.
Not a test: targets are checked by reading the table.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)

from tests.bench.bench_transfer import Run, measure  # noqa: E402
from tests.certs import make_ca, make_leaf  # noqa: E402
from tests.interop.servers import USER, Vsftpd, missing, password  # noqa: E402
from tui.demo import TLSFiles  # noqa: E402

WALL_TARGET = 1.2  # x lftp's median wall time
CPU_TARGET = 0.15  # client CPU-seconds per command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="runs per tool and command")
    args = parser.parse_args()
    reason = missing()
    if reason or not shutil.which("lftp") or not shutil.which("curl"):
        raise SystemExit(f"cannot run: {reason or 'lftp and curl are needed'}")

    # From bytecode, as installed: where PYTHONDONTWRITEBYTECODE is set (these machines)
    # every run would otherwise compile what it imports again, which no installed copy does.
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "tui")],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    work = tempfile.mkdtemp(prefix="ferryman-bench-")
    ca = make_ca()
    ca_file, _ = ca.write(work, "ca")
    tls = TLSFiles(*make_leaf(ca).write(work, "leaf"))
    server = Vsftpd(tls).start()
    secret = password()
    try:
        folder = server.fresh_dir()
        for n in range(20):  # a small folder: the listing is not what is timed
            small = os.path.join(folder, f"file{n:02d}.txt")
            with open(small, "wb") as handle:
                handle.write(os.urandom(1024))
            shutil.chown(small, USER, USER)
        local = os.path.join(work, "local")
        os.makedirs(local)
        port = server.port
        url = server.url("ftpes", folder)
        curl_url = f"ftp://{USER}:{secret}@127.0.0.1:{port}/{folder}"
        lftp_open = (f"set ftp:ssl-force true; set ftp:ssl-protect-data true; "
                     f"set ssl:ca-file {ca_file}; set xfer:clobber on; "
                     f"open -u {USER},{secret} -p {port} 127.0.0.1")  # fmt: skip
        ferryman = [sys.executable, "-m", "tui"]
        env_note = "PYTHONPATH=" + os.environ.get("PYTHONPATH", "")

        def here(name: str) -> str:
            return os.path.join(local, name)

        tasks = {
            "ls": [
                ("ferryman", [*ferryman, "ls", f"{url}/", "--ca-file", ca_file], None),
                ("lftp", ["lftp", "-c", f"{lftp_open}; cls -l {folder}/"], None),
                ("curl", ["curl", "-s", "--ssl-reqd", "--cacert", ca_file, f"{curl_url}/"], None),
            ],
            "get": [
                ("ferryman", [*ferryman, "get", f"{url}/file00.txt", here("f.txt"),
                              "--ca-file", ca_file], here("f.txt")),
                ("lftp", ["lftp", "-c", f"{lftp_open}; get {folder}/file00.txt "
                                        f"-o {here('l.txt')}"], here("l.txt")),
                ("curl", ["curl", "-s", "--ssl-reqd", "--cacert", ca_file, "-o", here("c.txt"),
                          f"{curl_url}/file00.txt"], here("c.txt")),
            ],
        }  # fmt: skip
        results: dict[str, dict[str, list[Run]]] = {}
        for task, tools in tasks.items():
            built = [(name, (lambda _n, c=command: c), target) for name, command, target in tools]
            results[task] = measure(built, args.rounds)
        commands = {task: tools for task, tools in tasks.items()}
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.rounds} alternating runs per tool; medians\n")
    print(
        f"{'command':<8}{'tool':<10}{'wall s':>8}{'CPU s':>8}{'x lftp wall':>13}{'x lftp CPU':>12}"
    )
    verdicts = []
    for task, by_tool in results.items():
        lftp_wall = statistics.median(run.took for run in by_tool["lftp"])
        lftp_cpu = statistics.median(run.cpu for run in by_tool["lftp"])
        for tool, runs in by_tool.items():
            wall = statistics.median(run.took for run in runs)
            cpu = statistics.median(run.cpu for run in runs)
            print(f"{task:<8}{tool:<10}{wall:>8.3f}{cpu:>8.3f}{wall / lftp_wall:>13.2f}"
                  f"{cpu / max(lftp_cpu, 1e-3):>12.2f}")  # fmt: skip
            if tool == "ferryman":
                ok = wall <= WALL_TARGET * lftp_wall and cpu <= CPU_TARGET
                verdicts.append(f"{task}: {wall / lftp_wall:.2f} x lftp's wall time (target <= "
                                f"{WALL_TARGET}), {cpu:.3f} s CPU (target <= {CPU_TARGET}): "
                                f"{'met' if ok else 'NOT met'}")  # fmt: skip
    print()
    for line in verdicts:
        print(line)
    print("\nto reproduce one command by hand (the folder and port were this run's):")
    for task, tools in commands.items():
        for name, command, _ in tools:
            shown = " ".join(shlex.quote(part) for part in command).replace(secret, "PASSWORD")
            print(f"  {task} {name}: {env_note + ' ' if name == 'ferryman' else ''}{shown}")


if __name__ == "__main__":
    main()
