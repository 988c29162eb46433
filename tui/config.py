"""Provides Config: the user's settings from ``config.toml`` (keys, pane defaults).

```toml
[keys]            # binding id = key(s), e.g. rebind copy from F5 to ctrl+c
"main.copy" = "f5,ctrl+c"

[panes]
show_hidden = false
sort = "name"     # name, size or time

[display]
light = false     # slow links: a marker cursor instead of a highlighted row (or --light)

[trust]
ca_file = "/etc/ssl/private-ca.pem"  # also trust this CA bundle (or --ca-file)

[transfers]
sessions = 2      # parallel sessions per site, 1 to 10
segments = 4      # streams for one large download, 1 to 16 (1: one stream)
limit_rate = "2M" # one cap for all transfers together, curl's syntax (500K, 2M); 0: none

[connection]
keepalive = 60    # seconds between NOOPs that keep an idle session open (0: never)

[sync.www]        # ferryman sync www (from cron or a systemd timer)
source = "/srv/www"
destination = "ftpes://deploy@example.org/htdocs"
delete = false    # remove what is only in the destination
exclude = ["*.tmp", ".git"]
include = []      # when given, only matching files
jobs = 2
checksum = false  # compare equal-size files by the server's HASH
time_offset = 0   # seconds to add to the server's times
```
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field

from tui.errors import ConfigError
from tui.paths import config_dir


@dataclass(slots=True)
class Config:
    """Settings.

    Attributes:
        keys: Binding id → keys, applied with ``App.set_keymap`` (every binding has an id).
        show_hidden: Show dot files when a pane opens.
        sort: How panes sort at start: ``name``, ``size`` or ``time``.
        sessions: Parallel transfer sessions per site.
        segments: Streams for one large download.
        sync: Saved sync profiles by name (``ferryman sync NAME``).
        light: A marker cursor instead of a highlighted row: moving it rewrites one cell,
            which is what a slow SSH link wants.
        ca_file: A PEM bundle of CA certificates trusted besides certifi's and the
            system's (a private CA), as ``--ca-file`` gives it for one run.
        limit_rate: Bytes per second for all transfers of a batch together (``None``: no
            cap); ``--limit-rate`` and a saved site's ``limit_rate`` come first.
        keepalive: Seconds between the NOOPs that keep an idle session open (below the
            usual server idle timeouts of 300 s and more); 0 turns them off.
    """

    keys: dict[str, str] = field(default_factory=dict)
    show_hidden: bool = False
    sort: str = "name"
    sessions: int = 2
    segments: int = 4
    sync: dict[str, SyncProfile] = field(default_factory=dict)
    light: bool = False
    ca_file: str | None = None
    limit_rate: int | None = None
    keepalive: float = 60.0


@dataclass(slots=True)
class SyncProfile:
    """A saved ``mirror``: one side a URL, the other a local folder."""

    source: str
    destination: str
    delete: bool = False
    exclude: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    jobs: int = 2
    checksum: bool = False
    time_offset: float = 0.0


def config_path() -> str:
    return os.path.join(config_dir(), "config.toml")


def load_config(path: str | None = None) -> Config:
    """Read the config file; a missing file gives the defaults.

    Raises:
        ConfigError: the file exists but is not valid TOML or has wrong types.
    """
    path = path or config_path()
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return Config()
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"Cannot read {path}: {error}") from error
    keys = data.get("keys", {})
    panes = data.get("panes", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise ConfigError(f"{path}: [keys] must map binding ids to key names")
    sort = panes.get("sort", "name")
    if sort not in ("name", "size", "time"):
        raise ConfigError(f"{path}: [panes] sort must be name, size or time, not {sort!r}")
    transfers = data.get("transfers", {})
    sessions, segments = transfers.get("sessions", 2), transfers.get("segments", 4)
    if not isinstance(sessions, int) or not 1 <= sessions <= 10:
        raise ConfigError(f"{path}: [transfers] sessions must be 1 to 10, not {sessions!r}")
    if not isinstance(segments, int) or not 1 <= segments <= 16:
        raise ConfigError(f"{path}: [transfers] segments must be 1 to 16, not {segments!r}")
    ca_file = data.get("trust", {}).get("ca_file")
    if ca_file is not None and not isinstance(ca_file, str):
        raise ConfigError(f"{path}: [trust] ca_file must be the path of a PEM file")
    limit_rate = _rate(path, "[transfers] limit_rate", transfers.get("limit_rate", 0))
    keepalive = data.get("connection", {}).get("keepalive", 60)
    if isinstance(keepalive, bool) or not isinstance(keepalive, int | float) or keepalive < 0:
        raise ConfigError(f"{path}: [connection] keepalive must be seconds (0: off)")
    return Config(
        keys=dict(keys),
        show_hidden=bool(panes.get("show_hidden", False)),
        sort=sort,
        sessions=sessions,
        segments=segments,
        sync={name: _profile(path, name, table) for name, table in data.get("sync", {}).items()},
        light=bool(data.get("display", {}).get("light", False)),
        ca_file=os.path.expanduser(ca_file) if ca_file else None,
        limit_rate=limit_rate,
        keepalive=float(keepalive),
    )


def _rate(path: str, where: str, value: object) -> int | None:
    """A rate setting (``"500K"``, ``2097152``) as bytes per second, ``None`` for no cap."""
    from tui.units import parse_rate

    try:
        return parse_rate(value)  # type: ignore[arg-type]
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{path}: {where}: {error}") from None


def _profile(path: str, name: str, table: object) -> SyncProfile:
    where = f"{path}: [sync.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(table) - set(SyncProfile.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    for key in ("source", "destination"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise ConfigError(f"{where} needs {key} (a URL or a local folder)")
    for key in ("exclude", "include"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {key} must be a list of globs")
    jobs = table.get("jobs", 2)
    if not isinstance(jobs, int) or not 1 <= jobs <= 10:
        raise ConfigError(f"{where}: jobs must be 1 to 10")
    offset = table.get("time_offset", 0)
    if not isinstance(offset, int | float) or not math.isfinite(offset):  # TOML has nan, inf
        raise ConfigError(f"{where}: time_offset must be a number of seconds")
    return SyncProfile(
        source=table["source"],
        destination=table["destination"],
        delete=bool(table.get("delete", False)),
        exclude=list(table.get("exclude", [])),
        include=list(table.get("include", [])),
        jobs=jobs,
        checksum=bool(table.get("checksum", False)),
        time_offset=float(offset),
    )
