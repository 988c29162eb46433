"""The SSH transport against a private OpenSSH sshd: host keys judged like certificates
(unknown, known in a hashed known_hosts, @cert-authority, changed, @revoked), ssh's prompts
through the askpass bridge, a ProxyJump alias, one shared login for parallel sessions, and
every way ssh fails explained in one line (no ssh, an old ssh, no sftp subsystem, a refused
connection, a refused login)."""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import subprocess
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.interop.servers import password
from tests.interop.sshd import SSHD, Client, host_fingerprint, keygen
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import AuthFailed, CertificateNotTrusted, ConfigError, ConnectFailed, NotSupported
from tui.identity import SSH_HOST_KEY, fingerprint, openssh_fingerprint
from tui.remote import sshbridge
from tui.remote.base import SessionSettings
from tui.remote.sshchannel import open_channel
from tui.sites import Site
from tui.trust.policy import TrustDecision
from tui.trust.store import TrustedIdentity, TrustStore


class Prompt:
    def __init__(self, answer: TrustDecision) -> None:
        self.answer, self.shown, self.verdicts = answer, [], []

    def __call__(self, report):
        self.shown.append(report)
        self.verdicts.append(report.verdict)  # as shown: the policy records the decision after
        return self.answer


def url(server: SSHD, host: str = "127.0.0.1") -> str:
    return f"sftpprobe://{host}:{server.port}/"


def test_an_unknown_host_key__is_asked_about_and_the_cli_refuses_with_its_fingerprint(
    server, client, capsys
):
    asked = Prompt(TrustDecision.ONCE)
    with ConnectionService(prompt=asked, check_revocation=False).open(url(server)) as fs:
        assert fs.version == 3 and fs.security.identity == SSH_HOST_KEY
    (report,) = asked.shown
    assert (report.kind, asked.verdicts, report.fingerprint) == (
        SSH_HOST_KEY, ["untrusted"], host_fingerprint(server))  # fmt: skip
    assert dict(report.fields)["known_hosts"].startswith("not listed")
    sshbridge.stop_masters()
    assert main(["ls", url(server)]) == 4
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and host_fingerprint(server) in error
    assert main(["ls", url(server), "--trust", host_fingerprint(server)]) == 0
    assert TrustStore().sites() == {}  # neither accept-once nor --trust writes anything
    assert os.path.getsize(client.known_hosts) == 0  # nor known_hosts


def test_the_cert_and_trust_commands__show_and_pin_a_host_key_without_logging_in(
    server, client, capsys
):
    before = server.log_text().count("Accepted publickey")
    assert main(["cert", url(server)]) == 4
    shown = capsys.readouterr().out
    assert host_fingerprint(server) in shown and "NOT TRUSTED" in shown
    assert main(["trust", "add", url(server), "--fingerprint", host_fingerprint(server)]) == 0
    capsys.readouterr()
    assert main(["cert", url(server), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "trusted-store"
    assert server.log_text().count("Accepted publickey") == before  # never logged in
    asked = Prompt(TrustDecision.REJECT)
    ConnectionService(prompt=asked, check_revocation=False).open(url(server)).close()
    assert asked.shown == []  # pinned
    # Like a connection, it prefers the key type known_hosts lists (here the RSA key).
    client.know(f"{server.name} {server.host_keys['ssh-rsa']}")
    assert main(["cert", url(server)]) == 0
    assert host_fingerprint(server, "ssh-rsa") in capsys.readouterr().out


def test_a_user_config_with_a_remote_command_and_a_local_command__still_gets_sftp(
    server, client
):
    with open(client.config, "a", encoding="ascii") as handle:
        handle.write("  RemoteCommand echo not sftp\n  PermitLocalCommand yes\n"
                     "  LocalCommand echo noise on stdout\n  LogLevel QUIET\n")  # fmt: skip
    with ConnectionService(prompt=Prompt(TrustDecision.ONCE), check_revocation=False).open(
        url(server)
    ) as fs:
        assert fs.version == 3


def test_a_key_in_a_hashed_known_hosts__is_trusted_without_asking(server, client):
    client.know(f"{server.name} {server.host_keys['ssh-ed25519']}", hashed=True)
    with open(client.known_hosts, encoding="ascii") as handle:
        assert handle.read().startswith("|1|")
    asked = Prompt(TrustDecision.REJECT)
    service = ConnectionService(prompt=asked, check_revocation=False)
    service.open(url(server)).close()
    assert asked.shown == []
    assert service.policy.report_for(f"127.0.0.1:{server.port}").verdict == "trusted-ca"


def test_a_host_certificate_signed_by_a_known_ca__is_trusted_without_asking(client, tmp_path):
    ca = str(tmp_path / "ca")
    ca_line = keygen(ca, "ed25519")
    signed = SSHD(certificate_ca=ca, principals="127.0.0.1").start(client.public_key)
    try:
        client.know(f"@cert-authority [127.0.0.1]:* {ca_line}")
        asked = Prompt(TrustDecision.REJECT)
        ConnectionService(prompt=asked, check_revocation=False).open(url(signed)).close()
        assert asked.shown == []
    finally:
        signed.stop()


def test_a_host_certificate_of_an_unknown_ca__falls_back_to_judging_its_plain_key(client, tmp_path):
    ca = str(tmp_path / "ca")
    keygen(ca, "ed25519")
    signed = SSHD(certificate_ca=ca).start(client.public_key)
    try:
        asked = Prompt(TrustDecision.REJECT)
        with pytest.raises(CertificateNotTrusted):
            ConnectionService(prompt=asked, check_revocation=False).open(url(signed))
        (report,) = asked.shown
        assert report.fingerprint == host_fingerprint(signed)
    finally:
        signed.stop()


def test_a_changed_host_key__is_refused_loudly_with_both_fingerprints(server, client, capsys):
    site = f"127.0.0.1:{server.port}"
    old = fingerprint(b"the key this site had before")
    TrustStore().add(site, TrustedIdentity(
        kind=SSH_HOST_KEY, sha256=old, failing=["general"], problems=[],
        accepted_at="2026-01-01T00:00:00Z",
        details={"key_type": "ssh-ed25519", "key": base64.b64encode(b"old").decode()},
    ))  # fmt: skip
    asked = Prompt(TrustDecision.REJECT)
    with pytest.raises(CertificateNotTrusted) as refused:
        ConnectionService(prompt=asked, check_revocation=False).open(url(server))
    assert asked.verdicts == ["changed"]
    message = str(refused.value)
    assert "CHANGED" in message and openssh_fingerprint(old) in message
    assert host_fingerprint(server) in message and refused.value.title == "Host key not trusted"
    assert main(["ls", url(server)]) == 4
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "CHANGED" in error


def test_a_key_other_than_the_one_known_hosts_lists__is_refused_as_possibly_an_attack(
    server, client, tmp_path, capsys
):
    other = keygen(str(tmp_path / "other"), "ed25519")
    client.know(f"{server.name} {other}")
    assert main(["ls", url(server)]) == 4
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "DIFFERENT" in error and host_fingerprint(server) in error


def test_a_server_whose_key_changed_since_it_was_trusted__is_refused_with_both_fingerprints(
    client, capsys
):
    first = SSHD().start(client.public_key)
    try:
        ConnectionService(prompt=Prompt(TrustDecision.ALWAYS), check_revocation=False).open(
            url(first)
        ).close()
    finally:
        first.stop()
    sshbridge.stop_masters()
    again = SSHD(port=first.port).start(client.public_key)  # same address, new host keys
    try:
        assert main(["ls", url(again)]) == 4
        error = capsys.readouterr().err
        assert "CHANGED" in error and host_fingerprint(first) in error
        assert host_fingerprint(again) in error and error.count("\n") == 1
    finally:
        again.stop()


def test_a_key_in_the_users_agent__logs_in_through_the_inherited_environment(
    server, client, tmp_path, monkeypatch
):
    socket_path = str(tmp_path / "agent.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", socket_path],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(socket_path) and time.monotonic() < deadline:
            time.sleep(0.02)  # until the agent listens
        monkeypatch.setenv("SSH_AUTH_SOCK", socket_path)
        subprocess.run(["ssh-add", client.identity], check=True, capture_output=True, timeout=10)
        client.write(key=False, agent=True)  # the key only in the agent
        ConnectionService(prompt=Prompt(TrustDecision.ONCE), check_revocation=False).open(
            url(server)
        ).close()
        assert "Accepted publickey" in server.log_text()
    finally:
        agent.terminate()
        agent.wait(timeout=10)


def test_a_revoked_host_key__is_refused_and_cannot_be_accepted(server, client, capsys):
    client.know(f"@revoked {server.name} {server.host_keys['ssh-ed25519']}")
    asked = Prompt(TrustDecision.ALWAYS)
    with pytest.raises(CertificateNotTrusted, match="REVOKED"):
        ConnectionService(prompt=asked, check_revocation=False).open(url(server))
    assert asked.shown == [] and TrustStore().sites() == {}
    assert main(["ls", url(server), "--trust", host_fingerprint(server)]) == 4
    assert "REVOKED" in capsys.readouterr().err


def test_an_alias_behind_a_proxyjump__connects_through_the_jump_host(server, client):
    jump = SSHD().start(client.public_key)
    try:
        client.know(f"{jump.name} {jump.host_keys['ssh-ed25519']}")  # ssh checks the jump host
        client.add_host("jumphost", jump)
        client.add_host("behind", server, "ProxyJump jumphost")
        asked = Prompt(TrustDecision.ONCE)
        with ConnectionService(prompt=asked, check_revocation=False).open(
            "sftpprobe://behind/"
        ) as fs:
            assert fs.version == 3
        (report,) = asked.shown
        assert report.site == "behind:22" and report.fingerprint == host_fingerprint(server)
        assert "connection from 127.0.0.1" in jump.log_text().lower()
    finally:
        jump.stop()


def test_password_login__goes_through_the_askpass_bridge_once_for_parallel_sessions(server, client):
    client.write(key=False)
    asked: list[object] = []

    def password_prompt(site):
        asked.append((site.user, site.key))
        return password()

    service = ConnectionService(prompt=Prompt(TrustDecision.ONCE), check_revocation=False,
                                password_prompt=password_prompt)  # fmt: skip
    first = service.open(url(server))
    second = service.open(url(server))  # through the first one's master: no second login
    assert (first.version, second.version) == (3, 3)
    assert asked == [("ferrytest", f"127.0.0.1:{server.port}")]
    first.close()
    second.close()


def test_a_key_passphrase__is_asked_through_the_bridge_with_sshs_prompt(server, client, tmp_path):
    locked = Client(str(tmp_path / "locked"), passphrase="open sesame")
    server.authorize(locked.public_key)
    os.environ["FERRYMAN_SSH_CONFIG"] = locked.config  # the client fixture restores it
    prompts: list[tuple[str, bool]] = []

    def ask(prompt, echo):
        prompts.append((prompt, echo))
        return "open sesame"

    service = ConnectionService(prompt=Prompt(TrustDecision.ONCE), check_revocation=False,
                                ask=ask)  # fmt: skip
    service.open(url(server)).close()
    ((prompt, echo),) = prompts
    assert prompt.startswith("Enter passphrase for key") and locked.identity in prompt
    assert echo is False


def test_what_ssh_and_its_helpers_print__never_reaches_the_terminal(server, client, capfd):
    client.write(key=False)
    with open(client.config, "a", encoding="ascii") as handle:
        handle.write("  LogLevel DEBUG3\n")  # as chatty as a user's config can make it
    with pytest.raises(AuthFailed):
        ConnectionService(prompt=Prompt(TrustDecision.ONCE), check_revocation=False,
                          password_prompt=lambda site: "wrong").open(url(server))  # fmt: skip
    assert capfd.readouterr() == ("", "")


def test_a_wrong_password__is_one_line_of_auth_failed(server, client):
    client.write(key=False)
    service = ConnectionService(prompt=Prompt(TrustDecision.ONCE), check_revocation=False,
                                password_prompt=lambda site: "not the password")  # fmt: skip
    with pytest.raises(AuthFailed) as refused:
        service.open(url(server))
    assert "refused the login" in str(refused.value) and "\n" not in str(refused.value)
    assert "not the password" not in str(refused.value)


def test_a_password_prompt_with_nobody_to_answer__fails_as_auth_failed(server, client, capsys):
    client.write(key=False)
    assert main(["ls", url(server), "--trust", host_fingerprint(server)]) == 3
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "password" in error.lower()


def test_a_server_without_the_sftp_subsystem__is_not_supported(client):
    bare = SSHD(subsystem=False).start(client.public_key)
    try:
        with pytest.raises(NotSupported, match="offers no SFTP"):
            ConnectionService(prompt=Prompt(TrustDecision.ONCE), check_revocation=False).open(
                url(bare)
            )
    finally:
        bare.stop()


def test_a_refused_connection__is_connect_failed(client):
    closed = SSHD()  # a free port nobody listens on
    with pytest.raises(ConnectFailed, match="refused the connection"):
        ConnectionService(check_revocation=False).open(url(closed))


def test_a_server_that_stalls_in_the_key_exchange__fails_within_its_timeout(client):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve():
        connection, _ = listener.accept()
        connection.sendall(b"SSH-2.0-OpenSSH_9.2 stalls after this\r\n")
        stop.wait(30)
        connection.close()

    threading.Thread(target=serve, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(ConnectFailed, match="did not answer in time"):
            ConnectionService(check_revocation=False, timeout=2).open(
                f"sftpprobe://127.0.0.1:{port}/"
            )
        assert time.monotonic() - started < 10
    finally:
        stop.set()
        listener.close()


def fake_ssh(folder, version_line: str | None) -> str:
    os.makedirs(folder, exist_ok=True)
    if version_line is not None:
        path = os.path.join(folder, "ssh")
        with open(path, "w", encoding="ascii") as handle:
            handle.write(f"#!/bin/sh\necho '{version_line}' >&2\nexit 0\n")
        os.chmod(path, stat.S_IRWXU)
    return str(folder)


@pytest.mark.parametrize(
    ("version_line", "expected"),
    [(None, "none is on PATH"), ("OpenSSH_8.2p1 Ubuntu-4ubuntu0.11, OpenSSL 1.1.1f", "8.5"),
     ("Dropbear v2022.83", "needs the OpenSSH client")],
    ids=["missing", "too-old", "not-openssh"],
)  # fmt: skip
def test_no_usable_ssh_client__is_not_supported_in_one_line(
    client, tmp_path, monkeypatch, capsys, version_line, expected
):
    monkeypatch.setenv("PATH", fake_ssh(tmp_path / "bin", version_line))
    with pytest.raises(NotSupported, match=expected):
        ConnectionService(check_revocation=False).open("sftpprobe://127.0.0.1:2/")
    assert main(["ls", "sftpprobe://127.0.0.1:2/"]) != 0
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and expected in error


def test_closing_a_channel_whose_ssh_waits_for_an_answer__ends_ssh_within_seconds(
    server, client
):
    client.write(key=False)
    waiting, release = threading.Event(), threading.Event()

    def ask(prompt, echo):
        waiting.set()
        release.wait(30)
        return None

    channel = open_channel(Site("127.0.0.1", server.port, user="ferrytest"),
                           SessionSettings(decider=lambda identity: True, ask=ask))  # fmt: skip
    try:
        assert waiting.wait(20)
        started = time.monotonic()
        channel.close()
        channel.close()  # idempotent
        assert channel.process.returncode is not None and time.monotonic() - started < 5
    finally:
        release.set()


def test_the_bridge__lives_in_a_private_directory_and_ignores_strangers(client):
    runtime = sshbridge.runtime()
    assert stat.S_IMODE(os.stat(runtime.directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(runtime.socket_path).st_mode) == 0o600
    with socket.socket(socket.AF_UNIX) as stranger:
        stranger.connect(runtime.socket_path)
        stranger.sendall(b'{"token": "guessed", "op": "askpass", "args": ["x"]}\n')
        stranger.shutdown(socket.SHUT_WR)
        assert json.loads(stranger.recv(1000)) == {"answer": None}


def test_no_place_for_the_private_directory__is_one_line_of_config_error(
    client, tmp_path, monkeypatch
):
    monkeypatch.setattr(sshbridge, "_RUNTIME", None)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="private directory for ssh"):
        sshbridge.runtime()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["token", "op", "args", "x"]), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000) | JSON.map(lambda value: json.dumps(value).encode()))
def test_any_request_sent_to_the_bridge__gets_no_answer_and_leaves_it_serving(garbage):
    runtime = sshbridge.runtime()
    token = runtime.register(lambda operation, arguments: "served")
    try:
        with socket.socket(socket.AF_UNIX) as stranger:
            stranger.connect(runtime.socket_path)
            stranger.sendall(garbage)
            stranger.shutdown(socket.SHUT_WR)
            stranger.settimeout(10)
            reply = stranger.recv(1000)
        try:
            json.loads(garbage.decode("utf-8", "surrogateescape"))
        except ValueError:
            assert reply in (b"", b'{"answer": null}\n')  # not JSON: closed, or no answer
        else:
            assert reply == b'{"answer": null}\n'  # JSON but not the helper's: no answer
        with socket.socket(socket.AF_UNIX) as helper:
            helper.connect(runtime.socket_path)
            helper.sendall(json.dumps({"token": token, "op": "askpass", "args": []}).encode())
            helper.shutdown(socket.SHUT_WR)
            helper.settimeout(10)
            assert json.loads(helper.recv(1000)) == {"answer": "served"}
    finally:
        runtime.unregister(token)
