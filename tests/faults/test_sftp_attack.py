"""Attacks on today's SFTP paths by a hardened or hostile server and a hostile ssh config: the
flush before a replacing rename (``fsync@openssh.com``) must not turn a server's ordinary
set-up into a refused upload, and a refused flush must never cost the good file there; a
slow but steady server is not a stalled one; a ProxyJump host's name never carries
terminal escapes or invisible characters into what Ferryman says."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sftp_local import SFTP_SERVER, LocalChannel, local_site, script_channel
from tui.errors import ConfigError, ConnectionLost, ProtocolError, RemoteError
from tui.remote.sftp import SFTPFS
from tui.remote.sshexplain import resolved
from tui.remote.sshjump import parse_jump, route
from tui.textsafe import printable
from tui.transfer.copy import IN_PLACE_LIMIT, upload_file

pytestmark = pytest.mark.skipif(
    SFTP_SERVER is None or (os.geteuid() == 0 and shutil.which("setpriv") is None),
    reason="sftp-server (and, as root, setpriv) is needed",
)

NOBODY = 65534
BIG = IN_PLACE_LIMIT + 1  # through the temporary name and a rename


@pytest.fixture
def served():
    """A folder a non-root sftp-server may write (root would bypass the file modes)."""
    folder = tempfile.mkdtemp(prefix="ferryman-attack-")
    os.chmod(folder, 0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _as_owner(folder: str, path: str) -> None:
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)


def hardened_server(folder: str, umask: str) -> SFTPFS:
    """OpenSSH's sftp-server with ``-u UMASK`` (as ``ForceCommand internal-sftp -u``), run
    as an ordinary user even when the tests run as root."""
    assert SFTP_SERVER is not None
    command = [SFTP_SERVER, "-d", folder, "-e", "-l", "VERBOSE", "-u", umask]
    if os.geteuid() == 0:
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                   *command]  # fmt: skip
    return SFTPFS(local_site(), LocalChannel(command), timeout=10)


def _log(fs: SFTPFS) -> str:
    """What the server logged so far (its requests, in order)."""
    errors = fs.client.channel._errors  # type: ignore[attr-defined]
    errors.seek(0)
    return errors.read().decode(errors="replace")


@pytest.mark.parametrize("umask", ["0277", "0222"])
def test_an_upload_over_a_file_on_a_server_that_makes_files_read_only__replaces_it_flushed(
    served, tmp_path, umask
):
    target = os.path.join(served, "report.bin")
    with open(target, "wb") as handle:
        handle.write(b"the good old copy")
    _as_owner(served, target)
    source = tmp_path / "report.bin"
    source.write_bytes(os.urandom(BIG))
    with hardened_server(served, umask) as fs:
        upload_file(fs, str(source), target)
        said = _log(fs)
    assert "fsync " in said and said.index("fsync ") < said.index("rename ")
    assert open(target, "rb").read() == source.read_bytes()
    assert os.listdir(served) == ["report.bin"]


PROXY = os.path.join(os.path.dirname(__file__), "sftp_tamper_proxy.py")


def tampered(served, mode: str, timeout: float = 5.0) -> SFTPFS:  # type: ignore[no-untyped-def]
    """An SFTPFS on the real sftp-server in ``served``, behind the proxy in ``mode``."""
    assert SFTP_SERVER is not None
    real = [SFTP_SERVER, "-d", str(served), "-e", "-l", "ERROR"]
    return SFTPFS(local_site(), script_channel(PROXY, mode, *real), timeout=timeout)


def _good_file_and_its_update(tmp_path):  # type: ignore[no-untyped-def]
    """A served folder holding a good ``report.bin``, and a new local version of it."""
    served = tmp_path / "served"
    served.mkdir()
    target = served / "report.bin"
    target.write_bytes(b"the good old copy")
    source = tmp_path / "report.bin"
    source.write_bytes(os.urandom(BIG))
    return served, target, source


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("fsync-failure", RemoteError),
        ("fsync-garbage", ProtocolError),
        ("fsync-hangup", ConnectionLost),
        ("rename-hangup", ConnectionLost),
    ],  # fmt: skip
)
def test_a_flush_that_fails_or_lies__leaves_the_good_file_and_is_one_error(tmp_path, mode, error):
    served, target, source = _good_file_and_its_update(tmp_path)
    with tampered(served, mode) as fs, pytest.raises(error):
        upload_file(fs, str(source), str(target))
    assert target.read_bytes() == b"the good old copy"


def test_a_flush_the_server_offers_then_calls_unsupported__replaces_as_without_one(tmp_path):
    """fsync@openssh.com offered, then answered OP_UNSUPPORTED: the server cannot flush that
    file, as one that never offered it cannot; refusing would make every upload over a
    file fail there for good. The copy is complete and checked; it replaces the file."""
    served, target, source = _good_file_and_its_update(tmp_path)
    with tampered(served, "fsync-unsupported") as fs:
        upload_file(fs, str(source), str(target))
    assert target.read_bytes() == source.read_bytes()
    assert os.listdir(served) == ["report.bin"]


def test_an_upload_to_a_server_that_reads_slowly_but_steadily__is_not_dropped_as_stalled(tmp_path):
    """Over a slow link a WRITE's status comes long after its first bytes were taken: the
    request pipe draining is bytes moving, and the idle timeout is about bytes moving."""
    served = tmp_path / "served"
    served.mkdir()
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(300_000))  # ~2.3 s at the proxy's 128 KiB/s
    # A status every 1 s (128 KiB blocks): longer than the timeout; bytes every 0.05 s,
    # which leaves 0.7 s for a loaded machine to be late.
    fs = tampered(served, "slow-reader", timeout=0.75)
    with fs:
        upload_file(fs, str(source), str(served / "data.bin"))
    assert (served / "data.bin").read_bytes() == source.read_bytes()


@pytest.mark.parametrize(
    "name",
    ["b\x1b]0;owned\x07x", "b\x1b[2Jx", "bastion\u202etxt", "ba\u200bstion", "u\x1b[31m@bastion"],
)
def test_a_proxyjump_host_with_escapes_or_invisible_characters__is_one_config_error(tmp_path, name):
    """ssh -G prints such a ProxyJump as written; its name would reach the terminal, the
    trust store and ``trust add`` advice as it stands."""
    config = tmp_path / "ssh_config"
    config.write_bytes(f"Host target\n  ProxyJump {name}\n".encode())
    base = ["ssh", "-F", str(config)]
    destination = resolved(base, "target")
    assert destination.get("proxyjump") == name  # ssh itself takes it
    with pytest.raises(ConfigError) as refused:
        route(base, destination, lambda hop: [], "target")
    assert printable(str(refused.value)) == str(refused.value)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_proxyjump_text__gives_hops_named_in_printable_characters_or_a_config_error(text):
    try:
        hops = parse_jump(text)
    except ConfigError as error:
        assert printable(str(error)) == str(error)
        return
    for hop in hops:
        assert printable(hop.host) == hop.host and printable(hop.user or "") == (hop.user or "")
