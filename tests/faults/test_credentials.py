"""Credentials under faults: nothing is sent or asked before the host, the transport's
security and the certificate are settled, and no message ever shows a password (URLs,
netrc files, server replies), nor lets a line break through to the wire."""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import write
from tui import cli_service
from tui.cli import main
from tui.demo import SandboxServer
from tui.errors import ConfigError, UsageError
from tui.sites import Site, netrc_credentials, parse_url
from tui.trust.store import TrustedCertificate, TrustStore

SECRET = "S3cretPW"
PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class Received:
    """The commands a pyftpdlib server receives from now on (PASS arguments masked)."""

    def __init__(self, server: SandboxServer) -> None:
        self.lines: list[str] = []
        lines, base = self.lines, server._server.handler  # type: ignore[attr-defined]
        # Wait for the server's loop to greet: a test that ends before its thread has logged
        # its start stops the server under it (an EBADF in that thread; SandboxServer's race).
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as probe:
            probe.recv(100)

        def pre_process_command(handler: object, line: str, cmd: str, arg: str) -> None:
            lines.append("PASS ****" if cmd == "PASS" else line)
            base.pre_process_command(handler, line, cmd, arg)

        # Each connection gets an instance of the server's handler class at accept time.
        server._server.handler = type(
            "Recording", (base,), {"pre_process_command": pre_process_command}
        )  # type: ignore[attr-defined]

    def verbs(self) -> list[str]:
        return [line.split(" ")[0].upper() for line in self.lines]


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The password prompts the CLI showed; each answers the sandbox's password."""
    prompts: list[str] = []

    def prompt(site: Site) -> str:
        prompts.append(site.key)
        return "demo"

    monkeypatch.setattr(cli_service, "prompt_password", prompt)
    return prompts


# --- refuse before you reveal ------------------------------------------------------------


def remember_tls(site: str, how: str) -> None:
    """Record that ``site`` spoke TLS: a pinned certificate, or a TLS login."""
    if how == "login":
        TrustStore().mark_tls(site)
        return
    pin = TrustedCertificate(sha256=":".join(["AB"] * 32), pem="", subject="CN=x", failing=[],
                             problems=[], accepted_at="2026-01-01T00:00:00Z",
                             not_after="2036-01-01T00:00:00Z")  # fmt: skip
    TrustStore().add(site, pin)


@pytest.mark.parametrize("how", ["pin", "login"])
def test_downgrade_on_a_site_that_used_tls__is_refused_before_user(
    how: str, plain_server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    received = Received(plain_server)
    remember_tls(f"127.0.0.1:{plain_server.port}", how)
    assert main(["ls", plain_server.url("ftp"), "--tls", "auto"]) == 4
    assert received.verbs() == ["AUTH"]  # refused, then nothing more: no USER, no PASS
    err = capsys.readouterr().err
    assert "TLS downgrade refused" in err and "before sending the user name" in err


def test_downgrade_with_allow_downgrade__logs_in_in_clear(plain_server: SandboxServer) -> None:
    received = Received(plain_server)
    TrustStore().mark_tls(f"127.0.0.1:{plain_server.port}")
    args = ["ls", plain_server.url("ftp"), "--tls", "auto", "--allow-downgrade"]
    assert main(args) == 0
    assert received.verbs()[:3] == ["AUTH", "USER", "PASS"]


def test_unknown_host__says_so_without_asking_for_a_password(
    asked: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", "ftp://bob@no-such-host.invalid/", "--timeout", "5"]) == 3
    assert "Unknown host" in capsys.readouterr().err
    assert asked == []


def test_cert_with_a_user_and_no_password__never_asks(
    tls_server: SandboxServer, pki, asked: list[str]
) -> None:
    received = Received(tls_server)
    url = f"ftpes://bob@127.0.0.1:{tls_server.port}/"
    assert main(["cert", url, "--ca-file", pki.ca_file]) == 0
    assert asked == [] and "USER" not in received.verbs()


def test_untrusted_certificate__refused_before_the_password_is_asked(
    tls_server: SandboxServer, asked: list[str]
) -> None:
    received = Received(tls_server)
    assert main(["ls", f"ftpes://demo@127.0.0.1:{tls_server.port}/"]) == 4  # no --ca-file
    assert asked == [] and "USER" not in received.verbs()


def test_password_asked_at_login__once_for_every_parallel_session(
    plain_server: SandboxServer, root: str, asked: list[str], tmp_path
) -> None:
    for n in range(6):
        write(root, f"tree/f{n}.txt", b"x" * n)
    url = f"ftp://demo@127.0.0.1:{plain_server.port}/tree"
    assert main(["get", url, str(tmp_path / "copy"), "-r", "-j", "3"]) == 0
    assert len(os.listdir(tmp_path / "copy")) == 6
    assert asked == [f"127.0.0.1:{plain_server.port}"]


def echo_password(server: SandboxServer) -> None:
    """Make the server refuse every password by quoting it, as a careless one might."""
    base = server._server.handler  # type: ignore[attr-defined]

    def ftp_PASS(handler: object, line: str) -> None:  # noqa: N802 - pyftpdlib's name
        handler.respond(f"530 Password {line} is not right")  # type: ignore[attr-defined]

    server._server.handler = type("Echo", (base,), {"ftp_PASS": ftp_PASS})  # type: ignore[attr-defined]


def test_server_echoing_the_password_in_its_refusal__masked_in_error_and_log(
    plain_server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    echo_password(plain_server)
    url = f"ftp://demo:{SECRET}@127.0.0.1:{plain_server.port}/"
    assert main(["ls", url, "-v"]) == 3
    err = capsys.readouterr().err
    assert "Login failed" in err and "530 Password **** is not right" in err
    assert SECRET not in err


# --- passwords never appear in a message -------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"ftp://bob:{SECRET}@host:99999/",  # port out of range
        f"ftp://bob:{SECRET}@host:12ab/",  # port not a number
        f"ftp://bob:{SECRET}@host:0/",
        f"gopher://bob:{SECRET}@host/",  # unknown scheme
        f"ftp://bob:{SECRET}@/path",  # empty host
        f"ftp://bob:{SECRET}@[::1/",  # broken IPv6 address
        f"ftp://bob:{SECRET[:3]}/{SECRET[3:]}@host:21/",  # a "/" in the password
        f"bob:{SECRET}@host",  # no scheme at all
    ],
)
def test_malformed_url_with_a_password__usage_error_without_it(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", url]) == 2
    err = capsys.readouterr().err
    assert SECRET not in err and SECRET[3:] not in err and err.count("\n") <= 2  # usage + line


def test_extra_argument_with_a_password__argparse_error_masks_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ls", "ftp://h/", f"ftp://bob:{SECRET}@h/"]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments" in err and SECRET not in err


@pytest.mark.parametrize(
    "text",
    [
        f"machine h login bob password {SECRET} extra\n",  # unknown word after the entry
        f'machine h login bob password "{SECRET}\n',  # quote never closed: runs to the end
        f"machine h login bob password my {SECRET}\n",  # a password with a space, unquoted
        f"macdef init\n{SECRET}\n",  # a macro that never ends
    ],
)
def test_malformed_netrc__names_the_file_not_its_words(
    text: str, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(text)
    code = main(["ls", "ftp://127.0.0.1:9/", "--netrc-file", str(netrc), "--timeout", "2"])
    err = capsys.readouterr().err
    assert SECRET not in err
    if code == 1:  # a parse error: said as such, naming the file
        assert str(netrc) in err and "Configuration error" in err
    else:  # the file parsed (a lenient reading): the next step, connecting, failed
        assert code == 3


# --- line breaks in a user name or password ----------------------------------------------


@pytest.mark.parametrize(
    "userinfo", ["bob%0D%0ADELE%20x:pw", "bob:pw%0D%0ADELE%20x", "bob:pw%0A", "bob%00:pw"]
)
def test_line_break_in_url_credentials__usage_error_before_connecting(
    userinfo: str, plain_server: SandboxServer, capsys
) -> None:
    received = Received(plain_server)
    assert main(["ls", f"ftp://{userinfo}@127.0.0.1:{plain_server.port}/"]) == 2
    err = capsys.readouterr().err
    assert "line break" in err and "DELE" not in err and "pw" not in err
    assert received.lines == []  # not even connected


def test_line_break_in_netrc_password__usage_error_without_it(
    plain_server: SandboxServer, tmp_path, capsys
) -> None:
    received = Received(plain_server)
    netrc = tmp_path / "netrc"
    netrc.write_text(f'machine 127.0.0.1 login demo password "{SECRET}\nDELE x"\n')
    assert main(["ls", plain_server.url("ftp", credentials=False), "--netrc-file", str(netrc)]) == 2
    err = capsys.readouterr().err
    assert "line break" in err and str(netrc) in err and SECRET not in err
    assert "USER" not in received.verbs()


def test_line_break_in_ferryman_password__usage_error_without_it(
    plain_server: SandboxServer, monkeypatch, capsys
) -> None:
    received = Received(plain_server)
    monkeypatch.setenv("FERRYMAN_PASSWORD", f"{SECRET}\r\nDELE x")
    assert main(["ls", f"ftp://demo@127.0.0.1:{plain_server.port}/"]) == 2
    err = capsys.readouterr().err
    assert "FERRYMAN_PASSWORD" in err and SECRET not in err
    assert "USER" not in received.verbs()


# --- properties ----------------------------------------------------------------------------


@PROPERTY
@given(st.text())
def test_any_text_as_url__a_site_or_a_usage_error(text: str) -> None:
    try:
        site = parse_url(text)
    except UsageError:
        return
    assert site.host and 1 <= site.port <= 65535
    for value in (site.user, site.password, site.path):
        assert value is None or not any(ch in value for ch in "\r\n\x00")


PASSWORDS = st.text(min_size=1).map(lambda rest: "PW" + rest)


@PROPERTY
@given(scheme=st.text(max_size=8), user=st.text(max_size=8), password=PASSWORDS,
       rest=st.text(max_size=30))  # fmt: skip
def test_url_with_a_password__no_message_shows_it(
    scheme: str, user: str, password: str, rest: str
) -> None:
    assume(password not in scheme + user + rest)
    try:
        site = parse_url(f"{scheme}://{user}:{password}@{rest}")
    except UsageError as error:
        assert password not in str(error)
        return
    assert password not in repr(site) and password not in site.url()


NETRC_WORDS = st.sampled_from(
    ["machine", "default", "login", "user", "password", "account", "macdef", "#", '"', "\\",
     "127.0.0.1", "h", "bob", "\n", "\n\n", " ", "\t"]
)  # fmt: skip


@PROPERTY
@given(before=st.lists(NETRC_WORDS | st.text(max_size=5)), after=st.lists(NETRC_WORDS),
       password=PASSWORDS, quoted=st.booleans())  # fmt: skip
def test_any_netrc__credentials_or_an_error_naming_the_file(
    tmp_path_factory, before: list[str], after: list[str], password: str, quoted: bool
) -> None:
    assume(password not in "".join(before + after))
    shown = f'"{password}"' if quoted else password
    path = tmp_path_factory.mktemp("netrc") / "netrc"
    text = " ".join([*before, "password", shown, *after])
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        netrc_credentials("127.0.0.1", None, str(path))
    except (ConfigError, UsageError) as error:
        assert str(path) in str(error) or isinstance(error, UsageError)
        assert password not in str(error)


@PROPERTY
@given(st.binary(max_size=200))
def test_any_bytes_as_netrc__credentials_or_an_error_naming_the_file(
    tmp_path_factory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("netrc") / "netrc"
    path.write_bytes(data)
    try:
        found = netrc_credentials("127.0.0.1", None, str(path))
    except ConfigError as error:
        assert str(path) in str(error)
        return
    except UsageError as error:
        assert "line break" in str(error) and str(path) in str(error)
        return
    if found is not None:
        assert not any(ch in "".join(found) for ch in "\r\n\x00")
