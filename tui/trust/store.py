"""Provides TrustStore: the per-site record of identities the user accepted (pins).

``$XDG_DATA_HOME/ferryman/trust.json`` (mode 0600), schema-versioned, rewritten atomically
(temporary file + ``os.replace``) under an ``fcntl`` lock, each change re-reading the file
first, so two running copies lose no entry. A corrupt file is an error that names the file
and keeps a copy; it is never read as "trust everything" nor silently replaced.

Schema 2 (this version) holds pins of any identity kind (``tui.identity``): each pin names
its ``kind`` and carries that kind's fields (a certificate's PEM, subject and end date; a
host key's type and key; a registered kind's ``details``). A schema-1 file (certificates
only) is read as X.509 pins and rewritten as schema 2 on the first change, atomically, the
old file kept beside it as ``trust.json.schema-1``. A file of a newer schema is refused,
named as such and left untouched; Ferryman 1 (schema 1) refuses a schema-2 file the same way.

A pin records which parts were failing when the user accepted (say, ``issuer`` for a
self-signed certificate). The same identity is trusted again only while it fails in no
other way: when a certificate expires, the user is asked again.

A site has one pin: trusting a new identity for it replaces the old one, which is kept
under ``history`` (for the record; nothing ever trusts an identity there). Every field is
checked when the file is read: a site whose record is damaged (a field of the wrong type, a
date that is no date, a kind this version does not know) is kept as it is in the file and
shown as damaged; nothing in it is trusted, and the other sites are unaffected.

Thread-safe; safe across processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from tui.errors import ConfigError
from tui.identity import KINDS, SSH_HOST_KEY, X509
from tui.paths import data_dir

SCHEMA = 2
HISTORY_LIMIT = 10  # replaced pins kept per site, newest last


class TrustStoreCorrupt(ConfigError):
    """The trust store file cannot be read; nothing in it is trusted until it is fixed."""

    title = "Trust store damaged"


class TrustStoreTooNew(TrustStoreCorrupt):
    """The trust store was written by a newer Ferryman; it is neither read nor changed."""

    title = "Trust store from a newer Ferryman"


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


def default_path() -> str:
    return os.path.join(data_dir(), "trust.json")


class TrustStore:
    """The trust store file, plus what was accepted once in this process (not saved).

    Args:
        path: The JSON file; defaults to ``$XDG_DATA_HOME/ferryman/trust.json``.
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path or default_path()
        self._session: dict[str, list[Pin]] = {}
        self._lock = threading.Lock()

    # --- reading -------------------------------------------------------------------------

    def sites(self) -> dict[str, SiteRecord]:
        """Every site in the file (not the accepted-once ones)."""
        with self._locked(exclusive=False):
            return self._read()[0]

    def pins(self, site: str) -> list[Pin]:
        """The site's saved pins (of any kind) followed by those accepted once in this
        process.

        Raises:
            TrustStoreCorrupt: the file, or this site's record in it, is damaged.
        """
        record = self.sites().get(site, SiteRecord())
        if record.damaged is not None:
            raise self.damaged_error(site, record.damaged)
        with self._lock:
            return record.pins + list(self._session.get(site, []))

    certificates = pins  # the name from schema 1, when every pin was a certificate

    def used_tls(self, site: str) -> bool:
        return self.sites().get(site, SiteRecord()).tls

    # --- changing ------------------------------------------------------------------------

    def damaged_error(self, site: str, reason: str) -> TrustStoreCorrupt:
        return TrustStoreCorrupt(
            f"The trust store {self.path} has a damaged record for {site} ({reason}); no "
            f"certificate or key of that site is trusted. Run 'ferryman trust forget {site}' "
            f"or fix the file to go on"
        )

    def add(self, site: str, entry: Pin) -> None:
        """Trust ``entry`` for ``site`` from now on, in place of whatever was trusted before
        (kept under ``history``, never trusted again).

        Raises:
            TrustStoreCorrupt: the file, or the site's record, is damaged (it is not replaced
                behind the user's back: ``forget`` it first).
        """

        def change(sites: dict[str, SiteRecord]) -> None:
            record = sites.setdefault(site, SiteRecord())
            if record.damaged is not None:
                raise self.damaged_error(site, record.damaged)
            replaced = [c for c in record.pins if c.sha256 != entry.sha256]
            record.history = (record.history + replaced)[-HISTORY_LIMIT:]
            record.pins = [entry]
            record.tls = record.tls or entry.kind == X509

        self._update(change)

    def accept_once(self, site: str, entry: Pin) -> None:
        """Trust ``entry`` for ``site`` until this process ends."""
        with self._lock:
            self._session.setdefault(site, []).append(entry)

    def forget(self, site: str, sha256: str | None = None) -> int:
        """Remove a site's pins (or the one with ``sha256``); returns how many."""
        removed = 0

        def change(sites: dict[str, SiteRecord]) -> None:
            nonlocal removed
            record = sites.get(site)
            if record is None:
                return
            if record.damaged is not None:
                if sha256 is not None:
                    raise self.damaged_error(site, record.damaged)
                del sites[site]
                removed = 1
                return
            keep = [c for c in record.pins if sha256 is not None and c.sha256 != sha256]
            removed = len(record.pins) - len(keep)
            record.pins = keep
            if not keep and sha256 is None:
                del sites[site]

        self._update(change)
        with self._lock:
            session = self._session.get(site, [])
            self._session[site] = [c for c in session if sha256 is not None and c.sha256 != sha256]
            removed += len(session) - len(self._session[site])
        return removed

    def mark_tls(self, site: str) -> None:
        """Remember that ``site`` speaks TLS (written only the first time)."""
        if self.used_tls(site):
            return

        def change(sites: dict[str, SiteRecord]) -> None:
            record = sites.setdefault(site, SiteRecord())
            if record.damaged is None:
                record.tls = True

        self._update(change)

    # --- the file ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        lock_path = self.path + ".lock"
        handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(handle)  # closing releases the lock

    def _update(self, change: Callable[[dict[str, SiteRecord]], None]) -> None:
        with self._locked(exclusive=True):
            sites, schema = self._read()
            change(sites)
            if schema < SCHEMA:
                self._keep_old(schema)
            self._write(sites)

    def _keep_old(self, schema: int) -> str:
        """Copy the file as it is before its first rewrite in this schema: an older Ferryman
        (or the user) can go back to it. The copy is complete before the file is replaced."""
        backup = f"{self.path}.schema-{schema}"
        if os.path.exists(backup):
            backup += datetime.now(UTC).strftime("-%Y%m%dT%H%M%S")
        temporary = f"{backup}.tmp"
        shutil.copy2(self.path, temporary)
        os.chmod(temporary, 0o600)
        os.replace(temporary, backup)
        return backup

    def _read(self) -> tuple[dict[str, SiteRecord], int]:
        """The sites, and the schema the file was in (this one when there is no file).

        Raises:
            TrustStoreCorrupt: the file is damaged; TrustStoreTooNew: a newer Ferryman wrote it.
        """
        try:
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            return {}, SCHEMA
        except OSError as error:
            raise ConfigError(
                f"Cannot read the trust store {self.path}: {error.strerror}"
            ) from error
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("sites"), dict):
                raise ValueError("no 'sites' table")
            schema = data.get("schema")
            if type(schema) is int and schema > SCHEMA:
                raise TrustStoreTooNew(
                    f"The trust store {self.path} was written by a newer Ferryman (schema "
                    f"{schema}; this one reads 1 and {SCHEMA}). Nothing in it is trusted and it "
                    f"is left as it is: use the newer Ferryman, or upgrade this one"
                )
            if schema not in (1, SCHEMA) or type(schema) is not int:
                raise ValueError(f"schema {schema!r}, this Ferryman reads 1 and {SCHEMA}")
        except (ValueError, RecursionError) as error:
            backup = self._backup()
            raise TrustStoreCorrupt(
                f"The trust store {self.path} is damaged ({error}); no certificate in it is "
                f"trusted. A copy is kept as {backup}; fix or delete {self.path} to go on"
            ) from error
        sites = {site: record_from_json(record, schema) for site, record in data["sites"].items()}
        return sites, schema

    def _backup(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        backup = f"{self.path}.damaged-{stamp}"
        if not os.path.exists(backup):
            shutil.copy2(self.path, backup)
            os.chmod(backup, 0o600)
        return backup

    def _write(self, sites: dict[str, SiteRecord]) -> None:
        data = {
            "schema": SCHEMA,
            "sites": {site: _record_json(record) for site, record in sorted(sites.items())},
        }
        directory = os.path.dirname(self.path) or "."
        descriptor, temporary = tempfile.mkstemp(prefix=".trust-", dir=directory)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def _record_json(record: SiteRecord) -> object:
    if record.damaged is not None:
        return record.raw  # as found: the user may want to repair it by hand
    data: dict[str, object] = {
        "tls": record.tls,
        "pins": [entry.to_json() for entry in record.pins],
    }
    if record.history:
        data["history"] = [entry.to_json() for entry in record.history]
    return data
