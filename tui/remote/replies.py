"""Provides the plain-language meaning of FTP reply codes, the mapping of replies to errors,
and the parsers of replies that carry values (EPSV/PASV ports, SIZE, MDTM, FEAT, digests).

Every value from a server is checked before use: numbers are ASCII digits in range (``str.
isdigit`` also accepts ``"²"``), dates are real dates, digests are hex of the right length,
and a parser either returns a valid value or raises ``ProtocolError``, never anything else.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tui.errors import (
    AlreadyExists,
    AuthFailed,
    ConnectionLost,
    DiskFull,
    FerrymanError,
    InvalidName,
    NotFound,
    NotSupported,
    PermissionDenied,
    ProtocolError,
    RemoteError,
    TransferFailed,
)

# RFC 959, 2228, 2389, 3659 and common practice; shown beside each reply in the protocol log.
MEANINGS: dict[int, str] = {
    110: "Restart marker",
    120: "Service ready soon",
    125: "Data connection open, transfer starting",
    150: "Opening data connection",
    200: "OK",
    202: "Command not needed here",
    211: "System status",
    212: "Directory status",
    213: "File status",
    214: "Help",
    215: "System type",
    220: "Service ready",
    221: "Goodbye",
    225: "Data connection open",
    226: "Transfer complete",
    227: "Entering passive mode",
    228: "Entering long passive mode",
    229: "Entering extended passive mode",
    230: "Logged in",
    232: "Logged in (security exchange done)",
    234: "Security exchange accepted, starting TLS",
    250: "Done",
    257: "Path created or reported",
    331: "User name OK, password needed",
    332: "Account needed to log in",
    334: "Security data needed",
    336: "Username OK, challenge",
    350: "Waiting for the next command",
    421: "Service closing the connection",
    425: "Cannot open data connection",
    426: "Transfer aborted, connection closed",
    430: "Invalid user name or password",
    431: "Security resource unavailable",
    434: "Host unavailable",
    450: "File busy or unavailable",
    451: "Local error on the server",
    452: "Not enough storage on the server",
    500: "Command not recognised",
    501: "Bad arguments",
    502: "Command not implemented",
    503: "Commands in the wrong order",
    504: "Parameter not supported",
    522: "Protocol or TLS session not accepted",
    530: "Not logged in",
    532: "Account needed to store files",
    533: "Command protection level denied",
    534: "Request denied for policy reasons",
    535: "Security check failed",
    536: "Protection level not supported",
    550: "File unavailable (not found or no access)",
    551: "Page type unknown",
    552: "Storage allocation exceeded",
    553: "File name not allowed",
}


def meaning(code: int) -> str:
    """A short description of a reply code, falling back to its class."""
    if code in MEANINGS:
        return MEANINGS[code]
    return {
        1: "Preliminary reply",
        2: "Completed",
        3: "More information needed",
        4: "Temporary failure",
        5: "Permanent failure",
    }.get(code // 100, "Unknown reply")


# "File exists", "already exists"; not pure-ftpd's "Can't check for file existence".
_EXISTS = re.compile(r"\b(exists|already)\b")
_DENIED_WORDS = ("denied", "permission", "not allowed", "forbidden", "refused", "read-only")
_MISSING_WORDS = ("no such", "not found", "does not exist", "doesn't exist", "not exist")


def error_for_reply(reply: str, action: str) -> FerrymanError:
    """Turn a failure reply into the matching error.

    Args:
        reply: The reply line(s) as the server sent them, starting with the code.
        action: What was being done, e.g. ``"Cannot list /pub"``; the message is
            ``"<action>: <server text> (<code> <meaning>)"``.
    """
    code = int(reply[:3]) if reply[:3].isascii() and reply[:3].isdigit() else 0
    text = reply[4:].strip() if len(reply) > 4 else reply
    message = f"{action}: {text} ({code} {meaning(code)})" if code else f"{action}: {reply}"
    lowered = text.lower()
    error_class: type[FerrymanError]
    if code == 421:
        error_class = ConnectionLost
    elif code in (430, 530, 332, 532):
        error_class = AuthFailed
    elif code in (452, 552):
        error_class = DiskFull
    elif code in (425, 426, 451):
        error_class = TransferFailed
    elif code == 553:
        error_class = InvalidName if "name" in lowered else PermissionDenied
    elif code in (500, 502, 504):
        error_class = NotSupported
    elif code in (450, 521, 550):
        if any(word in lowered for word in _MISSING_WORDS):
            error_class = NotFound
        elif _EXISTS.search(lowered) or code == 521:
            error_class = AlreadyExists
        elif any(word in lowered for word in _DENIED_WORDS):
            error_class = PermissionDenied
        elif code == 550:
            # vsftpd says only "Failed to open file." for a missing file; 550's usual cause.
            error_class = NotFound
        else:
            error_class = RemoteError
    else:
        error_class = RemoteError
    return error_class(message, reply=reply)


# --- values in replies ----------------------------------------------------------------------

MAX_FILE_SIZE = 2**63 - 1  # what a signed 64-bit offset can hold (REST, seek)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
# Six numbers that are not part of a longer list (a seventh number is not a PASV reply).
_PASV = re.compile(r"(?<![0-9,])" + ",".join([r"([0-9]{1,3})"] * 6) + r"(?![0-9]|,[0-9])", re.ASCII)
_MDTM = re.compile(r"([0-9]{14})(?:\.([0-9]{1,9}))?", re.ASCII)
_FEATURE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
_HASH_NAME = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}", re.ASCII)
_HEX = re.compile(r"[0-9a-fA-F]+", re.ASCII)


def _shown(reply: str) -> str:
    return repr(reply[:120])


def _expect(reply: str, code: str, what: str) -> None:
    if reply[:3] != code:
        raise ProtocolError(f"Malformed {what} reply (expected {code}): {_shown(reply)}")


def _port(digits: str, reply: str, what: str) -> int:
    if len(digits) > 5 or not _DIGITS.fullmatch(digits) or not 0 < int(digits) <= 65535:
        raise ProtocolError(f"Malformed {what} reply (no valid port): {_shown(reply)}")
    return int(digits)


def parse_epsv(reply: str) -> int:
    """The port of a 229 reply, ``"229 text (|||port|)"`` (RFC 2428; any delimiter).

    Raises:
        ProtocolError: not a 229 reply, or no port 1-65535 in the form above.
    """
    _expect(reply, "229", "EPSV")
    start, end = reply.find("("), reply.rfind(")")
    inside = reply[start + 1 : end] if 0 <= start < end else ""
    fields = inside.split(inside[:1]) if inside else []
    delimiter = inside[:1]
    if len(fields) != 5 or fields[:3] != ["", "", ""] or fields[4] or not "!" <= delimiter <= "~":
        raise ProtocolError(f"Malformed EPSV reply: {_shown(reply)}")
    return _port(fields[3], reply, "EPSV")


def parse_pasv(reply: str) -> int:
    """The port of a 227 reply, ``"227 text (h1,h2,h3,h4,p1,p2)"``. The address is checked
    for form but not returned: it is never used (see ``Control._passive_address``).

    Raises:
        ProtocolError: not a 227 reply, or not six numbers 0-255 giving a port 1-65535.
    """
    _expect(reply, "227", "PASV")
    found = _PASV.search(reply, 4)
    numbers = [int(number) for number in found.groups()] if found else []
    if not numbers or max(numbers) > 255:
        raise ProtocolError(f"Malformed PASV reply: {_shown(reply)}")
    return _port(str(numbers[4] * 256 + numbers[5]), reply, "PASV")


def parse_size(reply: str) -> int:
    """The size in a 213 reply to SIZE (RFC 3659): ASCII digits, at most 2**63 - 1.

    Raises:
        ProtocolError: anything else.
    """
    _expect(reply, "213", "SIZE")
    value = reply[4:].strip()
    if len(value) > 19 or not _DIGITS.fullmatch(value) or int(value) > MAX_FILE_SIZE:
        raise ProtocolError(f"Malformed SIZE reply: {_shown(reply)}")
    return int(value)


def parse_mdtm(reply: str) -> datetime:
    """The time in a 213 reply to MDTM, ``YYYYMMDDHHMMSS[.fff]`` in UTC (RFC 3659).

    Raises:
        ProtocolError: not that form, or not a real date and time.
    """
    _expect(reply, "213", "MDTM")
    found = _MDTM.fullmatch(reply[4:].strip())
    if found is None:
        raise ProtocolError(f"Malformed MDTM reply: {_shown(reply)}")
    digits, fraction = found.group(1), found.group(2) or ""
    try:
        return datetime(
            int(digits[0:4]), int(digits[4:6]), int(digits[6:8]),
            int(digits[8:10]), int(digits[10:12]), int(digits[12:14]),
            int(fraction[:6].ljust(6, "0")), tzinfo=UTC,
        )  # fmt: skip
    except ValueError as error:
        raise ProtocolError(f"Malformed MDTM reply ({error}): {_shown(reply)}") from None


def parse_features(reply: str) -> dict[str, str]:
    """The extensions listed in a 211 reply to FEAT (RFC 2389): upper-case name to its
    argument. Lines whose name is not a plain word (letters, digits, ``._-``) are ignored,
    and so are control characters in arguments: the features only switch things on.
    """
    features: dict[str, str] = {}
    if reply[:3] != "211":
        return features
    for line in reply.split("\n")[1:-1]:
        name, _, argument = line.strip().partition(" ")
        if _FEATURE_NAME.fullmatch(name):
            cleaned = "".join(ch for ch in argument.strip() if ch.isprintable())
            features[name.upper()] = cleaned
    return features


def hash_names(argument: str) -> list[str]:
    """The algorithms in a FEAT ``HASH`` argument (``"SHA-256*;SHA-1;MD5"``): only names
    that look like algorithms, the current one's ``*`` removed."""
    names = (name.strip().rstrip("*").upper() for name in argument.split(";"))
    return [name for name in names if _HASH_NAME.fullmatch(name)]


def parse_digest(reply: str, length: int) -> str:
    """The hex digest of ``length`` characters in a 2xx reply to HASH, XSHA256, XSHA1 or
    XMD5 (its place in the reply differs between servers).

    Raises:
        ProtocolError: not a 2xx reply, or no word of exactly that much ASCII hex.
    """
    if reply[:1] == "2":
        for word in reply[4:].split():
            if len(word) == length and _HEX.fullmatch(word):
                return word.lower()
    raise ProtocolError(f"No digest of {length} hex digits in the reply: {_shown(reply)}")
