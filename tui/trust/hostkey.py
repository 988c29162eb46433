"""Provides the SSH host-key kind's trust rules: what the user's known_hosts says about a key.

A host key that the user's ``known_hosts`` files vouch for is trusted like a certificate a
CA vouches for (DESIGN.md, "Trust model" 9); a key listed ``@revoked`` is refused and cannot
be accepted; any other key goes through the policy's pins (pinned, changed, ask). The files
are OpenSSH's format, read as ssh reads them: plain host lists, hashed entries
(``|1|salt|hash``, HMAC-SHA1 of the name), ``*`` and ``?`` wildcards, ``!`` negation,
``[host]:port`` for other ports, markers ``@cert-authority`` and ``@revoked``. Lines that do
not parse are skipped, as ssh skips them.

Host certificates are judged by the plain key inside them. The SSH transport asks ssh
(``ssh-keygen -F``) whether a known_hosts file lists the certificate's CA for the host; if
so the identity arrives already ``verified`` and ssh's own ``@cert-authority`` check (the
signature, principals, validity) decides the connection. An ``@cert-authority`` line is
therefore read but never vouches for a plain key here: that would let a forged
certificate's key through.

The SSH backend describes the key as a ``tui.identity.Identity`` whose ``details`` carry
``key_type``, ``key`` (OpenSSH's base64), and what ssh searched for: ``known_hosts_name``
(``host`` or ``[host]:port``, after ``HostKeyAlias``) and ``known_hosts_files`` (from
``ssh -G``, space-separated). Importing this module registers the rules
(``tui.trust.kinds.register_rules``); the connection service does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import pwd
from typing import NamedTuple

from tui.identity import SSH_HOST_KEY, Identity, PeerIdentity
from tui.trust.kinds import IdentityReport, Report, SimpleRules, register_rules

DEFAULT_FILES = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2", "/etc/ssh/ssh_known_hosts",
                 "/etc/ssh/ssh_known_hosts2")  # fmt: skip
FILE_LIMIT = 16 * 1024 * 1024  # a known_hosts file larger than this is read this far
CERT_AUTHORITY = "@cert-authority"
REVOKED = "@revoked"


class KnownHost(NamedTuple):
    """One line of a known_hosts file.

    Attributes:
        marker: ``""``, ``"@cert-authority"`` or ``"@revoked"``.
        hosts: The host field as written (patterns, or one hashed name).
        key_type: The key's type as written (``ssh-ed25519``).
        key: The key blob (decoded base64).
        where: ``file:line``, for messages.
    """

    marker: str
    hosts: str
    key_type: str
    key: bytes
    where: str = ""


class Verdict(NamedTuple):
    """What the known_hosts files say about one key of one host.

    Attributes:
        status: ``"vouched"``, ``"revoked"``, ``"changed"`` (another key of this type is
            listed for the host), or ``"unknown"``.
        where: The deciding line (``file:line``), or ``""``.
        says: One sentence for the host-key viewer.
    """

    status: str
    where: str
    says: str


def parse_line(line: str, where: str = "") -> KnownHost | None:
    """One known_hosts line, or None for a comment, a blank or a line that does not parse.
    Never raises."""
    fields = line.strip().split()
    if not fields or fields[0].startswith("#"):
        return None
    marker = ""
    if fields[0].startswith("@"):
        marker = fields[0].lower()
        if marker not in (CERT_AUTHORITY, REVOKED):
            return None
        fields = fields[1:]
    if len(fields) < 3:
        return None
    hosts, key_type, encoded = fields[0], fields[1], fields[2]
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not key:
        return None
    return KnownHost(marker, hosts, key_type, key, where)


def read_file(path: str) -> list[KnownHost]:
    """Every parseable line of one file; an unreadable or missing file holds none."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(FILE_LIMIT)
    except OSError:
        return []
    text = data.decode("utf-8", "replace")
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = parse_line(line, f"{path}:{number}")
        if entry is not None:
            found.append(entry)
    return found


def match_pattern(pattern: str, name: str) -> bool:
    """ssh's ``match_pattern``: ``*`` any run, ``?`` one character, case-insensitive;
    everything else (``[`` included) stands for itself."""
    pattern, name = pattern.lower(), name.lower()
    p = n = 0
    star, resume = -1, 0
    while n < len(name):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == name[n]):
            p, n = p + 1, n + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, resume, p = p, n, p + 1
        elif star >= 0:
            resume += 1
            p, n = star + 1, resume
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def hashed_name(name: str, salt: bytes) -> str:
    """``|1|salt|hash`` for ``name``, as ``ssh-keygen -H`` writes it."""
    digest = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def hosts_match(hosts: str, name: str) -> bool:
    """Whether a line's host field names ``name`` (a hashed name, or patterns of which none
    that is negated matches and at least one other does)."""
    if hosts.startswith("|1|"):
        parts = hosts.split("|")
        if len(parts) != 4:
            return False
        try:
            salt = base64.b64decode(parts[2], validate=True)
            expected = base64.b64decode(parts[3], validate=True)
        except (binascii.Error, ValueError):
            return False
        digest = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
        return hmac.compare_digest(digest, expected)
    matched = False
    for pattern in hosts.split(","):
        if pattern.startswith("!"):
            if match_pattern(pattern[1:], name):
                return False
        elif pattern and match_pattern(pattern, name):
            matched = True
    return matched


def judge(name: str, key_type: str, key: bytes, entries: list[KnownHost]) -> Verdict:
    """What ``entries`` say about ``key`` (of ``key_type``) for the host ``name``."""
    mine = [entry for entry in entries if hosts_match(entry.hosts, name)]
    for entry in mine:
        if entry.marker == REVOKED and entry.key == key:
            return Verdict("revoked", entry.where, f"listed @revoked ({entry.where})")
    for entry in mine:
        if not entry.marker and entry.key == key:
            return Verdict("vouched", entry.where, f"listed for {name} ({entry.where})")
    for entry in mine:
        if not entry.marker and entry.key_type == key_type:
            return Verdict(
                "changed", entry.where,
                f"DIFFERENT from the {key_type} key known_hosts lists for {name} "
                f"({entry.where}): possibly an attack",
            )  # fmt: skip
    return Verdict("unknown", "", f"not listed for {name} in known_hosts")


def expand(name: str) -> str:
    """``~`` as ssh expands it: the account's home directory, not ``$HOME``."""
    if name == "~" or name.startswith("~/"):
        try:
            home = pwd.getpwuid(os.getuid()).pw_dir
        except KeyError:
            home = os.path.expanduser("~")
        return home + name[1:]
    return name


def verdict_for(identity: Identity) -> Verdict | None:
    """What the identity's known_hosts files say about it, or None when it is not a host
    key this module can read."""
    details = dict(identity.details)
    try:
        key = base64.b64decode(details.get("key", ""), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not key:
        return None
    files = details.get("known_hosts_files", "").split() or list(DEFAULT_FILES)
    entries = [entry for path in files for entry in read_file(expand(path))]
    name = details.get("known_hosts_name") or identity.host
    return judge(name, details.get("key_type", ""), key, entries)


_SEARCH = ("known_hosts_name", "known_hosts_files")  # how to look, not what was seen


class HostKeyRules(SimpleRules):
    """The ``ssh-host-key`` kind: vouched or revoked by the user's known_hosts, else pinned."""

    def __init__(self) -> None:
        super().__init__(SSH_HOST_KEY)

    def report(self, identity: PeerIdentity) -> Report:
        if not isinstance(identity, Identity):
            return super().report(identity)
        verdict = verdict_for(identity)
        if verdict is None:
            return super().report(identity)
        verified = identity.verified or verdict.status == "vouched"
        report = IdentityReport(
            site=identity.site,
            host=identity.host,
            identity_kind=identity.kind,
            sha256=identity.sha256,
            fields=[
                *((label, value) for label, value in identity.details if label not in _SEARCH),
                ("known_hosts", verdict.says),
            ],
            problems=[] if verified else [*identity.problems, f"Host key {verdict.says}"],
            verified_by_ca=verified,
        )
        revoked = identity.revoked or (verdict.says if verdict.status == "revoked" else None)
        if revoked is not None:
            report.revocation, report.revocation_detail = "revoked", revoked
        return report


register_rules(HostKeyRules())
