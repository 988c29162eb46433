"""Provides ``printable``: server text made safe to show on a terminal.

Names, banners and replies come from the server and are data. Control characters (C0, DEL,
C1, which include ESC and the 8-bit CSI) would let a server move the cursor, retitle the
window or worse; invisible format characters (Unicode category Cf: the bidi overrides and
isolates such as U+202E, which make ``exe.txt`` read as ``txt.exe``, zero-width joiners and
spaces, the byte-order mark, tags) and the line and paragraph separators (U+2028, U+2029)
let it disguise a name or break a line. All of them are shown as ``\\xNN``/``\\uNNNN``; so
are bytes that were not valid in the site's charset (kept as lone surrogates, see
``tui.remote.base``). The result holds only printable characters, so escaping it again
changes nothing.
"""

from __future__ import annotations

import unicodedata

# Control, format, surrogate, line and paragraph separator: never drawn as they are.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """Return ``text`` with every control or invisible format character, line or paragraph
    separator and undecodable byte escaped."""
    if text.isprintable():  # the common case; false for every unsafe category (and a few more)
        return text
    return "".join(
        _escape(char) if unicodedata.category(char) in UNSAFE_CATEGORIES else char for char in text
    )
