"""Provides the trust store's records: pins of every identity kind, and their JSON forms.

A pin is one accepted identity of one site: an X.509 certificate (:class:`TrustedCertificate`:
PEM, subject, end date) or an identity of another kind (:class:`TrustedIdentity`: its kind's
fields as ``details``). Every field is checked when a file is read (``pin_from_json`` for
schema 2, ``entry_from_json`` for schema 1's certificates): a record that does not check out
comes back marked damaged, never raised and never trusted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from tui.identity import KINDS, SSH_HOST_KEY, X509

SCHEMA = 2


@dataclass(slots=True)
class TrustedCertificate:
    """One accepted X.509 certificate of one site (a pin of kind ``x509``)."""

    sha256: str
    pem: str
    subject: str
    failing: list[str]  # the sections (and "general") that failed when it was accepted
    problems: list[str]  # what the user saw, for the record
    accepted_at: str
    not_after: str
    source: str = "user"

    @property
    def kind(self) -> str:
        return X509

    @property
    def label(self) -> str:
        """What the trust list shows for it: the subject."""
        return self.subject

    @property
    def expired(self) -> bool:
        """Past its end date; also True when the date cannot be read (never trust that)."""
        when = parse_time(self.not_after)
        return when is None or when < datetime.now(UTC)

    def to_json(self) -> dict[str, object]:
        return {"kind": X509, **asdict(self)}


@dataclass(slots=True)
class TrustedIdentity:
    """One accepted identity of another kind (an SSH host key, a registered kind).

    Attributes:
        details: The kind's fields, text only (a host key: ``key_type``, ``key``).
    """

    kind: str
    sha256: str
    failing: list[str]
    problems: list[str]
    accepted_at: str
    source: str = "user"
    details: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.details.get("label") or self.details.get("key_type") or self.kind

    @property
    def not_after(self) -> str:
        return self.details.get("not_after", "")

    @property
    def expired(self) -> bool:
        """Kinds without an end date never expire; one that has it is read like a certificate's."""
        if "not_after" not in self.details:
            return False
        when = parse_time(self.details["not_after"])
        return when is None or when < datetime.now(UTC)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


Pin = TrustedCertificate | TrustedIdentity
"""A trust-store entry of any kind."""

#: The fields each kind's pins require besides the common ones. Pins of the kinds declared
#: in ``tui.identity.KINDS`` are read; a pin of any other kind (one a newer Ferryman knows)
#: makes its site's record damaged: never trusted, kept as it is.
PIN_KINDS: dict[str, tuple[str, ...]] = {
    X509: ("pem", "subject", "not_after"),
    SSH_HOST_KEY: ("key_type", "key"),
}


@dataclass(slots=True)
class SiteRecord:
    """One site's entry in the file.

    Attributes:
        pins: The pin (at most one once written by this version).
        tls: The site has been reached over TLS: plain FTP now is a downgrade.
        history: Pins this site had before, replaced by a newer decision; never trusted.
        damaged: Why the record cannot be read, or None. A damaged record trusts nothing.
        raw: The record as it stands in the file, written back unchanged while damaged.
    """

    pins: list[Pin] = field(default_factory=list)
    tls: bool = False
    history: list[Pin] = field(default_factory=list)
    damaged: str | None = None
    raw: object = None

    @property
    def certificates(self) -> list[Pin]:
        """The pins (the name from schema 1, when every pin was a certificate)."""
        return self.pins


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time from the file (``Z`` or an offset; naive means UTC), else None."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, TypeError, AttributeError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


_TEXT_FIELDS = ("sha256", "pem", "subject", "accepted_at", "not_after")
_LIST_FIELDS = ("failing", "problems")
_COMMON_FIELDS = ("kind", "sha256", "accepted_at", "source", *_LIST_FIELDS)


def entry_from_json(value: object) -> TrustedCertificate:
    """One certificate entry of a schema-1 file, every field checked.

    Raises:
        ValueError: a field is missing, of the wrong type, or not what it claims to be.
    """
    if not isinstance(value, dict):
        raise ValueError(f"a certificate entry is {type(value).__name__}, not an object")
    unknown = set(value) - set(_TEXT_FIELDS) - set(_LIST_FIELDS) - {"source"}
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
    return _certificate(value)


def _check_common(value: dict[str, object], texts: tuple[str, ...]) -> str:
    """Check the fields every pin has (and ``texts``); return the source."""
    for name in texts:
        if not isinstance(value.get(name), str):
            raise ValueError(f"{name!r} is missing or not text")
    for name in _LIST_FIELDS:
        items = value.get(name)
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError(f"{name!r} is missing or not a list of text")
    source = value.get("source", "user")
    if not isinstance(source, str) or source == "once":
        raise ValueError("'source' is not text, or claims an accept-once pin")
    if not value["sha256"]:
        raise ValueError("'sha256' is empty")
    return source


def _certificate(value: dict[str, object]) -> TrustedCertificate:
    source = _check_common(value, _TEXT_FIELDS)
    not_after = str(value["not_after"])
    if parse_time(not_after) is None:
        raise ValueError(f"'not_after' is not a date: {not_after[:40]!r}")
    return TrustedCertificate(
        sha256=str(value["sha256"]), pem=str(value["pem"]), subject=str(value["subject"]),
        failing=list(value["failing"]), problems=list(value["problems"]),  # type: ignore[call-overload]
        accepted_at=str(value["accepted_at"]), not_after=not_after, source=source,
    )  # fmt: skip


def pin_from_json(value: object) -> Pin:
    """One pin of a schema-2 file, every field checked.

    Raises:
        ValueError: a field is missing, of the wrong type, or of a kind this version does
            not know.
    """
    if not isinstance(value, dict):
        raise ValueError(f"a pin is {type(value).__name__}, not an object")
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"a pin of unknown kind {str(kind)[:40]!r}")
    wanted = PIN_KINDS.get(kind, ())
    if kind == X509:
        unknown = set(value) - set(_COMMON_FIELDS) - set(wanted)
        if unknown:
            raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
        return _certificate(value)
    unknown = set(value) - set(_COMMON_FIELDS) - {"details"}
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
    source = _check_common(value, ("sha256", "accepted_at"))
    details = value.get("details", {})
    if not isinstance(details, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in details.items()
    ):
        raise ValueError("'details' is not a table of text")
    missing = [name for name in wanted if name not in details]
    if missing:
        raise ValueError(f"{missing[0]!r} is missing from a {kind} pin")
    return TrustedIdentity(
        kind=kind, sha256=str(value["sha256"]), failing=list(value["failing"]),
        problems=list(value["problems"]), accepted_at=str(value["accepted_at"]), source=source,
        details=dict(details),
    )  # fmt: skip


def record_from_json(value: object, schema: int = SCHEMA) -> SiteRecord:
    """One site's record; a damaged one comes back with ``damaged`` set, never raised.

    A record in the schema-1 shape (``certificates``) is read as schema 1 in either file:
    a damaged one is written back as it was found, so a migrated file may hold it.
    """
    try:
        if not isinstance(value, dict):
            raise ValueError(f"the record is {type(value).__name__}, not an object")
        legacy = schema == 1 or ("pins" not in value and "certificates" in value)
        name = "certificates" if legacy else "pins"
        read = entry_from_json if legacy else pin_from_json
        certificates, history = value.get(name), value.get("history", [])
        if not isinstance(certificates, list):
            raise ValueError(f"{name!r} is missing or not a list")
        if not isinstance(history, list):
            raise ValueError("'history' is not a list")
        tls = value.get("tls", False)
        if not isinstance(tls, bool):
            raise ValueError("'tls' is not true or false")
        pins: list[Pin] = [read(entry) for entry in certificates]
        return SiteRecord(pins=pins, tls=tls, history=[read(entry) for entry in history])
    except ValueError as error:
        # Conservative where it matters: a damaged record counts as a TLS site (plain FTP
        # to it is a downgrade) and trusts no certificate.
        return SiteRecord(tls=True, damaged=str(error), raw=value)


def record_json(record: SiteRecord) -> object:
    """A record as the file holds it (schema 2); a damaged one exactly as it was found."""
    if record.damaged is not None:
        return record.raw  # as found: the user may want to repair it by hand
    data: dict[str, object] = {
        "tls": record.tls,
        "pins": [entry.to_json() for entry in record.pins],
    }
    if record.history:
        data["history"] = [entry.to_json() for entry in record.history]
    return data
