"""Data connections resume the control connection's TLS session without CPython's copy,
and let OpenSSL read ahead.

Against pyftpdlib over explicit FTPS; the vsftpd interop tests (require_ssl_reuse=YES) run
the same path against a server that refuses a data connection that does not resume.
"""

from __future__ import annotations

import _ssl
import contextlib
import ctypes
import ftplib
import socket
import ssl
import threading

import pytest

from tests.conftest import write
from tui.connection import ConnectionService
from tui.remote import ftpcontrol, tlsdata

get_read_ahead = ctypes.CDLL(_ssl.__file__).SSL_get_read_ahead
get_read_ahead.argtypes = (ctypes.c_void_p,)


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[bool]]:
    """Records, per data connection, whether the session went to OpenSSL directly, whether
    the server resumed it, and whether OpenSSL reads ahead."""
    seen: dict[str, list[bool]] = {"direct": [], "resumed": [], "read_ahead": []}
    hand_over = tlsdata._hand_over

    def recording_hand_over(secure: ssl.SSLSocket, session: ssl.SSLSession) -> bool:
        seen["direct"].append(hand_over(secure, session))
        return seen["direct"][-1]

    def recording_wrap(*args: object) -> ssl.SSLSocket:
        secure = tlsdata.wrap_data(*args)  # type: ignore[arg-type]
        seen["resumed"].append(secure.session_reused)
        pointer = tlsdata._ssl_pointer(secure)
        seen["read_ahead"].append(pointer is not None and bool(get_read_ahead(pointer)))
        return secure

    monkeypatch.setattr(tlsdata, "_hand_over", recording_hand_over)
    monkeypatch.setattr(ftpcontrol, "wrap_data", recording_wrap)
    return seen


def read_three_times(server, root, pki) -> None:  # type: ignore[no-untyped-def]
    write(root, "a.txt", b"alpha")
    service = ConnectionService(ca_file=pki.ca_file, timeout=10, check_revocation=False)
    with service.open(server.url("ftpes")) as fs:
        for _ in range(3):
            with fs.open_read("/a.txt") as reader:
                assert reader.read() == b"alpha"


def test_every_data_connection_resumes_with_the_session_handed_straight_over(
    tls_server, root, pki, watched
):
    read_three_times(tls_server, root, pki)
    assert watched["direct"] == [True, True, True]
    assert watched["resumed"] == [True, True, True]
    assert watched["read_ahead"] == [True, True, True]


def test_without_openssl_symbols_the_standard_setter_still_resumes(
    tls_server, root, pki, watched, monkeypatch
):
    monkeypatch.setattr(tlsdata, "_openssl", lambda: None)  # e.g. a static build
    read_three_times(tls_server, root, pki)
    assert watched["direct"] == [False, False, False]
    assert watched["resumed"] == [True, True, True]
    assert watched["read_ahead"] == [False, False, False]  # a byte per record is still read


def test_a_session_from_another_context_is_refused_as_the_standard_setter_does(tls_server, pki):
    clients: list[ftplib.FTP_TLS] = []  # open to the end: an abrupt close spoils a session

    def session_of(context: ssl.SSLContext) -> ssl.SSLSession:
        client = ftplib.FTP_TLS(context=context, timeout=10)
        clients.append(client)
        client.connect("127.0.0.1", tls_server.port)
        client.auth()
        client.voidcmd("NOOP")  # its reply comes after the session ticket: now it has one
        assert client.sock.session is not None
        return client.sock.session

    own, other = (ssl.create_default_context(cafile=pki.ca_file) for _ in range(2))
    ours, theirs = session_of(own), session_of(other)
    left, right = socket.socketpair()
    with right, clients[0], clients[1]:
        secure = own.wrap_socket(left, do_handshake_on_connect=False, server_hostname="x")
        with secure:
            assert not tlsdata._hand_over(secure, theirs)  # nothing is handed over
            assert tlsdata._hand_over(secure, ours)  # the same socket accepts its own
    left, right = socket.socketpair()
    with right, pytest.raises(ValueError, match="different SSLContext"):
        tlsdata.wrap_data(own, left, "x", theirs)


def test_a_session_spoiled_by_an_abrupt_close_is_copied_instead(tls_server, root, pki, watched):
    """OpenSSL marks the session of a connection closed abruptly (a transfer stopped early)
    as not resumable, with SSL_CTX_remove_session; the session is shared, so the next data
    connection would not resume (ProFTPD and vsftpd refuse that). A copy is used instead."""
    write(root, "a.txt", b"alpha")
    service = ConnectionService(ca_file=pki.ca_file, timeout=10, check_revocation=False)
    with service.open(tls_server.url("ftpes")) as fs:
        with fs.open_read("/a.txt") as reader:
            assert reader.read() == b"alpha"
        control = fs.control
        session, context = control._data_session, control.data_context
        assert session is not None
        library = ctypes.CDLL(_ssl.__file__)
        library.SSL_CTX_remove_session.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
        library.SSL_CTX_remove_session(tlsdata._field(context, 0), tlsdata._field(session, 0))
        with fs.open_read("/a.txt") as reader:
            assert reader.read() == b"alpha"
    assert watched["direct"] == [True, False]
    assert watched["resumed"] == [True, True]


def tls_pair(pki, end: str, *, suppress_ragged_eofs: bool = True):  # type: ignore[no-untyped-def]
    """A client TLS socket to a server thread that sends 100,000 bytes, then ends the
    stream with a close-notify (``end="clean"``) or by dropping the TCP connection
    (``"ragged"``)."""
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(pki.tls.cert, pki.tls.key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with server_side.wrap_socket(conn, server_side=True) as secure:
            secure.sendall(bytes(range(250)) * 400)
            if end == "clean":
                with contextlib.suppress(OSError):  # the client may not answer the notify
                    secure.unwrap().close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_side = ssl.create_default_context(cafile=pki.ca_file)
    raw = socket.create_connection(listener.getsockname(), timeout=10)
    client = client_side.wrap_socket(raw, server_hostname="127.0.0.1",
                                     suppress_ragged_eofs=suppress_ragged_eofs)  # fmt: skip
    listener.close()
    return client, thread


def read_all(receive) -> tuple[bytes, int]:  # type: ignore[no-untyped-def]
    """Everything up to the first 0, and how many calls that took (at most 100)."""
    buffer = bytearray(65536)
    got = bytearray()
    for calls in range(1, 101):
        count = receive(memoryview(buffer))
        if not count:
            return bytes(got), calls
        got += buffer[:count]
    raise AssertionError("no end of stream")


@pytest.mark.parametrize("end", ["clean", "ragged"])
def test_the_receiver_reads_what_recv_into_reads_without_its_wrapper(pki, monkeypatch, end):
    client, thread = tls_pair(pki, end)

    def wrapper(*args: object, **kwargs: object) -> int:
        raise AssertionError("the receiver went through SSLSocket.recv_into")

    monkeypatch.setattr(ssl.SSLSocket, "recv_into", wrapper)
    with client:
        data, _ = read_all(tlsdata.receiver(client))
    thread.join(10)
    assert data == bytes(range(250)) * 400  # and then 0, at either end, as recv_into gives


def test_the_receiver_reports_a_cut_stream_where_recv_into_would(pki):
    client, thread = tls_pair(pki, "ragged", suppress_ragged_eofs=False)
    with client, pytest.raises(ssl.SSLError):
        read_all(tlsdata.receiver(client))
    thread.join(10)


def test_a_plain_socket_is_read_with_its_own_recv_into():
    left, right = socket.socketpair()
    with left, right:
        assert tlsdata.receiver(left) == left.recv_into
