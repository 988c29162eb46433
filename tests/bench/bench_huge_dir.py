"""Benchmark: a remote folder of 100,000 entries, from the listing command to the first
drawn screen, against lftp receiving the same listing.

    sudo tests/interop/install-servers.sh && apt-get install -y lftp
    python tests/bench/bench_huge_dir.py [--entries 100000] [--rounds 3]

Both connect to vsftpd on 127.0.0.1 (plain FTP: no certificate prompt in the way) and list
the same folder. lftp: ``lftp -e 'cls -1 DIR; exit'`` until it exits (every name
printed). Ferryman: ``ferryman ftp://…//DIR`` in an 80x24 pseudo-terminal, until the first
name of the sorted listing is on the screen; then the peak memory of the process.
Target (issue 7): Ferryman's time / lftp's <= 1.5. Not a test: the numbers go in the notes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from tests.bench.bench_terminal import Terminal, environment  # noqa: E402
from tests.certs import make_ca, make_leaf  # noqa: E402
from tests.interop.servers import USER, Vsftpd, missing, password  # noqa: E402
from tui.demo import TLSFiles  # noqa: E402


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    reason = missing()
    if reason or not shutil.which("lftp"):
        raise SystemExit(f"cannot run: {reason or 'lftp is needed'}")
    work = tempfile.mkdtemp(prefix="ferryman-huge-")
    ca = make_ca()
    tls = TLSFiles(*make_leaf(ca).write(work, "leaf"))
    server = Vsftpd(tls).start()
    secret = password()
    try:
        folder = server.fresh_dir()
        for n in range(args.entries):
            with open(os.path.join(folder, f"file-{n:06d}.dat"), "wb"):
                pass
        lftp = ["lftp", "-c", f"set ftp:ssl-allow false; open -u {USER},{secret} -p "
                f"{server.port} 127.0.0.1; cls -1 {folder}"]  # fmt: skip
        url = server.url("ftp", folder)
        env = environment(work)
        theirs, ours, memory = [], [], 0.0
        for _ in range(args.rounds):
            start = time.monotonic()
            result = subprocess.run(lftp, capture_output=True, timeout=300)
            theirs.append(time.monotonic() - start)
            listed = result.stdout.count(b"\n")
            if listed < args.entries:
                raise SystemExit(f"lftp listed {listed} entries: {result.stderr[-300:]!r}")
            term = Terminal([sys.executable, "-m", "tui", url], work, env)
            ours.append(term.wait_for(b"file-000000.dat", limit=300))
            memory = max(memory, peak_rss_mib(term.pid))
            term.close()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.entries} entries, best of {args.rounds}:")
    print(f"  lftp cls -1 (listing received):        {min(theirs):6.2f} s")
    print(f"  ferryman (first screen with the list): {min(ours):6.2f} s, peak RSS {memory:.0f} MiB")
    print(f"  ratio ferryman / lftp: {min(ours) / min(theirs):.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
