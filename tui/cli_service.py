"""Provides the CLI's connection service: the command's options as settings, and the
terminal as the place where passwords and ssh's questions are asked and the ``-v`` log goes.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from tui.errors import AuthFailed, UsageError
from tui.sites import Site, check_credentials
from tui.textsafe import printable

if TYPE_CHECKING:
    from tui.connection import ConnectionService
    from tui.remote.base import MinimumProgress

PASSWORD_ENV = "FERRYMAN_PASSWORD"


def _min_progress(args: argparse.Namespace) -> MinimumProgress | None:
    """curl's ``--speed-limit``/``--speed-time``, or None for the default rule."""
    from tui.remote.base import MinimumProgress

    if args.speed_limit is None and args.speed_time is None:
        return None
    if (args.speed_limit or 0) < 0 or (args.speed_time is not None and args.speed_time <= 0):
        raise UsageError("--speed-limit must be 0 or more and --speed-time more than 0")
    limit = 1024 / args.timeout if args.speed_limit is None else args.speed_limit
    return MinimumProgress.from_speed(limit, args.speed_time or args.timeout)


def service_for(args: argparse.Namespace) -> ConnectionService:
    """The connection service a command's options describe.

    Raises:
        UsageError: an option's value makes no sense (a missing --ca-file, a bad --trust).
    """
    from tui.connection import ConnectionService

    if args.ca_file and not os.path.isfile(args.ca_file):
        raise UsageError(f"--ca-file: no such file {args.ca_file}")
    try:
        from tui.identity import normalize_fingerprint

        trusted = [normalize_fingerprint(value) for value in args.trust]
    except ValueError as error:
        raise UsageError(f"--trust: {error}") from error
    return ConnectionService(
        min_progress=_min_progress(args),
        trust=trusted,
        require_revocation=args.require_revocation,
        allow_downgrade=args.allow_downgrade,
        password_prompt=prompt_password,
        ask=prompt_transport,
        log=print_log if args.verbose else None,
        timeout=args.timeout,
        ca_file=args.ca_file,
        netrc_file=args.netrc_file,
        tls=args.tls,
        passive=args.passive,
    )


def prompt_password(site: Site) -> str | None:
    """The site's password: ``$FERRYMAN_PASSWORD``, else asked on the terminal."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        check_credentials(None, from_env, f"${PASSWORD_ENV}")
        return from_env
    if not sys.stdin.isatty():
        raise AuthFailed(
            f"No password for {site.user}@{site.key}: put it in ~/.netrc or ${PASSWORD_ENV}, "
            "or run on a terminal to be asked"
        )
    import getpass

    try:
        typed = getpass.getpass(f"Password for {site.user}@{site.key}: ")
    except EOFError:  # Ctrl+D
        raise AuthFailed(f"No password given for {site.user}@{site.key}") from None
    check_credentials(None, typed, "the prompt")
    return typed


def prompt_transport(prompt: str, echo: bool) -> str | None:
    """A transport's own question (ssh's key passphrase, a one-time code): asked on the
    terminal, as ssh would, or None (no answer: the login fails in one line) without one."""
    if not sys.stdin.isatty():
        return None
    import getpass

    shown = printable(prompt.rstrip()) + " "
    try:
        return input(shown) if echo else getpass.getpass(shown)
    except EOFError:  # Ctrl+D
        return None


def print_log(direction: str, line: str) -> None:
    from tui.remote.replies import meaning

    text = printable(line)
    if direction == "<" and line[:3].isdigit() and line[3:4] == " ":
        text += f"   [{meaning(int(line[:3]))}]"
    print(f"{direction} {text}", file=sys.stderr, flush=True)
