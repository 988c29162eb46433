"""Provides wrap_resumed: a TLS client connection that resumes a session without copying it.

An FTPS data connection must resume the control connection's TLS session (vsftpd refuses it
otherwise), so a tree of small files resumes a session once per file. CPython's
``SSLSocket.session`` setter does not hand the session to OpenSSL: it makes a deep copy
first (serialised and parsed again, the server's certificate with it), about 100 µs of CPU
with the GIL held. Uploading 2,000 files of 4 KiB with four sessions, that copy was 40 % of
all the time a thread held the GIL.

OpenSSL's own ``SSL_set_session`` only takes a reference, and that is what curl does for
every connection it resumes. This module calls it through ctypes. It relies on the layout of
two CPython objects (the SSL pointer in ``_ssl._SSLSocket``, the session pointer in
``_ssl.SSLSession``), so it first proves the layout on each call: both objects must point
back at the very context they belong to. When a check fails, or OpenSSL's symbols are not
reachable (a static build), the standard setter does the work, copy and all.
"""

from __future__ import annotations

import _ssl
import ctypes
import platform
import socket
import ssl
from collections.abc import Callable
from functools import cache

_POINTER = ctypes.sizeof(ctypes.c_void_p)
_HEADER = 2 * _POINTER  # PyObject_HEAD: reference count and type


def _field(obj: object, index: int) -> int | None:
    """The index-th pointer after an object's header (CPython lays objects out in memory
    at their id)."""
    return ctypes.c_void_p.from_address(id(obj) + _HEADER + index * _POINTER).value


@cache
def _set_session() -> Callable[[int | None, int | None], int] | None:
    if platform.python_implementation() != "CPython":
        return None
    try:
        function = ctypes.CDLL(_ssl.__file__).SSL_set_session
    except (OSError, AttributeError):
        return None  # OpenSSL linked in statically, its symbols not exported
    function.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
    function.restype = ctypes.c_int
    return function


def _hand_over(secure: ssl.SSLSocket, session: ssl.SSLSession) -> bool:
    """Give ``session`` to OpenSSL for ``secure``'s handshake; False when that cannot be
    done safely here (then nothing was changed)."""
    set_session = _set_session()
    connection = secure._sslobj  # type: ignore[attr-defined]  # the _ssl._SSLSocket
    context = secure.context
    if set_session is None or connection is None:
        return False
    # _SSLSocket: {Socket, SSL *ssl, PySSLContext *ctx, …}; SSLSession: {SSL_SESSION *, ctx}.
    # Both must point at this context: that proves the layout, and it is the check the
    # standard setter makes ("Session refers to a different SSLContext").
    if _field(connection, 2) != id(context) or _field(session, 1) != id(context):
        return False
    return bool(set_session(_field(connection, 1), _field(session, 0)))


def wrap_resumed(
    context: ssl.SSLContext,
    conn: socket.socket,
    server_hostname: str,
    session: ssl.SSLSession | None,
) -> ssl.SSLSocket:
    """``context.wrap_socket(conn, server_hostname=…, session=session)``, done in one
    handshake, without CPython's copy of the session where that can be avoided. With no
    session, a full handshake.

    Raises:
        ssl.SSLError, OSError: as ``wrap_socket`` (the handshake failed or timed out).
        ValueError: the session belongs to another context.
    """
    secure = context.wrap_socket(
        conn, server_hostname=server_hostname, do_handshake_on_connect=False
    )
    try:
        if session is not None and not _hand_over(secure, session):
            secure.session = session  # the standard way, with its copy
        secure.do_handshake()
    except BaseException:
        secure.close()
        raise
    return secure
