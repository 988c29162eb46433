"""Provides the system keyring, when there is one, for saved sites' passwords.

Passwords are never written to Ferryman's own files. If the ``keyring`` package is
installed and finds a real backend (GNOME Keyring, KWallet, macOS Keychain …), a saved site
can keep its password there; otherwise the password is asked for each time.
"""

from __future__ import annotations

from typing import Any

SERVICE = "ferryman"


def _backend() -> Any | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except KeyringError:
        return None
    # priority <= 0: keyring's "fail" and "null" backends; no keyring is really there.
    return backend if getattr(backend, "priority", 0) > 0 else None


def available() -> bool:
    """Whether a real system keyring can hold passwords here."""
    return _backend() is not None


def account(user: str, site_key: str) -> str:
    return f"{user}@{site_key}"


def load(user: str, site_key: str) -> str | None:
    """The stored password, or None (no keyring, nothing stored, or the keyring failed)."""
    backend = _backend()
    if backend is None:
        return None
    try:
        return backend.get_password(SERVICE, account(user, site_key))  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - a locked or broken keyring means "ask", never a crash
        return None


def store(user: str, site_key: str, password: str) -> bool:
    """Keep a password; True when the keyring took it."""
    backend = _backend()
    if backend is None:
        return False
    try:
        backend.set_password(SERVICE, account(user, site_key), password)
    except Exception:  # noqa: BLE001 - the caller tells the user it was not remembered
        return False
    return True


def forget(user: str, site_key: str) -> None:
    backend = _backend()
    if backend is None:
        return
    try:
        backend.delete_password(SERVICE, account(user, site_key))
    except Exception:  # noqa: BLE001, S110 - nothing stored is as good as deleted
        pass
