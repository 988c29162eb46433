"""The trust store's schema 2 (pins of any identity kind) against the files that exist: a
schema-1 file is read as it is and migrated on its first change, atomically, with the old
file kept; its pins, the one-pin-per-site rule and the history survive; an older Ferryman
(the schema-1 reader, frozen in ``store_schema1.py``) refuses a schema-2 file without
touching it; a file from a newer Ferryman, or a pin of a kind this one does not know, is
refused as such, never misread."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.trust import store_schema1
from tui.cli import main
from tui.errors import FerrymanError
from tui.identity import SSH_HOST_KEY, X509
from tui.trust.store import (
    TrustedCertificate,
    TrustedIdentity,
    TrustStore,
    TrustStoreCorrupt,
    TrustStoreTooNew,
)

FIELDS = ("sha256", "pem", "subject", "failing", "problems", "accepted_at", "not_after", "source")


def certificate(sha256: str, **changes: object) -> dict[str, object]:
    """A schema-1 certificate entry, as Ferryman 1 wrote them."""
    entry = {"sha256": sha256, "pem": "", "subject": "CN=x", "failing": ["issuer"],
             "problems": ["Self-signed"], "accepted_at": "2026-01-01T00:00:00Z",
             "not_after": "2030-01-01T00:00:00Z", "source": "user"}  # fmt: skip
    return {**entry, **changes}


def write(data: object) -> str:
    path = TrustStore().path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    return path


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


SCHEMA_1 = {"schema": 1, "sites": {
    "a.example:21": {"tls": True, "certificates": [certificate("AA:AA")],
                     "history": [certificate("00:00")]},
    "b.example:990": {"tls": True, "certificates": [certificate("BB:BB")]},
    "plain.example:21": {"tls": True, "certificates": []},
}}  # fmt: skip


def test_a_schema_1_file__is_read_as_certificate_pins_and_not_rewritten_by_reading():
    path = write(SCHEMA_1)
    before = read_bytes(path)
    sites = TrustStore().sites()
    assert [(p.kind, p.sha256) for p in sites["a.example:21"].pins] == [(X509, "AA:AA")]
    assert [p.sha256 for p in sites["a.example:21"].history] == ["00:00"]
    assert TrustStore().used_tls("plain.example:21")
    assert read_bytes(path) == before
    assert not os.path.exists(path + ".schema-1")


def test_the_first_change_to_a_schema_1_file__migrates_it_keeping_the_old_file_and_history():
    path = write(SCHEMA_1)
    before = read_bytes(path)
    # Trusting a new certificate for a.example replaces its pin (issue 19's rule).
    TrustStore().add("a.example:21", TrustedCertificate("CC:CC", "", "CN=y", [], [],
                                                        "2026-02-01T00:00:00Z",
                                                        "2031-01-01T00:00:00Z"))  # fmt: skip
    assert read_bytes(path + ".schema-1") == before  # the old file, kept whole
    assert oct(os.stat(path + ".schema-1").st_mode & 0o777) == "0o600"
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    assert data["schema"] == 2
    a = data["sites"]["a.example:21"]
    assert [pin["sha256"] for pin in a["pins"]] == ["CC:CC"]
    assert [pin["sha256"] for pin in a["history"]] == ["00:00", "AA:AA"]
    assert all(pin["kind"] == X509 for pin in a["pins"] + a["history"])
    b = data["sites"]["b.example:990"]["pins"][0]
    assert b == {"kind": X509, **certificate("BB:BB")}  # every field carried over
    assert data["sites"]["plain.example:21"] == {"tls": True, "pins": []}
    # Read back by this version: the same pins.
    assert [p.sha256 for p in TrustStore().pins("b.example:990")] == ["BB:BB"]
    TrustStore().mark_tls("new.example:21")  # a later change leaves the kept file alone
    assert read_bytes(path + ".schema-1") == before


def test_a_migration_that_fails_midway__leaves_the_schema_1_file_whole(monkeypatch):
    path = write(SCHEMA_1)
    before = read_bytes(path)

    def broken(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("tui.trust.store.os.fsync", broken)
    with pytest.raises(OSError):
        TrustStore().mark_tls("new.example:21")
    assert read_bytes(path) == before
    assert not [name for name in os.listdir(os.path.dirname(path)) if name.startswith(".trust-")]


def test_an_older_ferryman_reading_a_schema_2_file__refuses_clearly_and_changes_nothing():
    TrustStore().add("h.example:22", TrustedIdentity(SSH_HOST_KEY, "DD:DD", [], [], "now",
                                                     details={"key_type": "ssh-ed25519",
                                                              "key": "AAAA"}))  # fmt: skip
    path = TrustStore().path
    before = read_bytes(path)
    old = store_schema1.TrustStore(path)
    with pytest.raises(store_schema1.TrustStoreCorrupt, match=r"schema 2, this Ferryman reads 1"):
        old.sites()
    with pytest.raises(store_schema1.TrustStoreCorrupt):
        old.add("h.example:22", store_schema1.TrustedCertificate("EE", "", "x", [], [], "", ""))
    with pytest.raises(store_schema1.TrustStoreCorrupt):
        old.certificates("h.example:22")  # nothing is trusted from it
    assert read_bytes(path) == before


def test_a_file_from_a_newer_ferryman__is_refused_as_such_and_left_untouched(capsys):
    path = write({"schema": 3, "sites": {"h:21": {"whatever": True}}})
    before = read_bytes(path)
    with pytest.raises(
        TrustStoreTooNew, match=r"newer Ferryman \(schema 3; this one reads 1 and 2"
    ):
        TrustStore().sites()
    with pytest.raises(TrustStoreTooNew):
        TrustStore().add("h:21", TrustedCertificate("AA", "", "x", [], [], "", "2030-01-01"))
    assert main(["trust", "list"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "newer Ferryman" in error
    assert read_bytes(path) == before
    assert not [name for name in os.listdir(os.path.dirname(path)) if ".damaged-" in name]


def test_a_pin_of_a_kind_this_version_does_not_know__damages_only_its_site():
    unknown = {"kind": "quantum-key", "sha256": "FF", "failing": [], "problems": [],
               "accepted_at": "now", "source": "user", "details": {}}  # fmt: skip
    good = {"kind": X509, **certificate("AA:AA")}
    sites = {"q.example:1": {"tls": False, "pins": [unknown]},
             "a.example:21": {"tls": True, "pins": [good]}}  # fmt: skip
    path = write({"schema": 2, "sites": sites})
    sites = TrustStore().sites()
    assert "unknown kind 'quantum-key'" in (sites["q.example:1"].damaged or "")
    assert [p.sha256 for p in TrustStore().pins("a.example:21")] == ["AA:AA"]
    with pytest.raises(TrustStoreCorrupt, match="damaged record for q.example:1"):
        TrustStore().pins("q.example:1")
    TrustStore().mark_tls("other.example:21")
    with open(path, encoding="utf-8") as handle:
        assert json.load(handle)["sites"]["q.example:1"]["pins"] == [unknown]  # kept as found


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)  # fmt: skip
PIN_FIELDS = ["kind", "sha256", "failing", "problems", "accepted_at", "source", "details",
              "pins", "history", "tls", "record", "pin"]  # fmt: skip


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(field=st.sampled_from(PIN_FIELDS), value=JSON)
def test_any_json_in_any_field_of_a_schema_2_record__raises_only_ferrymans_error(field, value):
    pin: dict[str, object] = {"kind": SSH_HOST_KEY, "sha256": "AA:BB", "failing": [],
                              "problems": [], "accepted_at": "now", "source": "user",
                              "details": {"key_type": "ssh-ed25519", "key": "AAAA"}}  # fmt: skip
    record: object = {"tls": False, "pins": [pin]}
    if field == "record":
        record = value
    elif field == "pin":
        record = {"tls": False, "pins": [value]}
    elif field in ("pins", "history", "tls"):
        record[field] = value  # type: ignore[index]
    else:
        pin[field] = value
    good = {"kind": X509, **certificate("CC:DD")}
    write({"schema": 2, "sites": {"h.example:22": record, "good.example:21": {"pins": [good]}}})
    sites = TrustStore().sites()  # never raises for one record
    assert [p.sha256 for p in sites["good.example:21"].pins] == ["CC:DD"]
    try:
        pins = TrustStore().pins("h.example:22")
    except FerrymanError:
        assert sites["h.example:22"].damaged
    else:
        assert sites["h.example:22"].damaged is None
        assert all(isinstance(p.sha256, str) and isinstance(p.expired, bool) for p in pins)
