"""Provides ``ferryman mirror SRC DST`` and ``ferryman sync PROFILE``.

One side is a URL, the other a local folder; the destination becomes a copy of the source.
``--dry-run`` prints the plan and changes nothing; without it the same plan is carried out
by the transfer engine (partial files from an interrupted run are resumed), then, with
``--delete``, what is only in the destination is removed, unless a copy failed or a folder
could not be listed (exit 5 then, as for a failed copy).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui.cli_transfer import Display, Sessions, add_limit_rate, rate_limit, run_engine
from tui.config import SyncProfile, load_config
from tui.errors import EXIT_OK, EXIT_TRANSFER, ConfigError, UsageError
from tui.remote.base import RemoteFS
from tui.remote.local import LocalFS
from tui.sites import Site, load_sites
from tui.textsafe import printable
from tui.transfer.engine import Conflict, TransferEngine
from tui.transfer.queue import State, TransferQueue
from tui.transfer.ratelimit import RateLimit
from tui.transfer.sync import (
    Action,
    Options,
    Plan,
    compare,
    delete_extra,
    describe,
    jobs_for,
    make_folders,
)

if TYPE_CHECKING:
    from tui.connection import ConnectionService


def add_parsers(commands, common: Callable[[argparse.ArgumentParser], None]) -> None:  # type: ignore[no-untyped-def]
    mirror = commands.add_parser(
        "mirror", help="make DESTINATION a copy of SOURCE (one of them a URL)"
    )
    mirror.add_argument("source", metavar="SOURCE")
    mirror.add_argument("destination", metavar="DESTINATION")
    mirror.add_argument("--delete", action="store_true",
                        help="remove files and folders that are only in DESTINATION")  # fmt: skip
    mirror.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="leave out paths or names matching GLOB (repeatable)")  # fmt: skip
    mirror.add_argument("--include", action="append", default=[], metavar="GLOB",
                        help="consider only files matching GLOB (repeatable)")  # fmt: skip
    mirror.add_argument("-j", "--jobs", type=int, default=2, metavar="N",
                        help="parallel sessions, 1 to 10 (default 2)")  # fmt: skip
    mirror.add_argument("--checksum", action="store_true",
                        help="compare files of equal size by the server's checksum")  # fmt: skip
    mirror.add_argument("--time-offset", type=_offset, default=0.0, metavar="S",
                        help="seconds to add to the server's times (a wrong clock); default: "
                             "the site's time_offset in sites.toml")  # fmt: skip
    _plan_options(mirror)
    common(mirror)

    sync = commands.add_parser("sync", help="run a sync profile saved in config.toml")
    sync.add_argument("profile", metavar="PROFILE")
    _plan_options(sync)
    common(sync)


def _plan_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--json", action="store_true", help="with --dry-run: the plan as JSON")
    add_limit_rate(parser)


def run_sync(args: argparse.Namespace, service: ConnectionService) -> int:
    profiles = load_config().sync
    profile = profiles.get(args.profile)
    if profile is None:
        known = ", ".join(sorted(profiles)) or "none"
        raise UsageError(f"No sync profile {args.profile!r} in config.toml (known: {known})")
    return _mirror(service, profile, dry_run=args.dry_run, as_json=args.json,
                   limit_for=lambda site: rate_limit(args, site))  # fmt: skip


def run_mirror(args: argparse.Namespace, service: ConnectionService) -> int:
    profile = SyncProfile(args.source, args.destination, delete=args.delete,
                          exclude=args.exclude, include=args.include, jobs=args.jobs,
                          checksum=args.checksum, time_offset=args.time_offset)  # fmt: skip
    return _mirror(service, profile, dry_run=args.dry_run, as_json=args.json,
                   limit_for=lambda site: rate_limit(args, site))  # fmt: skip


def _is_url(text: str) -> bool:
    return "://" in text


def _offset(text: str) -> float:
    """``--time-offset``: a finite number of seconds (nan would make every file differ)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number of seconds")
    return value


def _mirror(service: ConnectionService, profile: SyncProfile, *, dry_run: bool,
            as_json: bool, limit_for: Callable[[Site], RateLimit | None]) -> int:  # fmt: skip
    if _is_url(profile.source) == _is_url(profile.destination):
        raise UsageError("One of SOURCE and DESTINATION must be a URL, the other a local folder")
    if not 1 <= profile.jobs <= 10:
        raise UsageError("-j takes 1 to 10 sessions")
    upload = not _is_url(profile.source)
    url, local_root = ((profile.destination, profile.source) if upload
                       else (profile.source, profile.destination))  # fmt: skip
    local_root = os.path.abspath(local_root)
    if upload and not os.path.isdir(local_root):
        raise UsageError(f"{local_root} is not a folder")
    site = service.site_for(url)
    limit = limit_for(site)  # a bad --limit-rate stops here, before connecting
    offset = profile.time_offset or _saved_offset(site)
    options = Options(delete=profile.delete, exclude=profile.exclude, include=profile.include,
                      checksum=profile.checksum, time_offset=offset)  # fmt: skip
    with service.open(site) as fs:
        remote_root = fs.resolve(site.path)
        local = LocalFS()
        sides: tuple[RemoteFS, str, RemoteFS, str]
        if upload:
            sides = (local, local_root, fs, remote_root)
        else:
            sides = (fs, remote_root, local, local_root)
        plan = compare(sides[0], sides[1], sides[2], sides[3], options)
        if dry_run:
            _print_plan(plan, options.delete, as_json)
            return EXIT_TRANSFER if plan.unlisted or plan.uncopied else EXIT_OK  # incomplete
        return _carry_out(plan, sides, options, profile.jobs, lambda: service.open(site), limit)


def _saved_offset(site: Site) -> float:
    """The clock offset saved for this host:port in the site manager (as the app uses it),
    when the command line gives none; a sites.toml that cannot be read counts as none."""
    try:
        saved = load_sites()
    except ConfigError:
        return 0.0
    return next((s.time_offset for s in saved if s.key == site.key and s.time_offset), 0.0)


def _print_plan(plan: Plan, delete: bool, as_json: bool) -> None:
    if as_json:
        rows = [{"path": item.path, "action": item.label(delete), "dir": item.is_dir,
                 "size": item.size, "note": item.note}
                for item in plan.items if item.action is not Action.SAME]  # fmt: skip
        summary = {name: {"count": c, "bytes": b} for name, (c, b) in plan.summary(delete).items()}
        print(json.dumps({"items": rows, "skipped": plan.skipped, "unlisted": plan.unlisted,
                          "summary": summary}))  # fmt: skip
        return
    for line in describe(plan, delete):
        print(printable(line))


def _carry_out(
    plan: Plan,
    sides: tuple[RemoteFS, str, RemoteFS, str],
    options: Options,
    jobs: int,
    open_session: Callable[[], RemoteFS],
    limit: RateLimit | None = None,
) -> int:
    source, source_root, target, target_root = sides
    make_folders(plan, target, target_root)
    copies = jobs_for(plan, *sides, options)
    upload = not isinstance(target, LocalFS)
    remote = target if upload else source
    # The session already open serves the first slot, or the deletions.
    session = Sessions(remote, open_session)

    failed = 0
    if copies:
        display = Display("mirror")
        queue = TransferQueue(on_change=display.changed)
        queue.add(copies)
        engine = TransferEngine(queue, session, slots=jobs, conflict=Conflict.OVERWRITE,
                                progress=display.moved, resume_partials=True,
                                limit=limit)  # fmt: skip
        finished = run_engine(engine, session, display)
        display.finish(finished)
        failed = sum(1 for job in finished if job.state is State.FAILED)
    # Names either walk could not take (unsafe, or FTP cannot send them) are said; those of
    # the source mean the copy is not the source, so the run ends in failure as a failed
    # copy does.
    for line in plan.skipped:
        _say(f"ferryman: skipped {line}")
    for line in plan.unlisted:
        _say(f"ferryman: not listed: {line}")
    if plan.unlisted and options.delete:
        _say(f"ferryman: deletions not done because {len(plan.unlisted)} folder(s) could not "
             "be listed; run again")  # fmt: skip
    failed += len(plan.unlisted)
    removals = plan.deletions(options.delete)
    if removals and failed:
        print(f"ferryman: {len(removals)} deletion(s) not done because {failed} copy(ies) "
              "failed; run again", file=sys.stderr)  # fmt: skip
    elif removals:
        side = target if isinstance(target, LocalFS) else session()
        try:
            failed += delete_extra(side, target_root, removals, _say)
        finally:
            if side is not target:
                side.close()
    return EXIT_TRANSFER if failed or plan.uncopied else EXIT_OK


def _say(line: str) -> None:
    print(printable(line), file=sys.stderr)
