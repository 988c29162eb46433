"""The certificate matrix against vsftpd (explicit FTPS), through the CLI and the service."""

from __future__ import annotations

import pytest

from tests.interop.servers import Vsftpd
from tests.trust_matrix import CASES, check_case, loopback_names  # noqa: F401 - fixture

# vsftpd's OpenSSL (security level 2) will not load an RSA-1024 key or serve a SHA-1
# certificate, so those two cases run against pyftpdlib only.
SERVED = [case for case in CASES if not case.weak]


@pytest.mark.parametrize("case", SERVED, ids=[case.id for case in SERVED])
def test_case(case, interop_ready, matrix, capsys, loopback_names):  # noqa: F811
    server = Vsftpd(matrix.tls_for(case)).start()
    try:
        url = server.url("ftpes", server.root).replace("@127.0.0.1:", f"@{case.host}:")
        check_case(case, url, matrix, capsys)
    finally:
        server.stop()


WEAK = [case for case in CASES if case.weak]


@pytest.mark.parametrize("case", WEAK, ids=[case.id for case in WEAK])
def test_weak_certificates_are_refused_by_vsftpd_itself(case, interop_ready, matrix):
    """The reason the weak cases are pyftpdlib-only: check it stays true."""
    with pytest.raises(RuntimeError, match="exited at start-up|did not listen"):
        Vsftpd(matrix.tls_for(case)).start()
