"""What the SSH channel reads from ssh: its stderr, explained as one error of the project's
own kinds (never a traceback, never two lines), and host certificates, whose plain key and
signing CA are read from the blob ssh hands over. Arbitrary bytes and text never raise."""

from __future__ import annotations

import base64
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.errors import (
    AuthFailed,
    ConnectFailed,
    ConnectionLost,
    FerrymanError,
    IdentityNotTrusted,
    NotSupported,
)
from tui.identity import SSH_HOST_KEY, Identity
from tui.remote.sshexplain import certificate_keys, explain, plain_type
from tui.sites import Site

SITE = Site("files.example", 2222, user="bob")
IDENTITY = Identity(site=SITE.key, host=SITE.host, kind=SSH_HOST_KEY, sha256="00" * 32)


@pytest.mark.parametrize(
    ("said", "status", "kind", "words"),
    [
        ("bob@files.example: Permission denied (publickey,password).\r\n", 255, AuthFailed,
         "refused the login"),
        ("Received disconnect from 10.0.0.1 port 22:2: Too many authentication failures\n",
         255, AuthFailed, "refused the login"),
        ("ssh: Could not resolve hostname nowhere: Name or service not known\n", 255,
         ConnectFailed, "Unknown host"),
        ("ssh: connect to host files.example port 2222: Connection refused\n", 255,
         ConnectFailed, "refused the connection"),
        ("ssh: connect to host files.example port 2222: Connection timed out\n", 255,
         ConnectFailed, "did not answer"),
        ("ssh: connect to host files.example port 2222: No route to host\n", 255,
         ConnectFailed, "unreachable"),
        ("subsystem request failed on channel 0\r\n", 255, NotSupported, "offers no SFTP"),
        ("No ED25519 host key is known for [files.example]:2222 and you have requested strict "
         "checking.\r\nHost key verification failed.\r\n", 255, IdentityNotTrusted,
         "was not accepted"),
        ("kex_exchange_identification: read: Connection reset by peer\n", 255, ConnectFailed,
         "closed the connection"),
        ("Welcome to files!\nSomething new went wrong\n", 255, ConnectFailed,
         "Something new went wrong"),
        ("", 255, ConnectFailed, "said nothing"),
        ("", 0, ConnectionLost, "ended"),
    ],
    ids=["denied", "too-many", "unknown-host", "refused", "timeout", "no-route", "subsystem",
         "host-key", "reset", "other", "silent", "clean-exit"],
)  # fmt: skip
def test_what_ssh_says__is_one_line_of_the_right_error(said, status, kind, words):
    error = explain(said, status, SITE, IDENTITY)
    assert isinstance(error, kind) and words in str(error)
    assert "\n" not in str(error) and "\r" not in str(error)


def test_a_host_key_refusal_before_any_key_was_judged__is_a_connect_failure():
    """A jump host's key, checked by an ssh Ferryman did not start, has no identity."""
    error = explain("Host key verification failed.\n", 255, SITE, None)
    assert isinstance(error, ConnectFailed) and "on the way to" in str(error)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.integers(min_value=0, max_value=255))
def test_any_stderr__is_explained_as_one_line_without_raising(said, status):
    error = explain(said, status, SITE, IDENTITY)
    assert isinstance(error, FerrymanError)
    assert "\n" not in str(error) and "\r" not in str(error)


@pytest.mark.parametrize("key_type", ["ed25519", "rsa", "ecdsa"])
def test_a_host_certificate__yields_its_plain_key_and_its_ca(tmp_path, key_type):
    ca, host = tmp_path / "ca", tmp_path / "host"
    for path, kind in ((ca, "ed25519"), (host, key_type)):
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True,
                       capture_output=True, timeout=30)  # fmt: skip
    subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-I", "id", "-h", "-n", "h.example",
                    str(host) + ".pub"], check=True, capture_output=True, timeout=30)  # fmt: skip
    certificate = (tmp_path / "host-cert.pub").read_text().split()
    plain = (tmp_path / "host.pub").read_text().split()
    found = certificate_keys(base64.b64decode(certificate[1]))
    assert found is not None
    kind, blob, authority = found
    assert (kind, base64.b64encode(blob).decode()) == (plain[0], plain[1])
    assert base64.b64encode(authority).decode() == (tmp_path / "ca.pub").read_text().split()[1]
    assert plain_type(certificate[0]) == plain[0]


def test_security_key_certificate_types__keep_their_openssh_suffix():
    assert plain_type("sk-ssh-ed25519-cert-v01@openssh.com") == "sk-ssh-ed25519@openssh.com"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes__are_a_certificate_or_none_without_raising(blob):
    found = certificate_keys(blob)
    assert found is None or (found[0] and found[1] and isinstance(found[2], bytes))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_a_truncated_certificate__is_none(tail):
    prefix = b"\x00\x00\x00\x20ssh-ed25519-cert-v01@openssh.com\x00\x00\x00\x04abcd"
    found = certificate_keys(prefix + tail)
    assert found is None or found[0] == "ssh-ed25519"
