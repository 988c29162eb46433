"""OpenSSH's randomart of a host key's SHA-256, drawn byte for byte as ``ssh-keygen -lv``
draws it (keys of every type ssh-keygen makes here), also from the stored fingerprint
alone; and the key size read from the key blob, where a blob that does not parse gives no
size and nothing ever raises."""

from __future__ import annotations

import base64
import hashlib
import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.identity import fingerprint
from tui.trust.randomart import FIELD_X, key_bits, key_title, randomart

KEYS = ["ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa-2048", "rsa-3072", "dsa-1024"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One key of each type, made by ssh-keygen: name → (path of the .pub, type, blob)."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    folder = tmp_path_factory.mktemp("keys")
    made = {}
    for name in KEYS:
        kind, _, bits = name.partition("-")
        path = folder / name
        command = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "", "-f", str(path)]
        subprocess.run(command + (["-b", bits] if bits else []), check=True, timeout=30)
        key_type, encoded = (path.with_suffix(".pub")).read_text().split()[:2]
        made[name] = (path.with_suffix(".pub"), key_type, base64.b64decode(encoded))
    return made


def blob(*fields: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(field)) + field for field in fields)


def mpint(value: int) -> bytes:
    return value.to_bytes(value.bit_length() // 8 + 1, "big")  # a leading 0 keeps it positive


@pytest.mark.parametrize("name", KEYS)
def test_every_key_type__draws_what_ssh_keygen_draws(generated, name):
    pub, key_type, key = generated[name]
    shown = subprocess.run(["ssh-keygen", "-lv", "-E", "sha256", "-f", str(pub)],
                           capture_output=True, text=True, check=True, timeout=30)  # fmt: skip
    first, *art = shown.stdout.splitlines()
    mine = randomart(hashlib.sha256(key).digest(), key_title(key_type, key))
    assert mine == "\n".join(art)
    assert first.split()[0] == str(key_bits(key))  # "256 SHA256:… (ED25519)"


def test_the_stored_fingerprint__draws_the_same_picture_as_the_key(generated):
    _, key_type, key = generated["ed25519"]
    stored = fingerprint(key)  # "AB:CD:…", all the trust store keeps of an old key
    from_pin = randomart(bytes.fromhex(stored.replace(":", "")), "ED25519 256")
    assert from_pin == randomart(hashlib.sha256(key).digest(), key_title(key_type, key))


def test_titles__name_the_type_and_size_as_openssh_does(generated):
    titles = {name: key_title(*generated[name][1:]) for name in KEYS}
    assert titles == {"ed25519": "ED25519 256", "ecdsa-256": "ECDSA 256",
                      "ecdsa-384": "ECDSA 384", "ecdsa-521": "ECDSA 521",
                      "rsa-2048": "RSA 2048", "rsa-3072": "RSA 3072",
                      "dsa-1024": "DSA 1024"}  # fmt: skip
    first = randomart(hashlib.sha256(generated["ed25519"][2]).digest(), titles["ed25519"])
    assert first.splitlines()[0] == "+--[ED25519 256]--+"
    assert first.splitlines()[-1] == "+----[SHA256]-----+"


def test_a_security_key__is_named_with_its_size():
    ed = blob(b"sk-ssh-ed25519@openssh.com", bytes(32), b"ssh:")
    ec = blob(b"sk-ecdsa-sha2-nistp256@openssh.com", b"nistp256", b"\x04" + bytes(64), b"ssh:")
    assert key_title("sk-ssh-ed25519@openssh.com", ed) == "ED25519-SK 256"
    assert key_title("sk-ecdsa-sha2-nistp256@openssh.com", ec) == "ECDSA-SK 256"


def test_a_blob_that_does_not_parse__has_the_type_alone_in_its_title():
    assert key_bits(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00") is None
    assert key_title("ssh-ed25519", b"garbage") == "ED25519"
    assert key_title("x-unknown@example.org", blob(b"x-unknown@example.org")) == ""
    assert randomart(bytes(32)).splitlines()[0] == "+" + "-" * FIELD_X + "+"


def test_a_negative_or_zero_modulus__has_no_size():
    assert key_bits(blob(b"ssh-rsa", b"\x01\x00\x01", b"\x80" + bytes(255))) is None
    assert key_bits(blob(b"ssh-rsa", b"\x01\x00\x01", b"")) is None


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=64), st.text(max_size=40))
def test_any_digest_and_title__draw_eleven_lines_of_one_width(digest, title):
    lines = randomart(digest, title).split("\n")
    assert len(lines) == 11 and {len(line) for line in lines} == {FIELD_X + 2}
    body = "".join(line[1:-1] for line in lines[1:-1])
    assert body.count("E") == 1 and body.count("S") <= 1  # the walk may end where it began


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_any_sha256__has_both_ends_and_only_openssh_symbols(digest):
    art = randomart(digest, "ED25519 256")
    body = "".join(line[1:-1] for line in art.splitlines()[1:-1])
    assert set(body) <= set(" .o+=*BOX@%&#/^SE") and "E" in body
    assert sum(ch != " " for ch in body) <= 4 * 32 + 1  # at most one square a step


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["ssh-rsa", "ssh-ed25519", "ssh-dss",
                                                  "ecdsa-sha2-nistp256", "nonsense"]))  # fmt: skip
def test_any_blob__gives_a_size_or_none_and_never_raises(data, key_type):
    bits = key_bits(data)
    assert bits is None or 0 < bits
    assert len(key_title(key_type, data)) <= FIELD_X - 2


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=2**8192))
def test_any_rsa_modulus__gives_its_bit_length(modulus):
    assert key_bits(blob(b"ssh-rsa", mpint(65537), mpint(modulus))) == modulus.bit_length()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=6))
def test_any_sequence_of_fields__never_raises(fields):
    key_bits(blob(*fields))
