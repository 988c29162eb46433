"""Provides the ``ferryman`` command line: headless ``ls``, ``get`` and ``put`` for scripts and
slow links, and the entry point of the full-screen app.

Exit codes (DESIGN.md): 0 ok, 1 other failure, 2 usage, 3 connection or login failed,
4 certificate not trusted, 5 transfer failed. Errors go to stderr as one line.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tui import __version__
from tui.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PIPE,
    EXIT_TRANSFER,
    FerrymanError,
    RemoteError,
    UsageError,
)
from tui.sites import TLS_MODES, Site, parse_url
from tui.textsafe import printable

# What a command does not use, it does not import: a script that runs `ferryman ls` from
# cron pays for every module at every call (issue 23). So the modules of the other commands
# (the transfer engine, sync, the certificate parser) are imported where they are used,
# and tests/core/test_layers.py keeps them out of the start-up path.
if TYPE_CHECKING:
    from tui.remote.base import Entry, RemoteFS

COMMANDS = ("ls", "get", "put", "mirror", "sync", "cert", "trust")


# scheme://user:password@ (to the last "@" of the word: a password may hold "@" or ":")
_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):\S*@")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        # argparse quotes what it did not understand, which may be a URL with a password.
        raise UsageError(_mask_urls(message))


def _timeout(text: str) -> float:
    """``--timeout``: seconds above 0, at most a day. 0, a negative number, nan or inf
    reached the socket and failed later, as a connection error or an "Operation failed"."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86400:  # false for nan too
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds from 0 to 86400")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="FP",
        help="accept the certificate (or key) with this SHA-256 fingerprint for this run "
        "(hex pairs, or OpenSSH's SHA256:base64)",
    )
    group.add_argument("--ca-file", metavar="PEM", help="also trust the CA certificates in PEM")
    mode = group.add_mutually_exclusive_group()
    mode.add_argument(
        "--passive",
        dest="passive",
        action="store_true",
        default=True,
        help="passive data connections (EPSV, then PASV); the default",
    )
    mode.add_argument(
        "--active", dest="passive", action="store_false", help="active data connections (EPRT/PORT)"
    )
    group.add_argument(
        "--tls", choices=TLS_MODES, help="TLS for ftp:// URLs: 'auto' uses AUTH TLS when offered"
    )
    group.add_argument(
        "--timeout",
        type=_timeout,
        default=30.0,
        metavar="S",
        help="seconds to wait for the server (default 30)",
    )
    group.add_argument(
        "--speed-limit",
        type=float,
        metavar="BYTES",
        help="a data connection slower than BYTES a second for --speed-time seconds is a "
        "stall: dropped and, for transfers, resumed (default: 1 KiB in a whole --timeout; "
        "0 turns it off)",
    )
    group.add_argument(
        "--speed-time",
        type=float,
        metavar="S",
        help="the window of --speed-limit (default: --timeout)",
    )
    group.add_argument(
        "--netrc-file", metavar="FILE", help="read credentials from FILE, not ~/.netrc"
    )
    group.add_argument(
        "--require-revocation",
        action="store_true",
        help="refuse certificates whose revocation status cannot be checked",
    )
    group.add_argument(
        "--allow-downgrade",
        action="store_true",
        help="with --tls auto, allow plain FTP to a site that used TLS before",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show the protocol conversation on stderr (password masked)",
    )


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The headless commands' parser; ``only``: build just that command's (``main`` does,
    so that a command imports no other command's modules)."""
    parser = _Parser(prog="ferryman", description="Terminal file manager for FTP and FTPS.")
    parser.add_argument("--version", action="version", version=f"ferryman {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    if only in (None, "ls"):
        ls = commands.add_parser("ls", help="list a remote directory")
        ls.add_argument("url", metavar="URL")
        ls.add_argument("--json", action="store_true", help="print one JSON array")
        _common(ls)
    if only in (None, "get", "put"):
        from tui import cli_transfer

        if only in (None, "get"):
            get = commands.add_parser("get", help="download a file or, with -r, a directory")
            get.add_argument("url", metavar="URL")
            get.add_argument("local", metavar="LOCAL", nargs="?", default=".")
            cli_transfer.add_options(get)
            _common(get)
        if only in (None, "put"):
            put = commands.add_parser("put", help="upload a file or, with -r, a directory")
            put.add_argument("local", metavar="LOCAL")
            put.add_argument("url", metavar="URL")
            cli_transfer.add_options(put)
            _common(put)
    if only in (None, "mirror", "sync"):
        from tui import cli_sync

        cli_sync.add_parsers(commands, _common)
    if only in (None, "cert", "trust"):
        from tui import cli_trust

        cli_trust.add_parsers(commands, _common)
    return parser


def build_app_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ferryman",
        description="Terminal file manager for FTP and FTPS. "
        f"Headless commands: {', '.join(COMMANDS)} (ferryman COMMAND --help).",
    )
    parser.add_argument("--version", action="version", version=f"ferryman {__version__}")
    parser.add_argument("url", metavar="URL", nargs="?", help="connect to this site at start")
    parser.add_argument(
        "--light",
        action="store_true",
        help="for slow links: a marker cursor, so a move rewrites one cell, not two rows",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="serve a sandbox over FTPS on 127.0.0.1 to try Ferryman on",
    )
    parser.add_argument("--ca-file", metavar="PEM", help="also trust the CA certificates in PEM")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it).

    Every way out is one line on stderr and a documented exit code, never a traceback:
    Ferryman's errors exit with their own code, Ctrl+C with 130, a closed output pipe
    (``ferryman ls URL | head -1``) quietly with 141 as a program killed by SIGPIPE, and
    anything unexpected with 1 (``-v`` adds the traceback).
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    if sys.stdout is None:  # started with stdout closed (``>&-``): the output goes nowhere
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process
    try:
        if args_list and args_list[0] in COMMANDS:
            args = build_parser(only=args_list[0]).parse_args(args_list)
            return _run(args)
        return _run_app(build_app_parser().parse_args(args_list))
    except FerrymanError as error:
        _fail(error)
        return error.exit_code
    except KeyboardInterrupt:
        _interrupted()
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _pipe_closed()
    except Exception as error:  # noqa: BLE001 - the last line of defence: one line, not a trace
        if _stdout_closed(error):
            return _pipe_closed()
        if "-v" in args_list or "--verbose" in args_list:
            import traceback

            traceback.print_exc()
        kind = type(error).__name__
        _say(f"ferryman: internal error ({kind}): {_mask_urls(str(error))}")
        return EXIT_FAILURE


def _say(line: str) -> None:
    """One line on stderr, even if stderr itself has gone (then nothing is said)."""
    try:
        print(printable(line), file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _interrupted() -> None:
    # The progress line (if any) ends first, so the message stands on a line of its own.
    if sys.stderr is not None and sys.stderr.isatty():
        _say("")
    _say("ferryman: interrupted")


def _stdout_closed(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno == errno.EPIPE


def _pipe_closed() -> int:
    """The reader of our output went away (``| head``): stop quietly, as Python's docs
    advise, pointing stdout at devnull so the flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file (a test's capture): nothing will be flushed to it
    return EXIT_PIPE


def _run_app(args: argparse.Namespace) -> int:
    from tui.config import load_config

    config = load_config()
    config.light = config.light or args.light
    config.ca_file = args.ca_file or config.ca_file
    if config.ca_file and not os.path.isfile(config.ca_file):
        raise UsageError(f"--ca-file: no such file {config.ca_file}")
    if args.demo:
        from tui.demo import run_demo_app

        return run_demo_app(config)
    from tui.app import FerrymanApp

    if args.url:
        parse_url(args.url)  # a bad URL is a usage error before the screen takes over
    app = FerrymanApp(url=args.url, config=config)
    app.run()
    return app.return_code or EXIT_OK


def _fail(error: FerrymanError) -> None:
    # Messages never hold a password; URLs in them are redacted all the same, in case one
    # quotes a URL the user typed.
    _say(f"ferryman: {error.title}: {_mask_urls(str(error))}")


def _mask_urls(text: str) -> str:
    """Hide the password of every ``scheme://user:password@`` in ``text``."""
    return _URL_CREDENTIALS.sub(r"\1:***@", text)


def _run(args: argparse.Namespace) -> int:
    from tui.cli_service import service_for

    if args.command in ("trust", "cert"):
        from tui import cli_trust

        if args.command == "trust":
            return cli_trust.run_trust(args, lambda: service_for(args))
        return cli_trust.run_cert(service_for(args), args.url, as_json=args.json)
    service = service_for(args)
    if args.command in ("mirror", "sync"):
        from tui import cli_sync

        run = cli_sync.run_mirror if args.command == "mirror" else cli_sync.run_sync
        return run(args, service)
    site = service.site_for(args.url)
    with service.open(site) as fs:
        if args.command == "ls":
            return _ls(fs, site, as_json=args.json)
        from tui import cli_transfer

        try:
            return cli_transfer.run(fs, site, args, lambda: service.open(site))
        except UsageError:
            raise
        except RemoteError as error:
            # A missing source, a refused write, a full disk: the transfer failed (exit 5).
            _fail(error)
            return EXIT_TRANSFER


# --- ls ----------------------------------------------------------------------------------


def _ls(fs: RemoteFS, site: Site, *, as_json: bool) -> int:
    from tui.remote.base import EntryType

    path = site.path or fs.home
    try:
        entries = fs.listdir(path)
    except RemoteError:
        # `ls FILE` shows the file, like ls(1); if it is not there, the listing error stands.
        entry = fs.stat(path)
        if entry.is_dir:
            raise
        entries = [entry]
    entries.sort(key=lambda entry: (entry.type is not EntryType.DIR, entry.name))
    if as_json:
        import json

        json.dump([_entry_json(entry) for entry in entries], sys.stdout, indent=None)
        sys.stdout.write("\n")
        return EXIT_OK
    for entry in entries:
        print(_entry_line(entry))
    return EXIT_OK


def _entry_json(entry: Entry) -> dict[str, object]:
    return {
        "name": entry.name,
        "type": entry.type.value,
        "size": entry.size,
        "mtime": entry.mtime.isoformat().replace("+00:00", "Z") if entry.mtime else None,
        "perms": entry.perms,
        "target": entry.target,
        "raw": entry.raw,
    }


def _entry_line(entry: Entry) -> str:
    from tui.remote.base import EntryType

    if entry.type is EntryType.UNKNOWN:
        return f"?  {printable(entry.raw or entry.name)}"
    kind = {"dir": "d", "link": "l", "file": "-"}[entry.type.value]
    perms = (entry.perms or "")[-9:].ljust(9)
    size = "" if entry.size is None else str(entry.size)
    when = entry.mtime.strftime("%Y-%m-%d %H:%M") if entry.mtime else "-"
    name = printable(entry.name)
    if entry.target:
        name += f" -> {printable(entry.target)}"
    return f"{kind}{perms} {size:>12} {when:>16}  {name}"
