"""Provides the plain-language meaning of FTP reply codes and the mapping of replies to errors."""

from __future__ import annotations

import re

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
    code = int(reply[:3]) if reply[:3].isdigit() else 0
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
