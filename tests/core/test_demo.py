"""The demo sandbox: its certificate is refused until trusted, and its sample tree is there."""

from __future__ import annotations

import ssl

from tui.cli import main
from tui.demo import SAMPLE_FILES, SandboxServer, make_sample_tree, self_signed
from tui.remote.tls import fingerprint


def test_demo_server_needs_trust_then_serves_the_samples(tmp_path, capsys):
    root = tmp_path / "files"
    root.mkdir()
    make_sample_tree(str(root))
    tls = self_signed(str(tmp_path))
    assert (tmp_path / "demo-key.pem").stat().st_mode & 0o777 == 0o600
    sha256 = fingerprint(ssl.PEM_cert_to_DER_cert((tmp_path / "demo-cert.pem").read_text()))
    with SandboxServer(str(root), tls=tls) as server:
        assert main(["ls", server.url("ftpes")]) == 4
        assert sha256 in capsys.readouterr().err
        assert main(["ls", server.url("ftpes", "docs"), "--trust", sha256]) == 0
    listed = capsys.readouterr().out
    expected = {path.split("/")[1] for path in SAMPLE_FILES if path.startswith("docs/")}
    assert all(name in listed for name in expected)
