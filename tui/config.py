"""Provides Config: the user's settings from ``config.toml`` (keys, pane defaults).

```toml
[keys]            # binding id = key(s), e.g. rebind copy from F5 to ctrl+c
"main.copy" = "f5,ctrl+c"

[panes]
show_hidden = false
sort = "name"     # name, size or time

[display]
light = false     # slow links: a marker cursor instead of a highlighted row (or --light)

[transfers]
sessions = 2      # parallel sessions per site, 1 to 10
segments = 4      # streams for one large download, 1 to 16 (1: one stream)

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
    """

    keys: dict[str, str] = field(default_factory=dict)
    show_hidden: bool = False
    sort: str = "name"
    sessions: int = 2
    segments: int = 4
    sync: dict[str, SyncProfile] = field(default_factory=dict)
    light: bool = False


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
    return Config(
        keys=dict(keys),
        show_hidden=bool(panes.get("show_hidden", False)),
        sort=sort,
        sessions=sessions,
        segments=segments,
        sync={name: _profile(path, name, table) for name, table in data.get("sync", {}).items()},
        light=bool(data.get("display", {}).get("light", False)),
    )


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
