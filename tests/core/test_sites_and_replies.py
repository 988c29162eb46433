"""URL parsing, netrc credentials, and the mapping of FTP replies to errors."""

from __future__ import annotations

import os

import pytest

from tui.connection import ConnectionService
from tui.errors import (
    AlreadyExists,
    AuthFailed,
    ConfigError,
    ConnectionLost,
    DiskFull,
    NotFound,
    NotSupported,
    PermissionDenied,
    UsageError,
)
from tui.remote.replies import error_for_reply, meaning
from tui.remote.tls import normalize_fingerprint
from tui.sites import netrc_credentials, parse_url


def test_schemes_ports_and_paths():
    site = parse_url("ftpes://alice:s%40cret@files.example.org/pub/x%20y.txt")
    assert (site.tls, site.port, site.user, site.password) == ("explicit", 21, "alice", "s@cret")
    assert site.path == "pub/x y.txt"  # relative to the login directory, like curl and lftp
    assert parse_url("ftps://h/").tls == "implicit" and parse_url("ftps://h/").port == 990
    assert parse_url("ftp://h:2121//abs/dir").path == "/abs/dir"
    assert parse_url("ftp://h/%2Fabs").path == "/abs"
    six = parse_url("ftp://[::1]:2121/")
    assert (six.host, six.key) == ("::1", "[::1]:2121")
    assert "s@cret" not in site.url() and "alice@" in site.url()


@pytest.mark.parametrize(
    "url",
    [
        "files.example.org",
        "http://h/",
        "scp://h/",
        "ftp:///nohost",
        "ftp://h:99999/",
        "ftp://h/a%0d%0aDELE%20x",
    ],
)
def test_bad_urls_are_usage_errors(url):
    with pytest.raises(UsageError):
        parse_url(url)


def test_netrc_then_anonymous(tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine files.example.org login bob password hunter2\n")
    os.chmod(netrc, 0o600)
    assert netrc_credentials("files.example.org", None, str(netrc)) == ("bob", "hunter2")
    assert netrc_credentials("files.example.org", "carol", str(netrc)) is None
    # Credentials are found at login (with_credentials), not when the URL is read.
    service = ConnectionService(netrc_file=str(netrc))
    assert service.site_for("ftp://files.example.org/").password is None
    site = service.with_credentials(service.site_for("ftp://files.example.org/"))
    assert (site.user, site.password) == ("bob", "hunter2")
    anonymous = service.with_credentials(service.site_for("ftp://other.example.org/"))
    assert (anonymous.user, anonymous.password) == ("anonymous", "anonymous@")
    asked = ConnectionService(netrc_file=str(netrc), password_prompt=lambda site: "typed")
    assert asked.with_credentials(asked.site_for("ftp://dave@other.example.org/")).password == (
        "typed"
    )
    netrc.write_text("machine\n")
    with pytest.raises(ConfigError, match="netrc"):
        netrc_credentials("x", None, str(netrc))


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("550 No such file or directory", NotFound),
        ("550 Failed to open file.", NotFound),  # vsftpd
        ("550 Can't check for file existence", NotFound),  # pure-ftpd
        ("550 Permission denied", PermissionDenied),
        ("550 /x: File exists", AlreadyExists),
        ("521 Directory already exists", AlreadyExists),
        ("530 Login incorrect.", AuthFailed),
        ("552 Quota exceeded", DiskFull),
        ("452 Insufficient storage space", DiskFull),
        ("421 Timeout.", ConnectionLost),
        ("502 Command not implemented", NotSupported),
    ],
)
def test_replies_map_to_errors(reply, error):
    mapped = error_for_reply(reply, "Doing it")
    assert type(mapped) is error
    assert mapped.message.startswith("Doing it: ") and reply[:3] in mapped.message
    assert mapped.code == int(reply[:3])


def test_reply_meanings():
    assert meaning(530) == "Not logged in"
    assert meaning(550).startswith("File unavailable")
    assert meaning(599) == "Permanent failure"


def test_fingerprint_forms():
    canonical = ":".join(["AB"] * 32)
    assert normalize_fingerprint("SHA256:" + "ab" * 32) == canonical
    assert normalize_fingerprint(canonical.lower()) == canonical
    with pytest.raises(ValueError):
        normalize_fingerprint("AB:CD")
