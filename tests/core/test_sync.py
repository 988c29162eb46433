"""Compare and mirror against pyftpdlib (and a scripted server for hostile listings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import files_under, write
from tests.core.scripted import Script, ScriptedServer
from tui.cli import main
from tui.connection import ConnectionService
from tui.demo import SandboxServer
from tui.remote.local import LocalFS
from tui.sites import Site, save_sites
from tui.transfer.sync import Action, Options, compare

HOUR = 3600


def tree(base, files: dict[str, bytes], *, age: float = 0) -> None:
    for relative, data in files.items():
        path = write(str(base), relative, data)
        if age:
            stamp = time.time() - age
            os.utime(path, (stamp, stamp))


def plan_of(url: str, local: str, *extra: str, capsys, upload: bool = True) -> dict[str, str]:
    argv = ["mirror", local, url] if upload else ["mirror", url, local]
    assert main([*argv, "--dry-run", "--json", *extra]) == 0
    data = json.loads(capsys.readouterr().out)
    return {item["path"]: item["action"] for item in data["items"]}


SOURCE = {
    "index.html": b"<h1>home</h1>",
    "only here.txt": b"new on the source",
    "caf\u00e9/men\u00fc.txt": b"non-ASCII names",
    "docs/same size.txt": b"AAAA",
    "docs/newer.txt": b"edited on the source",
}


def test_upload_mirror_plans_copies_and_converges(plain_server, root, tmp_path, capsys):
    local = tmp_path / "site"
    tree(local, SOURCE)
    os.utime(local / "docs" / "newer.txt")  # now: newer than the server's copy
    remote = os.path.join(root, "www")
    tree(remote, {"docs/newer.txt": b"old", "docs/kept newer.txt": b"server",
                  "stale.txt": b"gone from the source"}, age=2 * HOUR)  # fmt: skip
    tree(remote, {"docs/kept newer.txt": b"server"})  # newer on the server: kept
    tree(local, {"docs/kept newer.txt": b"local!"}, age=2 * HOUR)  # same size, older
    url = plain_server.url("ftp", "www")

    planned = plan_of(url, str(local), capsys=capsys)
    assert planned == {
        "caf\u00e9": "new", "caf\u00e9/men\u00fc.txt": "new", "docs/same size.txt": "new",
        "docs/newer.txt": "size differs", "docs/kept newer.txt": "older",
        "index.html": "new", "only here.txt": "new", "stale.txt": "only in destination",
    }  # fmt: skip

    assert main(["mirror", str(local), url]) == 0
    after = files_under(remote)
    copied = {path for path, action in planned.items() if action in ("new", "size differs")}
    assert {p for p in copied if not p.endswith("caf\u00e9")} <= set(after)
    for path in copied - {"caf\u00e9"}:
        assert after[path] == SOURCE[path]  # what the plan said is what was done
    assert after["docs/kept newer.txt"] == b"server"  # not overwritten: it was newer
    assert after["stale.txt"] == b"gone from the source"  # no --delete: kept

    assert plan_of(url, str(local), capsys=capsys) == {
        "docs/kept newer.txt": "older", "stale.txt": "only in destination",
    }  # fmt: skip  # a second run copies nothing
    assert main(["mirror", str(local), url, "--delete"]) == 0
    assert "stale.txt" not in files_under(remote)


def test_download_mirror_with_minute_listings_converges(root, tmp_path, capsys):
    """LIST gives minutes (the server has no MLSD, like vsftpd): times within the minute
    are the same, and the second run transfers nothing."""
    tree(os.path.join(root, "data"), SOURCE)
    with SandboxServer(root, mlsd=False) as server:
        url = server.url("ftp", "data")
        local = tmp_path / "copy"
        assert main(["mirror", url, str(local), "-j", "3"]) == 0
        assert files_under(local) == SOURCE
        assert plan_of(url, str(local), capsys=capsys, upload=False) == {}
        capsys.readouterr()
        assert main(["mirror", url, str(local), "--dry-run"]) == 0
        assert "nothing to do" in capsys.readouterr().out


def test_checksum_mode_finds_same_size_different_content(tmp_path, capsys):
    """Same size, same time, different bytes: only a checksum can tell. The scripted
    server offers HASH (pyftpdlib has none)."""
    data = b"local bytes"
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "f.txt").write_bytes(data)
    stamp = time.mktime((2024, 1, 2, 3, 4, 0, 0, 0, -1))
    os.utime(tmp_path / "local" / "f.txt", (stamp, stamp))
    listing = b"-rw-r--r-- 1 u g %d Jan 02  2024 f.txt\r\n" % len(data)  # a day-precise time
    script = Script(listing=listing, hash_digest="00" * 32)
    with ScriptedServer(script) as server:
        url = server.url("/")
        by_time = plan_of(url, str(tmp_path / "local"), capsys=capsys, upload=False)
        by_hash = plan_of(url, str(tmp_path / "local"), "--checksum", capsys=capsys,
                          upload=False)  # fmt: skip
    assert by_time == {}  # size and (day-precise) time agree
    assert by_hash == {"f.txt": "different"}


def test_delete_never_leaves_the_destination_root(tmp_path, capsys):
    """A hostile destination lists names that climb out; they are skipped, never deleted
    (the scripted server records every command it gets)."""
    listing = (
        b"-rw-r--r-- 1 u g 5 Jan 01 2024 ../outside.txt\r\n"
        b"-rw-r--r-- 1 u g 5 Jan 01 2024 /etc/passwd\r\n"
        b"-rw-r--r-- 1 u g 5 Jan 01 2024 a\\b.txt\r\n"
        b"-rw-r--r-- 1 u g 5 Jan 01 2024 extra.txt\r\n"
    )
    (tmp_path / "empty").mkdir()
    with ScriptedServer(Script(listing=listing)) as server:
        url = server.url("/dst")
        assert main(["mirror", str(tmp_path / "empty"), url, "--delete", "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert "delete               extra.txt" in out
        assert out.count("skipped") == 3 and "outside" not in out.split("skipped")[0]
        assert main(["mirror", str(tmp_path / "empty"), url, "--delete"]) == 5  # 502 to DELE
        deletes = [line for line in server.received if line.upper().startswith(b"DELE")]
    assert deletes == [b"DELE /dst/extra.txt"]


def test_excludes_and_includes_apply_to_both_sides(plain_server, root, tmp_path, capsys):
    local = tmp_path / "src"
    tree(local, {"a.txt": b"a", "b.log": b"b", "cache/x.txt": b"x", "keep/c.txt": b"c"})
    tree(os.path.join(root, "dst"), {"old.log": b"o", "cache/y.txt": b"y"})
    url = plain_server.url("ftp", "dst")
    planned = plan_of(url, str(local), "--exclude", "*.log", "--exclude", "cache",
                      "--delete", capsys=capsys)  # fmt: skip
    assert planned == {"a.txt": "new", "keep": "new", "keep/c.txt": "new"}
    planned = plan_of(url, str(local), "--include", "*.txt", "--exclude", "cache",
                      capsys=capsys)  # fmt: skip
    assert set(planned) == {"a.txt", "keep", "keep/c.txt"}


def test_a_clock_offset_is_applied_to_the_server_side(plain_server, root, tmp_path):
    tree(tmp_path / "l", {"f.txt": b"same"})
    tree(os.path.join(root, "r"), {"f.txt": b"same"})
    stamp = time.time() - 3 * HOUR  # the server's file looks three hours older
    os.utime(os.path.join(root, "r", "f.txt"), (stamp, stamp))
    service = ConnectionService(timeout=10, check_revocation=False)
    with service.open(plain_server.url("ftp")) as fs:
        plain = compare(LocalFS(), str(tmp_path / "l"), fs, "/r", Options())
        shifted = compare(LocalFS(), str(tmp_path / "l"), fs, "/r",
                          Options(time_offset=3 * HOUR))  # fmt: skip
    assert [i.action for i in plain.items] == [Action.NEWER]
    assert [i.action for i in shifted.items] == [Action.SAME]


def test_an_interrupted_mirror_resumes_and_converges(plain_server, root, tmp_path):
    big = os.urandom(48 * 1024 * 1024)
    tree(os.path.join(root, "src"), {"big.bin": big, "small.txt": b"small"})
    local = tmp_path / "mirror"
    url = plain_server.url("ftp", "src")
    process = subprocess.Popen([sys.executable, "-m", "tui", "mirror", url, str(local),
                                "-j", "1"], stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    partial = local / ".big.bin.ferryman-part"
    while time.monotonic() < deadline and process.poll() is None:
        if partial.exists() and partial.stat().st_size > 0:
            break
        time.sleep(0.01)
    process.kill()
    process.wait(10)
    assert main(["mirror", url, str(local)]) == 0
    assert files_under(local) == {"big.bin": big, "small.txt": b"small"}


def test_sync_profile_runs_from_the_config(plain_server, root, tmp_path, capsys):
    tree(tmp_path / "site", {"a.txt": b"profile"})
    config_dir = os.path.join(os.environ["FERRYMAN_HOME"], "config")
    os.makedirs(config_dir)
    with open(os.path.join(config_dir, "config.toml"), "w") as handle:
        handle.write(
            f'[sync.site]\nsource = "{tmp_path / "site"}"\n'
            f'destination = "{plain_server.url("ftp", "pub")}"\ndelete = true\n'
        )
    assert main(["sync", "site"]) == 0
    assert files_under(os.path.join(root, "pub")) == {"a.txt": b"profile"}
    assert main(["sync", "nope"]) == 2
    assert "No sync profile 'nope'" in capsys.readouterr().err


def test_mirror_needs_exactly_one_remote_side(tmp_path, capsys):
    assert main(["mirror", str(tmp_path), str(tmp_path)]) == 2
    assert "must be a URL" in capsys.readouterr().err


@pytest.mark.parametrize("upload", [True, False])
def test_a_missing_destination_is_created(plain_server, root, tmp_path, upload):
    tree(tmp_path / "src", {"deep/er/f.txt": b"f"})
    tree(os.path.join(root, "src"), {"deep/er/f.txt": b"f"})
    if upload:
        assert main(["mirror", str(tmp_path / "src"), plain_server.url("ftp", "new/dst")]) == 0
        assert files_under(os.path.join(root, "new", "dst")) == {"deep/er/f.txt": b"f"}
    else:
        assert main(["mirror", plain_server.url("ftp", "src"), str(tmp_path / "a" / "b")]) == 0
        assert files_under(tmp_path / "a" / "b") == {"deep/er/f.txt": b"f"}


def test_mirror_takes_the_saved_sites_clock_offset(plain_server, root, tmp_path, capsys):
    tree(tmp_path / "l", {"f.txt": b"same"})
    tree(os.path.join(root, "r"), {"f.txt": b"same"})
    stamp = time.time() - 3 * HOUR
    os.utime(os.path.join(root, "r", "f.txt"), (stamp, stamp))
    url = plain_server.url("ftp", "r")
    assert plan_of(url, str(tmp_path / "l"), capsys=capsys) == {"f.txt": "newer"}
    save_sites([Site("127.0.0.1", plain_server.port, name="behind", time_offset=3 * HOUR)])
    assert plan_of(url, str(tmp_path / "l"), capsys=capsys) == {}
    assert plan_of(url, str(tmp_path / "l"), "--time-offset", "-60", capsys=capsys) == {
        "f.txt": "newer"}  # fmt: skip  # the command line wins
