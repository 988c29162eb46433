"""Provides ``printable``: server text made safe to show on a terminal.

Names, banners and replies come from the server and are data. Control characters (C0, DEL,
C1, which include ESC and the 8-bit CSI) would let a server move the cursor, retitle the
window or worse, so they are shown as ``\\xNN``; so are bytes that were not valid in the
site's charset (kept as lone surrogates, see ``tui.remote.base``).
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    if code > 0xFF:
        return f"\\u{code:04x}"
    return f"\\x{code:02x}"


def printable(text: str) -> str:
    """Return ``text`` with every control character and undecodable byte escaped."""
    return _UNSAFE.sub(_escape, text)
