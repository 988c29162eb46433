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
import glob
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from tui.errors import ConfigError
from tui.identity import X509
from tui.paths import data_dir

# The records live in pins.py; their names stay importable from here.
from tui.trust.pins import (
    PIN_KINDS,
    SCHEMA,
    Pin,
    SiteRecord,
    TrustedCertificate,
    TrustedIdentity,
    entry_from_json,
    parse_time,
    pin_from_json,
    record_from_json,
    record_json,
)

__all__ = [
    "HISTORY_LIMIT",
    "PIN_KINDS",
    "SCHEMA",
    "Pin",
    "SiteRecord",
    "TrustStore",
    "TrustStoreCorrupt",
    "TrustStoreTooNew",
    "TrustedCertificate",
    "TrustedIdentity",
    "entry_from_json",
    "parse_time",
    "pin_from_json",
    "record_from_json",
]

HISTORY_LIMIT = 10  # replaced pins kept per site, newest last


class TrustStoreCorrupt(ConfigError):
    """The trust store file cannot be read; nothing in it is trusted until it is fixed."""

    title = "Trust store damaged"


class TrustStoreTooNew(TrustStoreCorrupt):
    """The trust store was written by a newer Ferryman; it is neither read nor changed."""

    title = "Trust store from a newer Ferryman"


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
            with open(self.path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return {}, SCHEMA
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
            "sites": {site: record_json(record) for site, record in sorted(sites.items())},
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
