"""Listings that fail and trees without end: a folder the server cannot read, a listing cut
short or refused after its data, a symbolic-link loop, a server that invents folders
forever. A listing is positive evidence or an error, never an empty folder; a walk ends.

Real servers where one shows the fault (vsftpd, ProFTPD and pure-ftpd on a folder that can
be entered but not read; ProFTPD with ``ShowSymlinks off`` following a link loop); the
scripted server for the lies no real server tells.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.core.scripted import Script, ScriptedServer
from tests.interop.servers import USER, ProFTPD, PureFTPd, ServerProcess, Vsftpd, missing
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import EXIT_TRANSFER, FerrymanError, ListingFailed, TransferFailed
from tui.remote.local import LocalFS
from tui.transfer import sync
from tui.transfer.engine import TransferEngine
from tui.transfer.queue import Direction, Job, State, TransferQueue

interop = pytest.mark.interop


def _need_servers() -> None:
    reason = missing()
    if reason is not None:
        pytest.skip(f"interop servers unavailable: {reason}")


class _LoopingProFTPD(ProFTPD):
    """ProFTPD that shows symbolic links as what they point to, as some sites set it."""

    name = "proftpd"

    def _write(self, name: str, text: str) -> str:
        if name == "proftpd.conf":
            text += "ShowSymlinks off\n"
        return super()._write(name, text)


@pytest.fixture(scope="module")
def real(pki) -> Iterator[dict[str, ServerProcess]]:
    """vsftpd, ProFTPD and pure-ftpd, started once for the module."""
    _need_servers()
    started: dict[str, ServerProcess] = {}
    try:
        for server_class in (Vsftpd, ProFTPD, PureFTPd):
            server = server_class(pki.tls).start()
            started[server.name] = server
        yield started
    finally:
        for server in started.values():
            server.stop()


def _tree(base: str, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        path = os.path.join(base, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)


def _locked_tree(server: ServerProcess, mode: int = 0o311) -> str:
    """A served folder with ``ok/a.txt`` and ``locked/`` that the login can enter (x) but
    not read (no r): the server runs as the login account, so it cannot list it either."""
    folder = server.fresh_dir()
    _tree(folder, {"ok/a.txt": b"new contents\n", "locked/secret.txt": b"secret\n"})
    for path in ("ok", "locked"):
        shutil.chown(os.path.join(folder, path), USER, USER)
    os.chmod(os.path.join(folder, "locked"), mode)
    return folder


def _open(server: ServerProcess, folder: str, service: ConnectionService | None = None):  # type: ignore[no-untyped-def]
    service = service or ConnectionService(timeout=10, check_revocation=False)
    return service.open(server.url("ftp", folder))


# --- a folder that can be entered but not read ------------------------------------------


@interop
@pytest.mark.parametrize("name", ["vsftpd", "proftpd", "pure-ftpd"])
@pytest.mark.parametrize("command", ["MLSD", "LIST"])
@pytest.mark.parametrize("mode", [0o311, 0o300])
def test_unreadable_folder_on_a_real_server__is_an_error_not_an_empty_folder(
    real, name, command, mode
):
    server = real[name]
    folder = _locked_tree(server, mode)
    with _open(server, folder) as fs:
        if command == "LIST":
            fs.capabilities.mlsd = False  # what a server without MLSD makes Ferryman use
        elif not fs.capabilities.mlsd:
            pytest.skip(f"{name} has no MLSD")
        assert [e.name for e in fs.listdir(os.path.join(folder, "ok"))] == ["a.txt"]
        # vsftpd: 226 "(but failed to open directory)"; pure-ftpd: LIST 226 "unable to
        # read", MLSD 550; ProFTPD: MLSD 550, LIST an empty listing and a plain 226, told
        # from an empty folder only by the "." and ".." its LIST -a showed for "ok" above.
        with pytest.raises(FerrymanError) as raised:
            fs.listdir(os.path.join(folder, "locked"))
        assert "locked" in str(raised.value)
        assert fs.listdir(os.path.join(folder, "ok"))  # the session is still usable


@interop
def test_ls_of_an_unreadable_vsftpd_folder__is_one_line_and_exit_5(real, capsys):
    server = real["vsftpd"]
    folder = _locked_tree(server)
    assert main(["ls", server.url("ftp", os.path.join(folder, "locked"))]) == EXIT_TRANSFER
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "failed to open directory" in captured.err


@interop
def test_mirror_delete_from_an_unreadable_vsftpd_folder__deletes_nothing(real, tmp_path, capsys):
    server = real["vsftpd"]
    folder = _locked_tree(server)
    local = tmp_path / "copy"
    _tree(str(local), {"ok/a.txt": b"old\n", "locked/secret.txt": b"secret\n",
                       "locked/mine.txt": b"mine\n", "extra.txt": b"extra\n"})  # fmt: skip
    code = main(["mirror", server.url("ftp", folder), str(local), "--delete", "-j", "1"])
    error = capsys.readouterr().err
    assert code == EXIT_TRANSFER, error
    assert (local / "locked" / "secret.txt").read_bytes() == b"secret\n"
    assert (local / "locked" / "mine.txt").exists()
    assert (local / "extra.txt").exists()  # a failed walk deletes nothing at all
    assert (local / "ok" / "a.txt").read_bytes() == b"new contents\n"  # the rest is mirrored
    assert "locked" in error and "not done" in error


@interop
def test_dry_run_of_a_mirror_with_an_unreadable_folder__says_so_and_plans_no_deletion(
    real, tmp_path, capsys
):
    server = real["vsftpd"]
    folder = _locked_tree(server)
    _tree(str(tmp_path / "copy"), {"locked/mine.txt": b"mine\n", "extra.txt": b"x"})
    code = main(["mirror", server.url("ftp", folder), str(tmp_path / "copy"), "--delete",
                 "--dry-run"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == EXIT_TRANSFER
    assert "delete " not in out and "not listed" in out and "locked" in out


@interop
def test_get_r_of_a_tree_with_an_unreadable_vsftpd_folder__reports_it_failed(
    real, tmp_path, capsys
):
    server = real["vsftpd"]
    folder = _locked_tree(server)
    code = main(["get", "-r", server.url("ftp", folder), str(tmp_path / "got"), "-j", "1"])
    error = capsys.readouterr().err
    assert code == EXIT_TRANSFER, error
    assert (tmp_path / "got" / "ok" / "a.txt").read_bytes() == b"new contents\n"
    assert "locked" in error and "failed to open directory" in error


# --- listings cut short or refused after the data ---------------------------------------


def _line(name: bytes, kind: bytes = b"-") -> bytes:
    return kind + b"rw-r--r--   1 ftp ftp   12 Nov 24 01:57 " + name + b"\r\n"


@pytest.mark.parametrize(
    "reply",
    [b"451 Read error after the data\r\n", b"426 Connection closed; transfer aborted\r\n",
     b"226 Transfer done (but failed to open directory).\r\n",
     b"226-Sorry, we were unable to read [.]\r\n226 0 matches total\r\n"],
    ids=["451", "426", "vsftpd-226", "pure-ftpd-226"],
)  # fmt: skip
def test_a_listing_whose_final_reply_says_it_failed__is_an_error(reply):
    script = Script(listing=_line(b"a.txt") + _line(b"b.txt"), list_reply=reply)
    with ScriptedServer(script) as server:
        with ConnectionService(timeout=5).open(server.url()) as fs:
            with pytest.raises(FerrymanError) as raised:
                fs.listdir("/")
    assert isinstance(raised.value, ListingFailed | TransferFailed)


# --- trees without end --------------------------------------------------------------------


def _endless(folder: bytes) -> bytes:
    """A server that answers every folder with a file and one more subfolder."""
    return _line(b"f.txt") + _line(b"deeper", b"d")


def test_a_server_inventing_folders_forever__get_r_stops_at_the_depth_limit(tmp_path, capsys):
    script = Script(listing_for=_endless, files={b"f.txt": b"x" * 12}, max_commands=2000)
    with ScriptedServer(script) as server:
        code = main(["get", "-r", server.url("top"), str(tmp_path / "got"), "-j", "1",
                     "--timeout", "5"])  # fmt: skip
    error = capsys.readouterr().err
    assert code == EXIT_TRANSFER
    assert "deeper than 64" in error
    depth = sum(1 for _ in (tmp_path / "got").rglob("deeper"))
    assert 0 < depth <= 64


def test_a_server_inventing_folders_forever__mirror_stops_and_deletes_nothing(tmp_path, capsys):
    local = tmp_path / "copy"
    _tree(str(local), {"extra.txt": b"x"})
    script = Script(listing_for=_endless, files={b"f.txt": b"x" * 12}, max_commands=2000)
    with ScriptedServer(script) as server:
        code = main(["mirror", server.url("top"), str(local), "--delete", "-j", "1",
                     "--timeout", "5"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == EXIT_TRANSFER
    assert "deeper than 64" in captured.err + captured.out
    assert (local / "extra.txt").exists()


def test_a_tree_deeper_than_the_limit__walk_records_it_as_not_listed(root, plain_server):
    deep = os.path.join(root, *["d"] * 6)
    os.makedirs(deep)
    skipped: list[str] = []
    failed: list[str] = []
    with ConnectionService(timeout=5).open(plain_server.url("ftp")) as fs:
        found = sync.walk(fs, fs.resolve(""), sync.Options(max_depth=3), skipped, failed)
    assert "d/d/d" in found and "d/d/d/d" not in found
    assert failed and "deeper than 3" in failed[0]


@interop
def test_a_symlink_loop_shown_as_folders_by_proftpd__get_r_stops_as_a_loop(pki, tmp_path, capsys):
    _need_servers()
    server = _LoopingProFTPD(pki.tls).start()
    try:
        folder = server.fresh_dir()
        _tree(folder, {"tree/a.txt": b"a\n"})
        os.symlink("..", os.path.join(folder, "tree", "up"))
        code = main(["get", "-r", server.url("ftp", os.path.join(folder, "tree")),
                     str(tmp_path / "got"), "-j", "1"])  # fmt: skip
    finally:
        server.stop()
    error = capsys.readouterr().err
    assert code == EXIT_TRANSFER
    # MLSD's unique fact repeats: up/tree is the folder copied; tree/up/tree/up is the
    # first folder seen twice below it (the root's own id is not known), and not followed.
    assert "tree/up/tree/up: the same folder as one it is inside (a link loop)" in error
    assert (tmp_path / "got" / "a.txt").read_bytes() == b"a\n"
    assert not (tmp_path / "got" / "up" / "tree" / "up").exists()


@interop
def test_the_apps_sync_plan_with_an_unreadable_folder__deletes_nothing(real, tmp_path):
    """The app's synchronise runs ``compare`` and ``plan.deletions(delete=True)``."""
    server = real["vsftpd"]
    folder = _locked_tree(server)
    _tree(str(tmp_path), {"locked/secret.txt": b"s", "extra.txt": b"x"})
    with _open(server, folder) as fs:
        plan = sync.compare(fs, folder, LocalFS(), str(tmp_path), sync.Options(delete=True))
    assert plan.unlisted and "locked" in plan.unlisted[0]
    assert plan.deletions(delete=True) == []
    extra = {i.path: i for i in plan.items if i.action is sync.Action.EXTRA}
    assert set(extra) == {"extra.txt", "locked/secret.txt"}
    assert not any(item.selected for item in extra.values())


def test_put_r_of_a_local_tree_deeper_than_the_limit__fails_that_folder(plain_server, root,
                                                                         tmp_path):  # fmt: skip
    _tree(str(tmp_path / "up"), {"a/b/c/d/e.txt": b"e", "a/f.txt": b"f"})
    queue = TransferQueue()
    queue.add([Job(Direction.UPLOAD, str(tmp_path / "up"), "/up", is_dir=True)])
    service = ConnectionService(timeout=5)
    engine = TransferEngine(queue, lambda: service.open(plain_server.url("ftp")), slots=1,
                            max_depth=3)  # fmt: skip
    jobs = engine.run()
    failed = [job for job in jobs if job.state is State.FAILED]
    assert [job.source for job in failed] == [str(tmp_path / "up" / "a" / "b" / "c")]
    assert "deeper than 3 folders" in failed[0].reason
    assert os.path.exists(os.path.join(root, "up", "a", "f.txt"))


def test_a_symlink_loop_that_pyftpdlib_shows_as_a_folder__get_r_stops_as_a_loop(
    root, plain_server, tmp_path, capsys
):
    # pyftpdlib's MLSD reports a link to a folder as type=dir (it follows it), with the
    # unique fact of the folder it points to.
    _tree(root, {"tree/a.txt": b"a"})
    os.symlink("..", os.path.join(root, "tree", "up"))
    code = main(["get", "-r", plain_server.url("ftp", "tree"), str(tmp_path / "got"), "-j", "1",
                 "--timeout", "5"])  # fmt: skip
    error = capsys.readouterr().err
    assert code == EXIT_TRANSFER
    assert "/tree/up/tree/up: the same folder as one it is inside (a link loop)" in error
    assert (tmp_path / "got" / "up" / "tree" / "a.txt").read_bytes() == b"a"
    assert not (tmp_path / "got" / "up" / "tree" / "up").exists()


def test_a_symlink_loop_that_pyftpdlib_shows_as_a_folder__mirror_stops_and_deletes_nothing(
    root, plain_server, tmp_path, capsys
):
    _tree(root, {"tree/a.txt": b"a"})
    os.symlink("..", os.path.join(root, "tree", "up"))
    _tree(str(tmp_path / "copy"), {"extra.txt": b"x"})
    code = main(["mirror", plain_server.url("ftp", "tree"), str(tmp_path / "copy"), "--delete",
                 "-j", "1", "--timeout", "5"])  # fmt: skip
    error = capsys.readouterr().err
    assert code == EXIT_TRANSFER
    assert "up/tree/up: the same folder as one it is inside (a link loop)" in error
    assert (tmp_path / "copy" / "extra.txt").exists()
