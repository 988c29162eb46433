"""Fingerprints in the forms users paste (``tui.identity``): hex pairs for certificates,
OpenSSH's ``SHA256:`` + base64 for host keys, each read either way; and the backend registry
with ``Site``'s protocol and backend options (``tui.backends``, ``tui.sites``)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.toy_backend import registered
from tui import backends
from tui.connection import ConnectionService
from tui.errors import ConfigError
from tui.identity import (
    SSH_HOST_KEY,
    X509,
    fingerprint,
    normalize_fingerprint,
    openssh_fingerprint,
    show_fingerprint,
)
from tui.sites import Site, load_sites, parse_url, save_sites

EMPTY_HEX = fingerprint(b"")
EMPTY_OPENSSH = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"  # ssh-keygen's form


@pytest.mark.parametrize(
    "text",
    [
        EMPTY_HEX,
        EMPTY_HEX.lower(),
        EMPTY_HEX.replace(":", ""),
        "SHA256:" + EMPTY_HEX,
        "sha256:" + EMPTY_HEX.lower(),
        EMPTY_OPENSSH,
        EMPTY_OPENSSH + "=",
        "  " + EMPTY_OPENSSH + "\n",
    ],
)
def test_a_fingerprint_in_any_form_users_paste__reads_as_hex_pairs(text):
    assert normalize_fingerprint(text) == EMPTY_HEX


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SHA256:",
        EMPTY_HEX[:-3],  # 31 bytes
        EMPTY_OPENSSH[7:],  # base64 without its prefix is not guessed at
        EMPTY_OPENSSH[:-1],  # 42 characters
        "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF!",
        "MD5:" + EMPTY_HEX,
    ],
)
def test_a_text_that_is_no_sha256_fingerprint__is_refused(text):
    with pytest.raises(ValueError, match="not a SHA-256 fingerprint"):
        normalize_fingerprint(text)


def test_each_kind__shows_its_fingerprint_in_its_users_form():
    assert openssh_fingerprint(EMPTY_HEX) == EMPTY_OPENSSH
    assert show_fingerprint(EMPTY_HEX, SSH_HOST_KEY) == EMPTY_OPENSSH
    assert show_fingerprint(EMPTY_HEX, X509) == EMPTY_HEX
    assert show_fingerprint("damaged", SSH_HOST_KEY) == "damaged"  # shown as it stands


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_any_digest__round_trips_through_every_form(digest):
    hex_pairs = ":".join(f"{byte:02X}" for byte in digest)
    b64 = base64.b64encode(digest).decode().rstrip("=")
    for form in (hex_pairs, hex_pairs.lower().replace(":", ""), "SHA256:" + b64,
                 openssh_fingerprint(hex_pairs)):  # fmt: skip
        assert normalize_fingerprint(form) == hex_pairs
    assert openssh_fingerprint(hex_pairs) == "SHA256:" + b64


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_any_text__is_read_or_refused_with_value_error_only(text):
    try:
        value = normalize_fingerprint(text)
    except ValueError:
        return
    assert len(value) == 95 and all(ch in "0123456789ABCDEF:" for ch in value)


def test_fingerprint__is_sha256_of_the_bytes_in_hex_pairs():
    digest = hashlib.sha256(b"key").hexdigest().upper()
    assert fingerprint(b"key").replace(":", "") == digest


# --- the registry, the site's protocol and options ------------------------------------------


def test_the_ftp_backend__declares_its_schemes_ports_options_and_features():
    ftp = backends.for_scheme("ftps")
    assert ftp is backends.FTP and backends.for_protocol("ftp") is ftp
    assert {name: s.default_port for name, s in ftp.schemes.items()} == {
        "ftp": 21, "ftpes": 21, "ftps": 990}  # fmt: skip
    assert [option.name for option in ftp.options] == ["tls", "passive"]
    assert ftp.features.identity_kinds == (X509,) and ftp.features.can_be_plain
    assert ftp.scheme_for({"tls": "auto"}) == "ftp"


def test_a_site__keeps_its_backend_options_apart_and_ftps_attributes_still_work():
    site = parse_url("ftpes://h/")
    assert (site.protocol, site.options) == ("ftp", {"tls": "explicit", "passive": True})
    site.tls = "implicit"
    assert site.options["tls"] == "implicit" and site.scheme == "ftps"
    assert Site("h", 21, tls="explicit", passive=False).options == {
        "tls": "explicit", "passive": False}  # fmt: skip


def test_run_wide_options__apply_as_each_option_declares():
    service = ConnectionService(tls="auto", passive=False, check_revocation=False)
    plain, explicit = service.site_for("ftp://h/"), service.site_for("ftpes://h/")
    assert (plain.tls, plain.passive) == ("auto", False)
    assert (explicit.tls, explicit.passive) == ("explicit", False)  # --tls only upgrades ftp://


def test_a_site_of_another_backend__round_trips_through_sites_toml(tmp_path):
    path = str(tmp_path / "sites.toml")
    with registered():
        save_sites([parse_url("toy://toy.test/dir"), parse_url("ftps://f.test/")], path)
        text = open(path, encoding="utf-8").read()
        assert 'protocol = "toy"' in text and text.count("protocol") == 1  # FTP's is implied
        toy, ftp = load_sites(path)
        assert (toy.protocol, toy.port, toy.path) == ("toy", 7, "dir")
        assert (ftp.protocol, ftp.tls, ftp.port) == ("ftp", "implicit", 990)
    with pytest.raises(ConfigError, match="unknown protocol 'toy'"):
        load_sites(path)  # the backend is gone: said, not misread as FTP
