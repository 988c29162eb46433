"""Sessions that stay up: keep-alives against a server with a short idle timeout, and the
quiet reconnect (with the certificate judged again) when a session was dropped anyway.

pyftpdlib closes a control connection after its handler's ``timeout`` seconds without a
command ("421 Control connection timed out"); these tests set it to one second.
"""

from __future__ import annotations

import os
import select
import threading
import time

import pytest

from tests.conftest import write
from tui.config import load_config
from tui.connection import ConnectionService
from tui.errors import CertificateNotTrusted, ConfigError
from tui.remote.keepalive import KeptAlive
from tui.remote.tls import fingerprint

IDLE_TIMEOUT = 1.0


@pytest.fixture
def impatient(plain_server):  # type: ignore[no-untyped-def]
    plain_server._server.handler.timeout = IDLE_TIMEOUT
    return plain_server


class Notes:
    """The log lines a KeptAlive writes, with a wait for the n-th one containing a word."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()

    def __call__(self, line: str) -> None:
        with self.changed:
            self.lines.append(line)
            self.changed.notify_all()

    def wait_for(self, word: str, count: int, timeout: float = 10.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.count(word) >= count, timeout), self.lines

    def count(self, word: str) -> int:
        return sum(word in line for line in self.lines)


def wait_until_the_server_hangs_up(session: KeptAlive) -> None:
    """The server's 421 and close make the control socket readable: wait for that."""
    sock = session.session.control.sock  # type: ignore[attr-defined]
    readable, _, _ = select.select([sock], [], [], IDLE_TIMEOUT + 5)
    assert readable, "the server did not close the idle session"


def test_keepalives_shorter_than_the_idle_timeout__keep_the_session_past_it(impatient, root):
    write(root, "a.txt", b"a")
    protocol: list[str] = []
    service = ConnectionService(timeout=10, log=lambda way, line: protocol.append(f"{way} {line}"))
    notes = Notes()
    session = KeptAlive(service.open(impatient.url("ftp")), interval=0.3, note=notes).start()
    try:
        started = time.monotonic()
        notes.wait_for("NOOP", 6)  # six keep-alives, 0.3 s apart: twice the idle timeout
        assert time.monotonic() - started > 1.5 * IDLE_TIMEOUT
        assert [entry.name for entry in session.listdir("/")] == ["a.txt"]
    finally:
        session.close()
    assert notes.count("reconnect") == 0  # the same session all along
    assert protocol.count("> NOOP") >= 6  # in the protocol log, answered
    assert not any("421" in line for line in protocol)


def test_a_session_the_server_dropped__reconnects_quietly_on_the_next_action(impatient, root):
    write(root, "a.txt", b"a")
    notes = Notes()
    session = KeptAlive(ConnectionService(timeout=10).open(impatient.url("ftp")), interval=0,
                        note=notes)  # fmt: skip
    try:
        wait_until_the_server_hangs_up(session)
        assert [entry.name for entry in session.listdir("/")] == ["a.txt"]  # no error
        assert session.connected
    finally:
        session.close()
    assert notes.count("reconnected") == 1


def test_a_reconnect_after_a_drop__judges_the_certificate_again(tls_server, root, pki):
    """The first session was accepted on --trust; that decision is gone when the session
    comes back, so the reconnect is refused (exit 4), not waved through on the old one."""
    tls_server._server.handler.timeout = IDLE_TIMEOUT
    write(root, "a.txt", b"a")
    service = ConnectionService(timeout=10, trust=[fingerprint(pki.leaf_der)],
                                check_revocation=False)  # fmt: skip
    judged: list[str] = []
    decide = service.policy.decide
    service.policy.decide = lambda check: judged.append(check.site) or decide(check)  # type: ignore[method-assign]
    session = KeptAlive(service.open(tls_server.url("ftpes")), interval=0)
    try:
        assert len(judged) == 1
        session.listdir("/")  # works, on the --trust decision
        wait_until_the_server_hangs_up(session)
        service.policy.fingerprints.clear()  # the user no longer vouches for it
        with pytest.raises(CertificateNotTrusted):
            session.listdir("/")
        assert len(judged) == 2  # the reconnect's handshake went through the policy
    finally:
        session.close()


def test_no_keepalive_while_a_transfer_is_in_flight_or_a_command_holds_the_lock(plain_server, root):
    write(root, "big.bin", b"x" * 100_000)
    now = [0.0]
    session = KeptAlive(ConnectionService(timeout=10).open(plain_server.url("ftp")),
                        interval=60, clock=lambda: now[0])  # fmt: skip
    try:
        now[0] = 120.0  # two minutes idle
        reader = session.open_read("/big.bin")
        now[0] = 300.0
        assert session.tick() is False  # RETR in flight: a NOOP would corrupt it
        assert len(reader.read(100_000)) == 100_000
        reader.close()
        held = threading.Event()
        release = threading.Event()

        def busy() -> None:
            with session.lock:
                held.set()
                release.wait(5)

        worker = threading.Thread(target=busy)
        worker.start()
        held.wait(5)
        now[0] = 600.0
        assert session.tick() is False  # a command in flight: not even a wait for the lock
        release.set()
        worker.join(5)
        assert session.tick() is True  # idle and free: the NOOP goes
        assert session.tick() is False  # and resets the idle time
    finally:
        session.close()


def test_the_keepalive_interval__is_read_from_the_connection_settings(hermetic_home):
    folder = os.path.join(hermetic_home, "config")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "config.toml")
    assert load_config().keepalive == 60.0  # below the usual idle timeouts (300 s and more)
    for text, expected in [("keepalive = 25", 25.0), ("keepalive = 0", 0.0)]:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"[connection]\n{text}\n")
        assert load_config().keepalive == expected
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('[connection]\nkeepalive = "soon"\n')
    with pytest.raises(ConfigError, match=r"\[connection\] keepalive must be seconds"):
        load_config()
