"""The certificate matrix against pyftpdlib: every case, both the CLI and the service API."""

from __future__ import annotations

import pytest

from tests.trust_matrix import CASES, check_case, loopback_names  # noqa: F401 - fixture
from tui.demo import SandboxServer


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(case, matrix, tmp_path, capsys, loopback_names):  # noqa: F811
    with SandboxServer(str(tmp_path), tls=matrix.tls_for(case), weak_crypto=case.weak) as server:
        check_case(case, f"ftpes://demo:demo@{case.host}:{server.port}/", matrix, capsys)
