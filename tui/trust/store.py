"""Provides TrustStore: the per-site record of certificates the user accepted.

``$XDG_DATA_HOME/ferryman/trust.json`` (mode 0600), schema-versioned, rewritten atomically
(temporary file + ``os.replace``) under an ``fcntl`` lock, each change re-reading the file
first, so two running copies lose no entry. A corrupt file is an error that names the file
and keeps a copy; it is never read as "trust everything" nor silently replaced.

A pin records which sections were failing when the user accepted (say, ``issuer`` for a
self-signed certificate). The same certificate is trusted again only while it fails in no
other way: when it expires, the user is asked again.

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
from tui.paths import data_dir

SCHEMA = 1


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
        return datetime.fromisoformat(self.not_after.replace("Z", "+00:00")) < datetime.now(UTC)


@dataclass(slots=True)
class SiteRecord:
    certificates: list[TrustedCertificate] = field(default_factory=list)
    tls: bool = False  # the site has been reached over TLS: plain FTP now is a downgrade


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
        """The site's saved certificates followed by those accepted once in this process."""
        record = self.sites().get(site, SiteRecord())
        with self._lock:
            return record.certificates + list(self._session.get(site, []))

    def used_tls(self, site: str) -> bool:
        return self.sites().get(site, SiteRecord()).tls

    # --- changing ------------------------------------------------------------------------

    def add(self, site: str, entry: TrustedCertificate) -> None:
        """Trust ``entry`` for ``site`` from now on (replacing an older pin of the same one)."""

        def change(sites: dict[str, SiteRecord]) -> None:
            record = sites.setdefault(site, SiteRecord())
            record.certificates = [c for c in record.certificates if c.sha256 != entry.sha256]
            record.certificates.append(entry)
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
            sites.setdefault(site, SiteRecord()).tls = True

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
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise ConfigError(
                f"Cannot read the trust store {self.path}: {error.strerror}"
            ) from error
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("sites"), dict):
                raise ValueError("no 'sites' table")
            if data.get("schema") != SCHEMA:
                raise ValueError(f"schema {data.get('schema')!r}, this Ferryman reads {SCHEMA}")
            return {
                site: SiteRecord(
                    certificates=[TrustedCertificate(**entry) for entry in record["certificates"]],
                    tls=bool(record.get("tls", False)),
                )
                for site, record in data["sites"].items()
            }
        except (ValueError, TypeError, KeyError) as error:
            backup = self._backup()
            raise TrustStoreCorrupt(
                f"The trust store {self.path} is damaged ({error}); no certificate in it is "
                f"trusted. A copy is kept as {backup}; fix or delete {self.path} to go on"
            ) from error

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
            "sites": {
                site: {
                    "tls": record.tls,
                    "certificates": [asdict(entry) for entry in record.certificates],
                }
                for site, record in sorted(sites.items())
            },
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
