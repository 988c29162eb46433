"""The seam for every protocol: a toy backend (a folder on the local disk, ``toy://``) with a
toy identity kind goes through the same registry, trust policy, trust store, prompt and CLI
as FTPS, and nothing in ``tui`` names it. It is browsed, trusted once, trusted always,
refused when its identity changes, and refused for good when revoked."""

from __future__ import annotations

import json

import pytest

from tests.toy_backend import KIND, registered, serving, set_key
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import CertificateNotTrusted, UsageError
from tui.identity import openssh_fingerprint
from tui.sites import parse_url
from tui.trust.policy import TrustDecision
from tui.trust.store import TrustStore


class Prompt:
    def __init__(self, answer: TrustDecision) -> None:
        self.answer = answer
        self.shown: list = []
        self.verdicts: list[str] = []  # as shown: the policy records the decision after

    def __call__(self, report):
        self.shown.append(report)
        self.verdicts.append(report.verdict)
        return self.answer


@pytest.fixture
def toy(tmp_path):
    """A toy server serving a folder with one file; yields (url, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "hello.txt").write_text("hello from the toy server\n")
    with registered(), serving(str(folder)) as url:
        yield url, str(folder)


def names(fs, path="/"):
    return sorted(entry.name for entry in fs.listdir(path) if not entry.name.startswith("."))


def test_a_toy_url__is_parsed_through_the_registry(toy):
    url, _ = toy
    site = parse_url(url + "some/dir")
    assert (site.protocol, site.port, site.scheme, site.path) == ("toy", 7, "toy", "some/dir")
    assert site.url() == "toy://toy.test:7/some/dir"


def test_an_unregistered_scheme__is_a_usage_error_naming_the_registered_ones():
    with pytest.raises(UsageError, match=r"use ftp://, ftpes://, ftps:// or sftp://"):
        parse_url("toy://toy.test/")


def test_a_toy_server_trusted_once__is_browsed_and_asked_again_next_run(toy):
    url, _ = toy
    once = Prompt(TrustDecision.ONCE)
    service = ConnectionService(prompt=once, check_revocation=False)
    with service.open(url) as fs:
        assert names(fs) == ["hello.txt"]
        assert fs.security.badge == "TOY" and fs.security.identity == KIND
    (report,) = once.shown
    assert (report.kind, report.site, once.verdicts) == (KIND, "toy.test:7", ["untrusted"])
    assert report.fingerprint.startswith("SHA256:")  # the kind's form (OpenSSH's)
    service.open(url).close()  # the same run: not asked again
    assert len(once.shown) == 1
    assert TrustStore().sites() == {}  # nothing written
    again = Prompt(TrustDecision.REJECT)
    with pytest.raises(CertificateNotTrusted, match="toy key of toy.test:7 is not trusted"):
        ConnectionService(prompt=again, check_revocation=False).open(url)
    assert len(again.shown) == 1


def test_a_toy_server_trusted_always__is_pinned_by_kind_and_not_asked_again(toy):
    url, _ = toy
    ConnectionService(prompt=Prompt(TrustDecision.ALWAYS), check_revocation=False).open(url)
    (pin,) = TrustStore().pins("toy.test:7")
    assert pin.kind == KIND and pin.details["Key type"] == "toy"
    with open(TrustStore().path, encoding="utf-8") as handle:
        data = json.load(handle)
    assert data["schema"] == 2 and data["sites"]["toy.test:7"]["pins"][0]["kind"] == KIND
    quiet = Prompt(TrustDecision.REJECT)
    with ConnectionService(prompt=quiet, check_revocation=False).open(url) as fs:
        assert names(fs) == ["hello.txt"]
    assert quiet.shown == []


def test_a_changed_toy_key__is_refused_loudly_with_both_fingerprints(toy, capsys):
    url, folder = toy
    ConnectionService(prompt=Prompt(TrustDecision.ALWAYS), check_revocation=False).open(url)
    old = TrustStore().pins("toy.test:7")[0].sha256
    new = set_key(folder, b"another key")
    asked = Prompt(TrustDecision.REJECT)
    with pytest.raises(CertificateNotTrusted) as refused:
        ConnectionService(prompt=asked, check_revocation=False).open(url)
    (report,) = asked.shown
    assert (asked.verdicts, report.previous, report.sha256) == (["changed"], old, new)
    message = str(refused.value)
    assert "CHANGED" in message and openssh_fingerprint(old) in message
    assert openssh_fingerprint(new) in message
    assert refused.value.title == "Toy key not trusted"
    # The CLI: exit 4 with one line; --trust in the kind's own form accepts it for one run.
    assert main(["ls", url]) == 4
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "CHANGED" in error
    assert main(["ls", url, "--trust", openssh_fingerprint(new)]) == 0
    assert "hello.txt" in capsys.readouterr().out
    assert TrustStore().pins("toy.test:7")[0].sha256 == old  # --trust saves nothing


def test_the_trust_commands__add_list_and_forget_a_toy_key(toy, capsys):
    url, _ = toy
    report = ConnectionService(check_revocation=False).fetch_report(url)
    assert main(["cert", url]) == 4
    assert "Toy key of toy.test:7: NOT TRUSTED" in capsys.readouterr().out
    assert main(["trust", "add", url, "--fingerprint", report.fingerprint]) == 0
    assert f"Trusting {report.fingerprint}" in capsys.readouterr().out
    assert main(["cert", url, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["kind"], shown["verdict"]) == (KIND, "trusted-store")
    assert main(["trust", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["kind"], row["sha256"]) == (KIND, report.fingerprint)
    assert main(["trust", "forget", "toy.test:7", "--fingerprint", report.fingerprint]) == 0
    assert TrustStore().pins("toy.test:7") == []


def test_a_revoked_toy_key__is_refused_and_never_asked_about(toy):
    url, folder = toy
    set_key(folder, b"REVOKED by its owner")
    asked = Prompt(TrustDecision.ALWAYS)
    with pytest.raises(CertificateNotTrusted, match="REVOKED"):
        ConnectionService(prompt=asked, check_revocation=False).open(url)
    assert asked.shown == [] and TrustStore().sites() == {}
