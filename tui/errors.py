"""Provides Ferryman's error types: one base class that every layer raises and every UI shows.

Each error carries a short ``title`` (the heading of an error modal, or the first words of a
CLI error line), the ``exit_code`` the CLI uses for it (see DESIGN.md), and, when a server
said something, the ``reply`` it sent so the user sees the server's words. The errors are
the same for every backend; a backend maps its protocol's failures onto them (FTP's reply
codes in ``tui.remote.replies``) and keeps its protocol's words in ``reply``.
"""

from __future__ import annotations

# CLI exit codes (DESIGN.md, "CLI contract").
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONNECTION = 3
EXIT_CERTIFICATE = 4
EXIT_TRANSFER = 5
EXIT_INTERRUPTED = 130  # Ctrl+C, as a shell reports a program killed by SIGINT (128 + 2)
EXIT_PIPE = 141  # the reader of stdout went away (``| head``): 128 + SIGPIPE, said quietly


class FerrymanError(Exception):
    """Base of every error Ferryman raises on purpose.

    Args:
        message: One clear sentence for the user (no trailing period needed).
        reply: The server's words that caused it, if any: an FTP reply line
            (``"550 No such file"``), another protocol's status message.
    """

    title = "Error"
    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, reply: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reply = reply

    @property
    def code(self) -> int | None:
        """The reply's three-digit code, when ``reply`` starts with one (FTP's do)."""
        if self.reply and self.reply[:3].isdigit():
            return int(self.reply[:3])
        return None

    def __str__(self) -> str:
        return self.message


class UsageError(FerrymanError):
    """The command line or a URL is malformed."""

    title = "Invalid input"
    exit_code = EXIT_USAGE


class ConfigError(FerrymanError):
    """A configuration or data file cannot be read or written."""

    title = "Configuration error"


# --- connecting ---------------------------------------------------------------------------


class ConnectFailed(FerrymanError):
    """The server could not be reached: unknown host, refused port, timeout, bad greeting."""

    title = "Connection failed"
    exit_code = EXIT_CONNECTION


class AuthFailed(FerrymanError):
    """The server refused the user name, password or key (FTP: 530, 430, 332/532)."""

    title = "Login failed"
    exit_code = EXIT_CONNECTION


class TLSNotOffered(FerrymanError):
    """TLS was required but the server does not offer it (AUTH TLS refused)."""

    title = "TLS not offered"
    exit_code = EXIT_CONNECTION


class TLSError(FerrymanError):
    """The TLS handshake or a TLS data connection failed for a reason other than trust."""

    title = "TLS error"
    exit_code = EXIT_CONNECTION


class CertificateNotTrusted(FerrymanError):
    """The server's identity (certificate, host key, …) is not trusted and nobody accepted it.

    Attributes:
        certificate: What the viewer shows: the trust policy's report (its ``kind`` says
            which viewer: ``tui.trust.certificate.CertificateReport`` for X.509), else the
            raw ``tui.identity.PeerIdentity`` the backend met.
    """

    title = "Certificate not trusted"
    exit_code = EXIT_CERTIFICATE

    def __init__(self, message: str, certificate: object) -> None:
        super().__init__(message)
        self.certificate = certificate
        noun = getattr(certificate, "noun", None)  # reports of kinds other than X.509
        if isinstance(noun, str) and noun:
            self.title = f"{noun.capitalize()} not trusted"


IdentityNotTrusted = CertificateNotTrusted
"""The protocol-neutral name of the same error."""


class TLSDowngrade(FerrymanError):
    """A site that was secured before now offers only a plain connection (FTP without TLS)."""

    title = "TLS downgrade refused"
    exit_code = EXIT_CERTIFICATE


class ConnectionLost(FerrymanError):
    """An open connection broke: the server closed it (FTP: 421), reset it, or stopped
    answering."""

    title = "Connection lost"
    exit_code = EXIT_CONNECTION


# --- operations ---------------------------------------------------------------------------


class RemoteError(FerrymanError):
    """An operation on an open connection failed; the connection itself is still usable."""

    title = "Operation failed"


class NotFound(RemoteError):
    """The file or directory does not exist."""

    title = "Not found"


class PermissionDenied(RemoteError):
    """The server (or the local disk) refused the operation."""

    title = "Permission denied"


class DiskFull(RemoteError):
    """No space left: the server's disk or quota (FTP: 452, 552), or the local disk."""

    title = "Disk full"
    exit_code = EXIT_TRANSFER


class AlreadyExists(RemoteError):
    """The target already exists (making a directory that is there, for instance)."""

    title = "Already exists"


class NotSupported(RemoteError):
    """The server does not implement the operation (FTP: 500, 502, 504)."""

    title = "Not supported"


class InvalidName(RemoteError):
    """A name cannot be sent to the server or used on disk (CR/LF, NUL, '..')."""

    title = "Invalid name"


class IsADirectory(RemoteError):
    """A file operation was asked of a directory."""

    title = "Is a directory"


class ProtocolError(FerrymanError):
    """The server sent something its protocol does not allow."""

    title = "Protocol error"
    exit_code = EXIT_CONNECTION


class TransferFailed(FerrymanError):
    """A data transfer did not complete (FTP: 425, 426, 451; a short read)."""

    title = "Transfer failed"
    exit_code = EXIT_TRANSFER


class Cancelled(FerrymanError):
    """The user cancelled the operation."""

    title = "Cancelled"
    exit_code = EXIT_TRANSFER


class SourceChanged(TransferFailed):
    """The source changed (size or time) while it was copied: the copy is discarded, and
    the job fails rather than retrying against a moving file."""

    title = "Source changed"


# --- listings and walks (issue 19) ---------------------------------------------------------


class ListingFailed(RemoteError):
    """A folder's listing failed, was refused after its data, was cut short or was too big.

    A listing is positive evidence or this error, never an empty folder: vsftpd answers
    ``226 Transfer done (but failed to open directory)`` with no data for a folder it cannot
    read, and a mirror that took that for "empty" would delete what the folder holds.
    """

    title = "Listing failed"
    exit_code = EXIT_TRANSFER


class EndlessTree(FerrymanError):
    """A recursive walk went deeper than its limit, or came back to a folder it is inside
    (a symbolic-link loop, or a server that invents folders forever)."""

    title = "Endless tree"
    exit_code = EXIT_TRANSFER


class UnexpectedError(FerrymanError):
    """A fault in Ferryman itself (an exception that is not one of these classes), caught
    where the app runs its work so that it reaches the user as one line, never a
    traceback or silence."""

    title = "Unexpected error"
    exit_code = EXIT_FAILURE


def as_ferryman_error(error: BaseException | None) -> FerrymanError:
    """Any failure as one of Ferryman's errors: a bug shows as one line, not silence."""
    if isinstance(error, FerrymanError):
        return error
    return UnexpectedError(f"{type(error).__name__}: {error}")
