"""Provides wrap_data: the TLS side of an FTPS data connection, set up as a transfer needs
and as CPython's ssl module cannot.

- **The session, handed straight over.** A data connection must resume the control
  connection's TLS session (vsftpd refuses it otherwise), so a tree of small files resumes
  a session once per file. CPython's ``SSLSocket.session`` setter makes a deep copy first
  (serialised and parsed again, the server's certificate with it): about 100 µs of CPU with
  the GIL held, 40 % of all the GIL-held time uploading 2,000 files of 4 KiB with four
  sessions. OpenSSL's ``SSL_set_session`` only takes a reference, as curl does. (Once a
  transfer stopped early has spoiled the shared session, the copy is made again.)
- **Reads in batches.** Without read-ahead OpenSSL makes two ``read()`` calls per 16 KiB
  record (its header, then its body): 132,000 system calls to download 1 GiB. With
  read-ahead and a 128 KiB buffer it takes what the socket has: about 18,000.
- **Reads without the wrapper.** Each ``recv_into`` on an ``ssl.SSLSocket`` goes through two
  Python methods before OpenSSL's read, and returns one record: about 1 µs of CPU 65,536
  times per GiB. ``receiver`` calls the C read directly, with the same timeout and the same
  end-of-stream rule.

Both go through ctypes on the connection's ``SSL`` pointer. That relies on the layout of two
CPython objects (the pointer in ``_ssl._SSLSocket``, the session in ``_ssl.SSLSession``), so
the layout is proved on every call: each object must point back at the very context it
belongs to. When a check fails, or OpenSSL's symbols are not reachable (a static build),
the connection is made the standard way: the same security, the old cost.
"""

from __future__ import annotations

import _ssl
import ctypes
import platform
import socket
import ssl
from collections.abc import Callable
from functools import cache
from typing import NamedTuple

_POINTER = ctypes.sizeof(ctypes.c_void_p)
_HEADER = 2 * _POINTER  # PyObject_HEAD: reference count and type
READ_BUFFER = 128 * 1024


class _OpenSSL(NamedTuple):
    set_session: ctypes._NamedFuncPointer
    is_resumable: ctypes._NamedFuncPointer
    set_read_ahead: ctypes._NamedFuncPointer
    set_read_buffer: ctypes._NamedFuncPointer


@cache
def _openssl() -> _OpenSSL | None:
    if platform.python_implementation() != "CPython":
        return None
    try:
        library = ctypes.CDLL(_ssl.__file__)
        functions = _OpenSSL(
            library.SSL_set_session,
            library.SSL_SESSION_is_resumable,
            library.SSL_set_read_ahead,
            library.SSL_set_default_read_buffer_len,
        )
    except (OSError, AttributeError):
        return None  # OpenSSL linked in statically, its symbols not exported
    functions.set_session.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
    functions.set_session.restype = ctypes.c_int
    functions.is_resumable.argtypes = (ctypes.c_void_p,)
    functions.is_resumable.restype = ctypes.c_int
    functions.set_read_ahead.argtypes = (ctypes.c_void_p, ctypes.c_int)
    functions.set_read_ahead.restype = None
    functions.set_read_buffer.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    functions.set_read_buffer.restype = None
    return functions


def _field(obj: object, index: int) -> int | None:
    """The index-th pointer after an object's header (CPython lays objects out in memory
    at their id)."""
    return ctypes.c_void_p.from_address(id(obj) + _HEADER + index * _POINTER).value


def _ssl_pointer(secure: ssl.SSLSocket) -> int | None:
    """The OpenSSL ``SSL *`` behind ``secure``, or None when the layout is not proved."""
    connection = secure._sslobj  # type: ignore[attr-defined]  # the _ssl._SSLSocket
    # _SSLSocket is {Socket, SSL *ssl, PySSLContext *ctx, …}: ctx must be our context.
    if connection is None or _field(connection, 2) != id(secure.context):
        return None
    return _field(connection, 1)


def _hand_over(secure: ssl.SSLSocket, session: ssl.SSLSession) -> bool:
    """Give ``session`` to OpenSSL for ``secure``'s handshake; False when that cannot be
    done safely here (then nothing was changed)."""
    functions = _openssl()
    pointer = _ssl_pointer(secure)
    # SSLSession is {SSL_SESSION *, PySSLContext *ctx}: ctx must be this context too, which
    # is also the check the standard setter makes ("Session refers to a different SSLContext").
    if functions is None or pointer is None or _field(session, 1) != id(secure.context):
        return False
    # OpenSSL marks a session not resumable when a connection that used it is closed
    # abruptly (a transfer stopped early). Shared, it would then be offered no more and the
    # server would refuse the data connection; the standard setter's copy is fresh.
    if not functions.is_resumable(_field(session, 0)):
        return False
    return bool(functions.set_session(pointer, _field(session, 0)))


def _batch_reads(secure: ssl.SSLSocket) -> bool:
    """Let OpenSSL read ahead into a READ_BUFFER buffer (before the handshake, which is
    when the buffer is made). False when that cannot be done safely here."""
    functions = _openssl()
    pointer = _ssl_pointer(secure)
    if functions is None or pointer is None:
        return False
    functions.set_read_buffer(pointer, READ_BUFFER)
    functions.set_read_ahead(pointer, 1)
    return True


def wrap_data(
    context: ssl.SSLContext,
    conn: socket.socket,
    server_hostname: str,
    session: ssl.SSLSession | None,
) -> ssl.SSLSocket:
    """``context.wrap_socket(conn, server_hostname=…, session=session)``, with reads in
    batches and without CPython's copy of the session where that can be done. With no
    session, a full handshake.

    Raises:
        ssl.SSLError, OSError: as ``wrap_socket`` (the handshake failed or timed out).
        ValueError: the session belongs to another context.
    """
    secure = context.wrap_socket(
        conn, server_hostname=server_hostname, do_handshake_on_connect=False
    )
    try:
        _batch_reads(secure)
        if session is not None and not _hand_over(secure, session):
            secure.session = session  # the standard way, with its copy
        secure.do_handshake()
    except BaseException:
        secure.close()
        raise
    return secure


def receiver(conn: socket.socket) -> Callable[[memoryview], int]:
    """A function that does ``conn.recv_into(view)``; for a TLS socket, without
    ``ssl.SSLSocket``'s Python layers. As there, a connection closed without TLS's
    close-notify counts as the end when ``suppress_ragged_eofs`` is set (the caller checks
    the size), and raises otherwise.

    Raises (from the function):
        ssl.SSLError, OSError (a timeout among them): as ``recv_into``.
    """
    connection = getattr(conn, "_sslobj", None)  # the _ssl._SSLSocket
    if not isinstance(conn, ssl.SSLSocket) or connection is None:
        return conn.recv_into
    read = connection.read
    ragged_is_end = getattr(conn, "suppress_ragged_eofs", True)  # not in the type stubs

    def receive(view: memoryview) -> int:
        try:
            return read(len(view), view)
        except ssl.SSLError as error:
            if error.args[0] == ssl.SSL_ERROR_EOF and ragged_is_end:
                return 0
            raise

    return receive
