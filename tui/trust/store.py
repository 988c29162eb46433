"""Provides TrustStore: the per-site record of certificates the user accepted.

``$XDG_DATA_HOME/ferryman/trust.json`` (mode 0600), schema-versioned, rewritten atomically
(temporary file + ``os.replace``) under an ``fcntl`` lock, each change re-reading the file
first, so two running copies lose no entry. A corrupt file is an error that names the file
and keeps a copy; it is never read as "trust everything" nor silently replaced.

A pin records which sections were failing when the user accepted (say, ``issuer`` for a
self-signed certificate). The same certificate is trusted again only while it fails in no
other way: when it expires, the user is asked again.

A site has one pin: trusting a new certificate for it replaces the old one, which is kept
under ``history`` (for the record; nothing ever trusts a certificate there). Every field is
checked when the file is read: a site whose record is damaged (a field of the wrong type, a
date that is no date) is kept as it is in the file and shown as damaged; nothing in it is
trusted, and the other sites are unaffected.

Thread-safe; safe across processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from tui.errors import ConfigError
from tui.paths import data_dir

SCHEMA = 1
HISTORY_LIMIT = 10  # replaced pins kept per site, newest last


class TrustStoreCorrupt(ConfigError):
    """The trust store file cannot be read; nothing in it is trusted until it is fixed."""

    title = "Trust store damaged"


@dataclass(slots=True)
class TrustedCertificate:
    """One accepted certificate of one site."""

    sha256: str
    pem: str
    subject: str
    failing: list[str]  # the sections (and "general") that failed when it was accepted
    problems: list[str]  # what the user saw, for the record
    accepted_at: str
    not_after: str
    source: str = "user"

    @property
    def expired(self) -> bool:
        """Past its end date; also True when the date cannot be read (never trust that)."""
        when = parse_time(self.not_after)
        return when is None or when < datetime.now(UTC)


@dataclass(slots=True)
class SiteRecord:
    """One site's entry in the file.

    Attributes:
        certificates: The pin (at most one once written by this version).
        tls: The site has been reached over TLS: plain FTP now is a downgrade.
        history: Pins this site had before, replaced by a newer decision; never trusted.
        damaged: Why the record cannot be read, or None. A damaged record trusts nothing.
        raw: The record as it stands in the file, written back unchanged while damaged.
    """

    certificates: list[TrustedCertificate] = field(default_factory=list)
    tls: bool = False
    history: list[TrustedCertificate] = field(default_factory=list)
    damaged: str | None = None
    raw: object = None


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time from the file (``Z`` or an offset; naive means UTC), else None."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, TypeError, AttributeError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


_TEXT_FIELDS = ("sha256", "pem", "subject", "accepted_at", "not_after")
_LIST_FIELDS = ("failing", "problems")


def entry_from_json(value: object) -> TrustedCertificate:
    """One certificate entry of the file, every field checked.

    Raises:
        ValueError: a field is missing, of the wrong type, or not what it claims to be.
    """
    if not isinstance(value, dict):
        raise ValueError(f"a certificate entry is {type(value).__name__}, not an object")
    unknown = set(value) - set(_TEXT_FIELDS) - set(_LIST_FIELDS) - {"source"}
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
    for name in _TEXT_FIELDS:
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
    if parse_time(value["not_after"]) is None:
        raise ValueError(f"'not_after' is not a date: {value['not_after'][:40]!r}")
    return TrustedCertificate(
        sha256=value["sha256"], pem=value["pem"], subject=value["subject"],
        failing=list(value["failing"]), problems=list(value["problems"]),
        accepted_at=value["accepted_at"], not_after=value["not_after"], source=source,
    )  # fmt: skip


def record_from_json(value: object) -> SiteRecord:
    """One site's record; a damaged one comes back with ``damaged`` set, never raised."""
    try:
        if not isinstance(value, dict):
            raise ValueError(f"the record is {type(value).__name__}, not an object")
        certificates, history = value.get("certificates"), value.get("history", [])
        if not isinstance(certificates, list):
            raise ValueError("'certificates' is missing or not a list")
        if not isinstance(history, list):
            raise ValueError("'history' is not a list")
        tls = value.get("tls", False)
        if not isinstance(tls, bool):
            raise ValueError("'tls' is not true or false")
        return SiteRecord(
            certificates=[entry_from_json(entry) for entry in certificates],
            tls=tls,
            history=[entry_from_json(entry) for entry in history],
        )
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
        self._session: dict[str, list[TrustedCertificate]] = {}
        self._lock = threading.Lock()

    # --- reading -------------------------------------------------------------------------

    def sites(self) -> dict[str, SiteRecord]:
        """Every site in the file (not the accepted-once ones)."""
        with self._locked(exclusive=False):
            return self._read()

    def certificates(self, site: str) -> list[TrustedCertificate]:
        """The site's saved certificates followed by those accepted once in this process.

        Raises:
            TrustStoreCorrupt: the file, or this site's record in it, is damaged.
        """
        record = self.sites().get(site, SiteRecord())
        if record.damaged is not None:
            raise self.damaged_error(site, record.damaged)
        with self._lock:
            return record.certificates + list(self._session.get(site, []))

    def used_tls(self, site: str) -> bool:
        return self.sites().get(site, SiteRecord()).tls

    # --- changing ------------------------------------------------------------------------

    def damaged_error(self, site: str, reason: str) -> TrustStoreCorrupt:
        return TrustStoreCorrupt(
            f"The trust store {self.path} has a damaged record for {site} ({reason}); no "
            f"certificate of that site is trusted. Run 'ferryman trust forget {site}' or fix "
            f"the file to go on"
        )

    def add(self, site: str, entry: TrustedCertificate) -> None:
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
            replaced = [c for c in record.certificates if c.sha256 != entry.sha256]
            record.history = (record.history + replaced)[-HISTORY_LIMIT:]
            record.certificates = [entry]
            record.tls = True

        self._update(change)

    def accept_once(self, site: str, entry: TrustedCertificate) -> None:
        """Trust ``entry`` for ``site`` until this process ends."""
        with self._lock:
            self._session.setdefault(site, []).append(entry)

    def forget(self, site: str, sha256: str | None = None) -> int:
        """Remove a site's certificates (or the one with ``sha256``); returns how many."""
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
            keep = [c for c in record.certificates if sha256 is not None and c.sha256 != sha256]
            removed = len(record.certificates) - len(keep)
            record.certificates = keep
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
            sites = self._read()
            change(sites)
            self._write(sites)

    def _read(self) -> dict[str, SiteRecord]:
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise ConfigError(
                f"Cannot read the trust store {self.path}: {error.strerror}"
            ) from error
        try:
            # Decoded here, not by open(): bytes that are not UTF-8 are damage like any other
            # (UnicodeDecodeError is a ValueError), kept and reported, never a traceback.
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("sites"), dict):
                raise ValueError("no 'sites' table")
            if data.get("schema") != SCHEMA:
                raise ValueError(f"schema {data.get('schema')!r}, this Ferryman reads {SCHEMA}")
        except (ValueError, RecursionError) as error:
            backup = self._backup()
            raise TrustStoreCorrupt(
                f"The trust store {self.path} is damaged ({error}); no certificate in it is "
                f"trusted. A copy is kept as {backup}; fix or delete {self.path} to go on"
            ) from error
        return {site: record_from_json(record) for site, record in data["sites"].items()}

    def _backup(self) -> str:
        # Every run reads the store: the same damage is copied once, not once a run.
        with open(self.path, "rb") as handle:
            damaged = handle.read()
        for earlier in sorted(glob.glob(glob.escape(self.path) + ".damaged-*")):
            with contextlib.suppress(OSError), open(earlier, "rb") as handle:
                if handle.read(len(damaged) + 1) == damaged:
                    return earlier
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
        "certificates": [asdict(entry) for entry in record.certificates],
    }
    if record.history:
        data["history"] = [asdict(entry) for entry in record.history]
    return data
