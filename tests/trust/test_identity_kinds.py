"""The trust policy's rules hold for every identity kind: an SSH host key (as the SFTP
backend will present it, a ``tui.identity.Identity``) is vouched for, pinned, found changed,
refused when revoked and accepted by ``--trust`` in OpenSSH's form, through the same policy
and store as certificates, with no code that knows SSH."""

from __future__ import annotations

import pytest

from tui.errors import CertificateNotTrusted
from tui.identity import SSH_HOST_KEY, Identity, fingerprint, openssh_fingerprint
from tui.trust.policy import TrustDecision, TrustPolicy
from tui.trust.store import TrustStore


def host_key(key: bytes, *, verified: bool = False, revoked: str | None = None) -> Identity:
    return Identity(
        site="h.example:22", host="h.example", kind=SSH_HOST_KEY, sha256=fingerprint(key),
        verified=verified, problems=() if verified else ("not in known_hosts",),
        details=(("key_type", "ssh-ed25519"), ("key", key.hex())), revoked=revoked,
    )  # fmt: skip


class Prompt:
    def __init__(self, answer: TrustDecision) -> None:
        self.answer, self.shown = answer, []

    def __call__(self, report):
        self.shown.append((report.verdict, report.fingerprint))
        return self.answer


def test_a_host_key_that_known_hosts_vouches_for__is_trusted_without_asking():
    asked = Prompt(TrustDecision.REJECT)
    policy = TrustPolicy(TrustStore(), prompt=asked)
    assert policy.decide(host_key(b"k1", verified=True))
    assert policy.report_for("h.example:22").verdict == "trusted-ca" and asked.shown == []


def test_a_host_key_trusted_always__is_pinned_and_a_changed_one_is_refused_loudly():
    always = Prompt(TrustDecision.ALWAYS)
    assert TrustPolicy(TrustStore(), prompt=always).decide(host_key(b"k1"))
    assert always.shown == [("untrusted", openssh_fingerprint(fingerprint(b"k1")))]
    (pin,) = TrustStore().pins("h.example:22")
    assert (pin.kind, pin.details["key_type"]) == (SSH_HOST_KEY, "ssh-ed25519")
    assert TrustPolicy(TrustStore()).decide(host_key(b"k1"))  # a new run: pinned
    refused = Prompt(TrustDecision.REJECT)
    with pytest.raises(CertificateNotTrusted) as error:
        TrustPolicy(TrustStore(), prompt=refused).decide(host_key(b"k2"))
    assert refused.shown[0][0] == "changed" and error.value.title == "Host key not trusted"
    assert "host key of h.example:22 has CHANGED" in str(error.value)
    assert openssh_fingerprint(fingerprint(b"k1")) in str(error.value)
    named = TrustPolicy(TrustStore(), fingerprints=[openssh_fingerprint(fingerprint(b"k2"))])
    assert named.decide(host_key(b"k2"))  # --trust SHA256:… for one run
    assert [p.sha256 for p in TrustStore().pins("h.example:22")] == [fingerprint(b"k1")]


def test_a_revoked_host_key__is_refused_and_never_asked_about():
    asked = Prompt(TrustDecision.ALWAYS)
    with pytest.raises(CertificateNotTrusted, match="REVOKED"):
        TrustPolicy(TrustStore(), prompt=asked).decide(host_key(b"k1", revoked="@revoked line 3"))
    assert asked.shown == [] and TrustStore().sites() == {}
