"""Reading the user's known_hosts as ssh reads it: plain, hashed, wildcard and negated host
patterns, ``[host]:port``, ``@revoked`` and ``@cert-authority`` markers, lines that do not
parse; and the host-key rules that turn what it says into the policy's verdict (vouched,
revoked, different, unknown). Arbitrary text never makes the reader raise."""

from __future__ import annotations

import base64
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.errors import CertificateNotTrusted
from tui.identity import SSH_HOST_KEY, Identity, fingerprint
from tui.trust.hostkey import (
    HostKeyRules,
    hashed_name,
    hosts_match,
    judge,
    match_pattern,
    parse_line,
    read_file,
)
from tui.trust.policy import TrustDecision, TrustPolicy
from tui.trust.store import TrustStore

KEY = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32))
OTHER = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(1, 33))
B64 = base64.b64encode(KEY).decode()


def entries(text: str):
    return [e for n, line in enumerate(text.splitlines()) if (e := parse_line(line, f"kh:{n + 1}"))]


def test_a_plain_entry__vouches_for_its_key_and_only_for_its_host():
    known = entries(f"example.org,192.0.2.1 ssh-ed25519 {B64} comment\n")
    assert judge("example.org", "ssh-ed25519", KEY, known).status == "vouched"
    assert judge("192.0.2.1", "ssh-ed25519", KEY, known).where == "kh:1"
    assert judge("example.net", "ssh-ed25519", KEY, known).status == "unknown"


def test_another_key_of_the_same_type__is_reported_as_different():
    verdict = judge("example.org", "ssh-ed25519", OTHER, entries(f"example.org ssh-ed25519 {B64}"))
    assert verdict.status == "changed" and "DIFFERENT" in verdict.says


def test_a_non_standard_port__is_written_in_brackets_and_matched_literally():
    known = entries(f"[example.org]:2222 ssh-ed25519 {B64}")
    assert judge("[example.org]:2222", "ssh-ed25519", KEY, known).status == "vouched"
    assert judge("example.org", "ssh-ed25519", KEY, known).status == "unknown"
    assert judge("[example.org]:22", "ssh-ed25519", KEY, known).status == "unknown"


def test_wildcards_and_negation__match_as_ssh_matches_them():
    assert match_pattern("*.example.org", "files.EXAMPLE.org")
    assert match_pattern("host?", "host1") and not match_pattern("host?", "host12")
    assert match_pattern("[127.0.0.1]:*", "[127.0.0.1]:40222")
    assert hosts_match("*.example.org,!secret.example.org", "www.example.org")
    assert not hosts_match("*.example.org,!secret.example.org", "secret.example.org")
    assert not hosts_match("!secret.example.org", "www.example.org")  # negation alone: no


def test_a_hashed_entry__matches_its_host_and_no_other():
    line = f"{hashed_name('[10.0.0.5]:2222', b'0123456789abcdefghij')} ssh-ed25519 {B64}"
    known = entries(line)
    assert judge("[10.0.0.5]:2222", "ssh-ed25519", KEY, known).status == "vouched"
    assert judge("10.0.0.5", "ssh-ed25519", KEY, known).status == "unknown"


def test_a_revoked_key__is_revoked_even_when_also_listed():
    known = entries(f"example.org ssh-ed25519 {B64}\n@revoked * ssh-ed25519 {B64}\n")
    assert judge("example.org", "ssh-ed25519", KEY, known).status == "revoked"


def test_a_cert_authority_line__never_vouches_for_a_plain_key():
    known = entries(f"@cert-authority *.example.org ssh-ed25519 {B64}")
    assert known[0].marker == "@cert-authority"
    assert judge("a.example.org", "ssh-ed25519", KEY, known).status == "unknown"


def test_comments_blanks_and_broken_lines__are_skipped():
    text = f"# comment\n\n@bogus h ssh-ed25519 {B64}\nh ssh-ed25519 not*base64\nh ssh-ed25519\n"
    assert entries(text) == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_line__parses_or_is_skipped_without_raising(line):
    entry = parse_line(line)
    if entry is not None:
        assert entry.key and entry.marker in ("", "@cert-authority", "@revoked")
        judge("example.org", entry.key_type, entry.key, [entry])


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[a-z0-9.-]{1,40}", fullmatch=True),
    st.integers(min_value=1, max_value=65535),
    st.binary(min_size=1, max_size=40),
)
def test_a_hashed_entry__always_matches_the_name_it_hashes(host, port, salt):
    name = host if port == 22 else f"[{host}]:{port}"
    hashed = hashed_name(name, salt)
    assert hosts_match(hashed, name)
    assert not hosts_match(hashed, name + "x")
    assert judge(name, "ssh-ed25519", KEY, entries(f"{hashed} ssh-ed25519 {B64}")).where


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_pattern_matching__never_raises(pattern, name):
    match_pattern(pattern, name)
    hosts_match(pattern, name)


def test_a_missing_or_unreadable_file__holds_no_entries(tmp_path):
    assert read_file(str(tmp_path / "nothing")) == []
    folder = tmp_path / "folder"
    folder.mkdir()
    assert read_file(str(folder)) == []


# --- the rules the policy applies -----------------------------------------------------------


def host_key(files: list[str], *, name: str = "[h.example]:2222", key: bytes = KEY) -> Identity:
    return Identity(
        site="h.example:2222", host="h.example", kind=SSH_HOST_KEY, sha256=fingerprint(key),
        details=(("key_type", "ssh-ed25519"), ("key", base64.b64encode(key).decode()),
                 ("known_hosts_name", name), ("known_hosts_files", " ".join(files))),
    )  # fmt: skip


def test_a_key_the_users_known_hosts_lists__is_trusted_without_asking(tmp_path):
    user = tmp_path / "known_hosts"
    user.write_text(f"{hashed_name('[h.example]:2222', os.urandom(20))} ssh-ed25519 {B64}\n")
    policy = TrustPolicy(TrustStore(), prompt=lambda report: TrustDecision.REJECT)
    assert policy.decide(host_key([str(tmp_path / "absent"), str(user)]))
    report = policy.report_for("h.example:2222")
    assert report.verdict == "trusted-ca" and "known_hosts:1" in dict(report.fields)["known_hosts"]
    assert "known_hosts_files" not in dict(report.fields)  # how to look is not shown or pinned


def test_a_key_known_hosts_marks_revoked__is_refused_without_asking(tmp_path):
    user = tmp_path / "known_hosts"
    user.write_text(f"@revoked [h.example]:* ssh-ed25519 {B64}\n")
    asked: list[object] = []
    policy = TrustPolicy(TrustStore(), prompt=lambda report: asked.append(report))
    try:
        policy.decide(host_key([str(user)]))
        raise AssertionError("accepted")
    except CertificateNotTrusted as error:
        assert "REVOKED" in str(error)
    assert asked == [] and TrustStore().sites() == {}


def test_an_unlisted_key__is_asked_about_and_pinned_with_its_key(tmp_path):
    shown: list[list[str]] = []

    def always(report):
        shown.append(report.all_problems)
        return TrustDecision.ALWAYS

    assert TrustPolicy(TrustStore(), prompt=always).decide(host_key([str(tmp_path / "none")]))
    assert "not listed for [h.example]:2222" in shown[0][0]
    (pin,) = TrustStore().pins("h.example:2222")
    assert pin.details["key"] == B64 and pin.details["key_type"] == "ssh-ed25519"
    assert HostKeyRules().report(host_key([])).kind == SSH_HOST_KEY
