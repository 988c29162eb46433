"""A ProxyJump host's key, judged like the site's, against private OpenSSH sshds: unknown →
asked (the app) or refused naming the jump host (the CLI, where ``--trust`` names the site's
key only), pinned → accepted, changed → refused loudly, listed in known_hosts → accepted;
``-J a,b`` chains judged hop by hop; the user's known_hosts never written."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from tests.interop.servers import password
from tests.interop.sshd import SSHD, host_fingerprint
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import AuthFailed, CertificateNotTrusted, ConnectFailed
from tui.remote import sshbridge
from tui.remote.base import OTHER_HOST_PROMPT
from tui.trust.policy import TrustDecision
from tui.trust.store import TrustStore


class Prompt:
    def __init__(self, *answers: TrustDecision) -> None:
        self.answers, self.shown, self.verdicts = list(answers), [], []

    def __call__(self, report):
        self.shown.append(report)
        self.verdicts.append(report.verdict)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture(autouse=True)
def known_hosts_untouched(client):
    """Every test ends with the client's known_hosts files byte-identical."""
    before = (digest(client.known_hosts), digest(client.global_known_hosts))
    yield
    assert (digest(client.known_hosts), digest(client.global_known_hosts)) == before


@pytest.fixture
def jump(client):
    """A second sshd, ``jumphost`` in the client's config, in front of ``behind`` (the
    shared server)."""
    started = SSHD().start(client.public_key)
    client.add_host("jumphost", started)
    yield started
    sshbridge.stop_masters()
    started.stop()


def behind(client, server, spec: str = "jumphost") -> str:
    client.add_host("behind", server, f"ProxyJump {spec}")
    return "sftpprobe://behind/"


def connections(sshd: SSHD) -> int:
    return sshd.log_text().lower().count("connection from 127.0.0.1")


def test_a_jump_host_not_in_known_hosts__is_asked_about_before_the_site(server, client, jump):
    asked = Prompt(TrustDecision.ONCE)
    with ConnectionService(prompt=asked, check_revocation=False).open(behind(client, server)) as fs:
        assert fs.version == 3
    first, second = asked.shown
    assert (first.site, first.fingerprint) == ("jumphost:22", host_fingerprint(jump))
    assert (second.site, second.fingerprint) == ("behind:22", host_fingerprint(server))
    assert asked.verdicts == ["untrusted", "untrusted"]
    assert dict(first.fields)["on_the_way_to"] == "behind:22"
    assert TrustStore().sites() == {}


def test_a_rejected_jump_host__is_not_trusted_and_nothing_reaches_the_site(server, client, jump):
    reached = connections(server)
    asked = Prompt(TrustDecision.REJECT)
    with pytest.raises(CertificateNotTrusted) as refused:
        ConnectionService(prompt=asked, check_revocation=False).open(behind(client, server))
    assert [report.site for report in asked.shown] == ["jumphost:22"]
    assert "jumphost:22" in str(refused.value) and "\n" not in str(refused.value)
    assert connections(server) == reached  # the jump never forwarded anything
    assert "Accepted publickey" not in jump.log_text()  # nor was it logged in to


def test_the_cli_and_an_unknown_jump_host__exits_4_naming_it_until_trust_add(
    server, client, jump, capsys
):
    target = behind(client, server)
    assert main(["ls", target]) == 4
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "jumphost:22" in error
    assert host_fingerprint(jump) in error and "trust add" in error
    assert main(["cert", target]) == 4  # the site's key is not reached past the jump host
    assert "jumphost:22" in capsys.readouterr().err
    # --trust names the site's key only: the jump host's fingerprint there changes nothing.
    assert main(["ls", target, "--trust", host_fingerprint(jump)]) == 4
    assert "jumphost:22" in capsys.readouterr().err
    assert main(["trust", "add", "sftpprobe://jumphost/", "--fingerprint",
                 host_fingerprint(jump)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["ls", target]) == 4  # now the site's own key is the one asked about
    error = capsys.readouterr().err
    assert "behind:22" in error and host_fingerprint(server) in error
    assert main(["ls", target, "--trust", host_fingerprint(server)]) == 0
    assert list(TrustStore().sites()) == ["jumphost:22"]


def test_a_jump_host_whose_key_changed__is_refused_loudly_with_both_fingerprints(
    server, client, jump, capsys
):
    target = behind(client, server)
    trusting = Prompt(TrustDecision.ALWAYS, TrustDecision.ONCE)  # the jump host, the site
    ConnectionService(prompt=trusting, check_revocation=False).open(target).close()
    assert list(TrustStore().sites()) == ["jumphost:22"]
    sshbridge.stop_masters()
    jump.stop()
    again = SSHD(port=jump.port).start(client.public_key)  # same address, new host keys
    try:
        asked = Prompt(TrustDecision.REJECT)
        with pytest.raises(CertificateNotTrusted) as refused:
            ConnectionService(prompt=asked, check_revocation=False).open(target)
        assert asked.verdicts == ["changed"]
        message = str(refused.value)
        assert "CHANGED" in message and "jumphost:22" in message and "\n" not in message
        assert host_fingerprint(jump) in message and host_fingerprint(again) in message
        assert main(["ls", target, "--trust", host_fingerprint(again)]) == 4
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "CHANGED" in error and "jumphost:22" in error
    finally:
        again.stop()


@pytest.mark.parametrize("known", [False, True], ids=["unknown", "in-known_hosts"])
def test_a_jump_host_asking_for_a_password__is_judged_then_asks_as_another_host(
    server, client, known, tmp_path
):
    """The site's password never answers a jump host's prompt, known or not."""
    jump = SSHD().start()  # no key of the client's: a password login
    try:
        options = ["PubkeyAuthentication no"]
        if known:  # in a file of the jump host's own: the shared known_hosts stays as it is
            own = tmp_path / "jump_known_hosts"
            own.write_text(f"{jump.name} {jump.host_keys['ssh-ed25519']}\n")
            options.append(f"UserKnownHostsFile {own}")
        client.add_host("jumphost", jump, *options)
        prompts: list[str] = []

        def ask(prompt, echo):
            prompts.append(prompt)
            return password()

        def site_password(site):
            raise AssertionError(f"the site's password was asked for: {site}")

        asked = Prompt(TrustDecision.ONCE)
        service = ConnectionService(prompt=asked, check_revocation=False,
                                    password_prompt=site_password, ask=ask)  # fmt: skip
        service.open(behind(client, server)).close()
        sites = [report.site for report in asked.shown]
        assert sites == (["behind:22"] if known else ["jumphost:22", "behind:22"])
        ((prompt),) = prompts
        assert prompt.startswith(OTHER_HOST_PROMPT) and prompt.endswith("password:")
    finally:
        sshbridge.stop_masters()
        jump.stop()


def test_a_pinned_jump_host__is_not_asked_about(server, client, jump, capsys):
    assert main(["trust", "add", "sftpprobe://jumphost/", "--fingerprint",
                 host_fingerprint(jump)]) == 0  # fmt: skip
    asked = Prompt(TrustDecision.ONCE)
    ConnectionService(prompt=asked, check_revocation=False).open(behind(client, server)).close()
    assert [report.site for report in asked.shown] == ["behind:22"]


def test_a_jump_host_written_with_user_and_port__is_judged_under_that_port(
    server, client, jump
):
    spec = f"ferrytest@127.0.0.1:{jump.port}"
    asked = Prompt(TrustDecision.ONCE)
    ConnectionService(prompt=asked, check_revocation=False).open(
        behind(client, server, spec)
    ).close()
    assert [(report.site, report.fingerprint) for report in asked.shown] == [
        (f"127.0.0.1:{jump.port}", host_fingerprint(jump)),
        ("behind:22", host_fingerprint(server)),
    ]


def test_a_two_hop_chain__judges_each_hop_in_order(server, client, jump):
    second = SSHD().start(client.public_key)
    try:
        client.add_host("second", second)
        asked = Prompt(TrustDecision.ONCE)
        with ConnectionService(prompt=asked, check_revocation=False).open(
            behind(client, server, "jumphost,second")
        ) as fs:
            assert fs.version == 3
        assert [(report.site, report.fingerprint) for report in asked.shown] == [
            ("jumphost:22", host_fingerprint(jump)),
            ("second:22", host_fingerprint(second)),
            ("behind:22", host_fingerprint(server)),
        ]
        assert connections(second) >= 1
    finally:
        sshbridge.stop_masters()
        second.stop()


def test_a_jump_host_listed_in_its_own_known_hosts_file__is_trusted_without_asking(
    server, client, tmp_path
):
    jump = SSHD().start(client.public_key)
    try:
        # Listed (hashed) in a file that only the jump host's own configuration names.
        own = tmp_path / "jump_known_hosts"
        own.write_text(f"{jump.name} {jump.host_keys['ssh-ed25519']}\n")
        subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(own)], check=True,
                       capture_output=True, timeout=30)  # fmt: skip
        client.add_host("jumphost", jump, f"UserKnownHostsFile {own}")
        before = digest(str(own))
        asked = Prompt(TrustDecision.ONCE)
        ConnectionService(prompt=asked, check_revocation=False).open(
            behind(client, server)
        ).close()
        assert [report.site for report in asked.shown] == ["behind:22"]
        assert digest(str(own)) == before
    finally:
        sshbridge.stop_masters()
        jump.stop()


def test_a_jump_host_that_refuses_the_login__is_named_in_the_error_not_the_site(server, client):
    jump = SSHD().start()  # no key of the client's, and the password given is wrong
    try:
        client.add_host("jumphost", jump, "PubkeyAuthentication no")
        service = ConnectionService(prompt=Prompt(TrustDecision.ONCE), check_revocation=False,
                                    ask=lambda prompt, echo: "not the password")  # fmt: skip
        with pytest.raises(AuthFailed) as refused:
            service.open(behind(client, server))
        message = str(refused.value)
        assert "jumphost:22" in message and "behind:22" in message and "\n" not in message
        assert "not the password" not in message
    finally:
        sshbridge.stop_masters()
        jump.stop()


def test_an_unreachable_jump_host__is_named_in_the_error_not_the_site(server, client):
    closed = SSHD()  # a free port nobody listens on
    client.add_host("jumphost", closed)
    with pytest.raises(ConnectFailed) as refused:
        ConnectionService(check_revocation=False).open(behind(client, server))
    message = str(refused.value)
    assert "jumphost:22 refused the connection" in message and "\n" not in message


def test_a_site_that_refuses_the_login_behind_a_good_jump_host__is_the_one_named(
    server, client
):
    jump = SSHD().start(client.public_key)
    try:
        client.add_host("jumphost", jump, "PubkeyAuthentication yes",
                        f"IdentityFile {client.identity}")  # fmt: skip
        target = behind(client, server)
        client.write(key=False)  # the site: a password login, with the wrong password
        service = ConnectionService(prompt=Prompt(TrustDecision.ONCE), check_revocation=False,
                                    password_prompt=lambda site: "not the password")  # fmt: skip
        with pytest.raises(AuthFailed) as refused:
            service.open(target)
        assert str(refused.value).startswith("ferrytest@behind:22 refused the login")
        assert "Accepted publickey" in jump.log_text()
    finally:
        sshbridge.stop_masters()
        jump.stop()
