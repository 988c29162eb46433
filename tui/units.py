"""Provides the parsing and formatting of rates in curl's syntax (``500K``, ``2M``).

Below every layer (stdlib only): saved sites and the config read rates as well as the
transfer engine that applies them (``tui.transfer.ratelimit``).
"""

from __future__ import annotations

import re

_RATE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgG]?)\s*[bB]?\s*")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_rate(text: str | int | float) -> int | None:
    """A rate in curl's syntax (``500K``, ``2M``, ``1G``, plain bytes; 1024-based, as curl
    counts) as bytes per second; ``0`` means no cap (``None``).

    Raises:
        ValueError: not a rate; the message says what is expected.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a rate: {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"a rate cannot be negative: {text}")
        return int(text) or None
    found = _RATE.fullmatch(text)
    if found is None:
        raise ValueError(f"not a rate: {text!r} (bytes per second, or with K, M or G: 500K, 2M)")
    value = float(found.group(1)) * _UNITS[found.group(2).lower()]
    if value >= 1 << 50:
        raise ValueError(f"rate too large: {text!r}")
    return int(value) or None


def format_rate(rate: int | None) -> str:
    """``2M``, ``500K``, ``1.5M``: what ``parse_rate`` reads back; ``"no cap"`` for None."""
    if not rate:
        return "no cap"
    for suffix, unit in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if rate >= unit:
            return f"{rate / unit:.2f}".rstrip("0").rstrip(".") + suffix
    return str(rate)
