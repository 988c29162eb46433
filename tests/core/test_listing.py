"""Listing parsers: real-world lines from each server family, and Hypothesis for robustness."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.remote.base import EntryType
from tui.remote.listing import (
    parse_list_line,
    parse_listing,
    parse_mdtm,
    parse_mlsd_line,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_vsftpd_and_proftpd_unix_lines():
    entry = parse_list_line("-rw-r--r--    1 1000     1000         1234 Nov 24 01:57 a b.txt", NOW)
    assert (entry.name, entry.type, entry.size) == ("a b.txt", EntryType.FILE, 1234)
    assert entry.mtime == datetime(2026, 11, 24, 1, 57, tzinfo=UTC)
    assert entry.mtime_precision == "minute" and entry.perms == "-rw-r--r--"

    old = parse_list_line("drwxr-xr-x    2 ftp      ftp          4096 Jan 01  2019 pub", NOW)
    assert old.type is EntryType.DIR and old.mtime == datetime(2019, 1, 1, tzinfo=UTC)
    assert old.mtime_precision == "day"

    link = parse_list_line("lrwxrwxrwx 1 root root 7 Mar  3 10:00 latest -> v1.2.3", NOW)
    assert (link.name, link.type, link.target) == ("latest", EntryType.LINK, "v1.2.3")


def test_year_is_inferred_for_recent_dates_across_new_year():
    entry = parse_list_line("-rw-r--r-- 1 u g 1 Dec 30 23:00 x", datetime(2027, 1, 2, tzinfo=UTC))
    assert entry.mtime.year == 2026


def test_pure_ftpd_and_missing_group_column():
    entry = parse_list_line("-rw-r--r--    1 ftpuser    ftpgroup         7 Jun 10 10:10 f", NOW)
    assert entry.size == 7
    no_group = parse_list_line("-rw-r--r-- 1 owner 99 Jun 10 10:10 g", NOW)
    assert (no_group.name, no_group.size) == ("g", 99)


def test_dos_iis_lines():
    directory = parse_list_line("01-02-25  10:15AM       <DIR>          My Documents", NOW)
    assert (directory.name, directory.type, directory.size) == ("My Documents", EntryType.DIR, None)
    file = parse_list_line("12-31-2024  11:59PM              1024 report.pdf", NOW)
    assert file.size == 1024 and file.mtime == datetime(2024, 12, 31, 23, 59, tzinfo=UTC)


def test_lines_without_entries_and_raw_lines():
    assert parse_list_line("total 48", NOW) is None
    assert parse_list_line("drwxr-xr-x 2 u g 4096 Nov 24 01:57 .", NOW) is None
    assert parse_list_line("drwxr-xr-x 2 u g 4096 Nov 24 01:57 ..", NOW) is None
    raw = parse_list_line("garbage from a strange server", NOW)
    assert raw.type is EntryType.UNKNOWN and raw.raw == "garbage from a strange server"
    impossible = parse_list_line("-rw-r--r-- 1 u g 1 Feb 31  2024 x", NOW)
    assert impossible.type is EntryType.UNKNOWN


def test_mlsd_lines():
    entry = parse_mlsd_line("type=file;size=12;modify=20250102030405.123;unix.mode=0644; a; b")
    assert (entry.name, entry.size, entry.perms) == ("a; b", 12, "rw-r--r--")
    assert entry.mtime == datetime(2025, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert parse_mlsd_line("type=cdir;modify=20250102030405; /pub") is None
    assert parse_mlsd_line("type=pdir; ..") is None
    link = parse_mlsd_line("type=OS.unix=slink:/target;size=7; l")
    assert (link.type, link.target) == (EntryType.LINK, "/target")
    assert parse_mlsd_line("no facts here").type is EntryType.UNKNOWN


def test_parse_listing_and_mdtm():
    lines = ["type=dir; d", "type=file;size=1; f", "type=cdir; ."]
    assert [entry.name for entry in parse_listing(lines, mlsd=True)] == ["d", "f"]
    assert parse_mdtm("20240229120000") == datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert parse_mdtm("2024") is None and parse_mdtm("20241340000000") is None
    assert parse_mdtm("20230229120000") is None  # not a leap year
    assert parse_mdtm("20240101000060") is None
    assert parse_mdtm("\uff12\uff10\uff12\uff14" + "0101000000") is None  # full-width digits
    assert parse_mdtm("20240101000000.x") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_mdtm("20240101000000.000001999").microsecond == 1


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_list_line_yields_an_entry_or_nothing(line):
    entry = parse_list_line(line, NOW)
    assert entry is None or entry.name or entry.raw is not None


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_mlsd_line_yields_an_entry_or_nothing(line):
    entry = parse_mlsd_line(line)
    assert entry is None or isinstance(entry.type, EntryType)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from("-dl"),
    mode=st.text(alphabet="rwx-", min_size=9, max_size=9),
    size=st.integers(min_value=0, max_value=10**15),
    month=st.sampled_from(["Jan", "Feb", "Mar", "Nov", "Dec"]),
    day=st.integers(min_value=1, max_value=28),
    name=st.text(min_size=1, max_size=40).filter(
        lambda n: (
            n not in (".", "..")
            and "\n" not in n
            and "\r" not in n
            and " -> " not in n
            and n == n.strip()
        )
    ),
)
def test_well_formed_unix_lines_round_trip(kind, mode, size, month, day, name):
    entry = parse_list_line(
        f"{kind}{mode}   1 user group {size} {month} {day:2d}  2023 {name}", NOW
    )
    assert entry.name == name and entry.size == size
    assert entry.mtime.year == 2023
