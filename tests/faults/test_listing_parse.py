"""Hostile listing bytes: numbers that are not ASCII digits or out of range, lines that do
not parse among lines that do, lines and listings without end. Every byte from the server
is parsed defensively: what does not parse stays visible as a raw entry, a listing over its
bounds is one clear error, and memory grows with the entries, not with the text.
"""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.scripted import Script, ScriptedServer
from tui.cli import main
from tui.connection import ConnectionService
from tui.errors import EXIT_TRANSFER, ListingFailed, ProtocolError
from tui.remote import listing
from tui.remote.base import Entry, EntryType
from tui.remote.ftplist import failure_in
from tui.remote.listing import (
    MAX_LINE,
    MAX_SIZE,
    ListingReader,
    parse_list_line,
    parse_mdtm,
    parse_mlsd_line,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
BOUNDED = settings(max_examples=200, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


def unix(name: bytes, size: bytes = b"12", kind: bytes = b"-") -> bytes:
    return kind + b"rw-r--r--   1 ftp ftp " + size + b" Nov 24 01:57 " + name + b"\r\n"


def read(data: bytes, *, mlsd: bool = False, chunk: int = 65536) -> list[Entry]:
    reader = ListingReader(mlsd=mlsd, now=NOW)
    for start in range(0, len(data), chunk):
        reader.feed(data[start : start + chunk])
    return reader.finish()


# --- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "٣", "1²", "-1", "+5", "1_000", "9" * 20,
                                   "9" * 5000, str(MAX_SIZE + 1)])  # fmt: skip
def test_an_mlsd_size_that_is_no_ascii_number_in_range__is_no_size(value):
    entry = parse_mlsd_line(f"type=file;size={value};modify=20250102030405; f.txt")
    assert entry is not None and entry.name == "f.txt" and entry.size is None


@pytest.mark.parametrize("value", ["²", "٣٤", "9" * 20, "9" * 5000])
def test_a_list_size_that_is_no_ascii_number_in_range__keeps_the_line_raw(value):
    line = f"-rw-r--r--   1 ftp ftp {value} Nov 24 01:57 f.txt"
    entry = parse_list_line(line, NOW)
    assert entry is not None and entry.type is EntryType.UNKNOWN and entry.raw == line


@pytest.mark.parametrize("line", [
    "٠١-٠٢-٢٥  10:15AM       1234 f.txt",  # Arabic-Indic digits in a DOS date
    "13-40-25  10:15AM       1234 f.txt",  # month 13, day 40
    "01-02-25  25:15PM       1234 f.txt",  # hour 37
    "01-02-0000  10:15AM     1234 f.txt",  # year 0
    "-rw-r--r--   1 ftp ftp 12 Feb 30 01:57 f.txt",  # February 30th
    "-rw-r--r--   1 ftp ftp 12 Nov 24 ٠١:٥٧ f.txt",
    "-rw-r--r--   1 ftp ftp 12 0000-01-01 10:00 f.txt",
])  # fmt: skip
def test_impossible_dates_in_list_lines__keep_the_line_raw(line):
    entry = parse_list_line(line, NOW)
    assert entry is not None and entry.type is EntryType.UNKNOWN and entry.raw == line


@pytest.mark.parametrize("fact", ["modify=٢٠٢٥٠١٠٢٠٣٠٤٠٥", "modify=20251302030405",
                                  "modify=00000102030405", "modify=20250102030405.٥",
                                  "unix.mode=٧٥٥", "unix.mode=0999", "unix.mode=07777777",
                                  "type=dir;type=file", "size=;sizd="])  # fmt: skip
def test_odd_mlsd_facts__leave_the_rest_of_the_entry(fact):
    entry = parse_mlsd_line(f"type=file;size=3;{fact}; f.txt")
    assert entry is not None and entry.name == "f.txt"
    assert entry.mtime is None or entry.mtime.year >= 1


def test_pyftpdlib_mode_with_0o__is_read():
    entry = parse_mlsd_line("type=file;unix.mode=0o644; f.txt")
    assert entry is not None and entry.perms == "rw-r--r--"


def test_an_mdtm_fraction_that_is_no_ascii_number__is_ignored():
    assert parse_mdtm("20250102030405.²") == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("reply", ["²0250102030405", "2025010203040",
                                   "99999999999999", "", "x" * 10000])  # fmt: skip
def test_a_malformed_mdtm__is_none(reply):
    assert parse_mdtm(reply) is None


@pytest.mark.parametrize("value", [b"\xb2", b"1\xb3", b"9" * 20, b"9" * 5000, b"-1"])
def test_a_size_reply_that_is_no_ascii_number_in_range__is_a_protocol_error(value, capsys):
    with ScriptedServer(Script(size_reply=b"213 " + value + b"\r\n")) as server:
        with ConnectionService(timeout=5).open(server.url()) as fs:
            with pytest.raises(ProtocolError, match="Malformed SIZE reply"):
                fs.size("/f.txt")


# --- lines among lines -------------------------------------------------------------------


def test_a_bad_mlsd_line_among_good_ones__loses_none_of_them(capsys):
    data = (b"type=file;size=1; a.txt\r\n" b"type=file;size=\xc2\xb2; b.txt\r\n"
            b"garbage without facts\r\n" b"\x00\xff\r\n" b"type=dir; c\r\n")  # fmt: skip
    entries = read(data, mlsd=True)
    assert [(e.name, e.type.value, e.size) for e in entries] == [
        ("a.txt", "file", 1), ("b.txt", "file", None), ("garbage without facts", "unknown", None),
        ("\x00\udcff", "unknown", None), ("c", "dir", None)]  # fmt: skip


def test_an_overlong_line__is_kept_truncated_and_raw_between_its_neighbours():
    data = unix(b"a.txt") + b"x" * (3 * MAX_LINE) + b"\r\n" + unix(b"b.txt")
    for chunk in (65536, 1000, 7):
        entries = read(data, chunk=chunk)
        assert [e.name for e in entries][::2] == ["a.txt", "b.txt"]
        long = entries[1]
        assert long.type is EntryType.UNKNOWN and long.name == "x" * MAX_LINE + "\u2026"


def test_a_listing_over_the_entry_cap_from_a_server__is_one_clear_error(monkeypatch, capsys):
    monkeypatch.setattr(listing, "MAX_ENTRIES", 1000)
    script = Script(listing=b"".join(unix(b"f%05d" % n) for n in range(5000)))
    with ScriptedServer(script) as server:
        with ConnectionService(timeout=5).open(server.url()) as fs:
            with pytest.raises(ListingFailed, match="more than 1,000 entries"):
                fs.listdir("/")
        assert main(["ls", server.url(), "--timeout", "5"]) == EXIT_TRANSFER
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "more than 1,000 entries" in error


def test_an_endless_line_from_a_server__is_bounded_and_stays_visible(capsys):
    script = Script(listing=unix(b"a.txt") + b"y" * (4 << 20))  # 4 MiB, no line end
    with ScriptedServer(script) as server:
        assert main(["ls", server.url(), "--json", "--timeout", "5"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["type"] for e in entries] == ["file", "unknown"]
    assert len(entries[1]["name"]) == MAX_LINE + 1


def test_endless_blank_lines__are_bounded_too(monkeypatch):
    monkeypatch.setattr(listing, "MAX_LINES", 10_000)
    reader = ListingReader(mlsd=False, now=NOW)
    with pytest.raises(ListingFailed, match="more than 10,000 lines"):
        for _ in range(100):
            reader.feed(b"\r\n" * 1000)


# --- memory -------------------------------------------------------------------------------


def _measure(data: bytes, *, mlsd: bool) -> tuple[float, float]:
    """Bytes per entry kept after, and at the peak of, parsing ``data`` in 64 KiB chunks."""
    tracemalloc.start()
    try:
        entries = read(data, mlsd=mlsd)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return current / len(entries), peak / len(entries)


@pytest.mark.parametrize("mlsd", [False, True], ids=["LIST", "MLSD"])
def test_a_listing_of_short_lines__costs_its_entries_not_its_text_many_times(mlsd):
    # 20,000 lines keep the test quick under tracemalloc; tests/bench/bench_listing_memory.py
    # measures 100,000 (the same per entry).
    if mlsd:
        data = b"".join(b"type=file;size=%d;modify=20250102030405;perm=r; f%06d\r\n"
                        % (n + 1000, n) for n in range(20_000))  # fmt: skip
    else:
        data = b"".join(unix(b"f%06d" % n, b"%d" % (n + 1000)) for n in range(20_000))
    kept, peak = _measure(data, mlsd=mlsd)
    # Measured: 247 B kept and 355 B at the peak per entry before (the whole text, its
    # lines and their decoded copies at once); now ~196 B kept (the entry, its name and
    # size; times and permission strings are shared), and the peak adds one chunk.
    assert kept < 210 and peak < kept + 20


def test_a_listing_of_tiny_lines__costs_a_bounded_amount_per_line():
    kept, peak = _measure(b"x\n" * 20_000, mlsd=False)
    assert kept < 150 and peak < kept + 20  # 100,000 raw entries, each visible


# --- properties ------------------------------------------------------------------------------

_names = st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), min_size=1, max_size=40
).filter(lambda n: n.strip() not in ("", ".", ".."))


def _check(entry: Entry | None) -> None:
    if entry is None:
        return
    assert isinstance(entry, Entry)
    assert entry.size is None or (type(entry.size) is int and 0 <= entry.size <= MAX_SIZE)
    assert entry.mtime is None or entry.mtime.tzinfo is not None


@BOUNDED
@given(st.text(max_size=300))
def test_any_text__list_and_mlsd_parsers_return_an_entry_or_nothing(line):
    _check(parse_list_line(line, NOW))
    _check(parse_mlsd_line(line))
    assert parse_mdtm(line) is None or parse_mdtm(line).tzinfo is not None


@BOUNDED
@given(st.binary(max_size=3000), st.booleans(), st.integers(1, 4000))
def test_any_bytes_in_any_chunks__the_reader_never_raises_and_agrees_with_one_chunk(
    data, mlsd, chunk
):
    entries = read(data, mlsd=mlsd, chunk=chunk)
    for entry in entries:
        _check(entry)
    assert entries == read(data, mlsd=mlsd)


@BOUNDED
@given(st.lists(st.tuples(_names, st.integers(0, MAX_SIZE), st.sampled_from(["file", "dir"])),
                min_size=1, max_size=8),
       st.binary(max_size=200).filter(lambda b: b"\n" not in b), st.integers(0, 8))  # fmt: skip
def test_well_formed_mlsd_lines_round_trip_and_a_bad_one_among_them_loses_nothing(rows, bad, where):
    lines = [f"type={kind};size={size};modify=20250102030405; {name}\r\n".encode()
             for name, size, kind in rows]  # fmt: skip
    lines.insert(min(where, len(lines)), bad + b"\r\n")
    entries = [e for e in read(b"".join(lines), mlsd=True) if e.type is not EntryType.UNKNOWN]
    good = [(e.name, e.size, e.type.value) for e in entries]
    assert good[-len(rows) :] == [(name, size, kind) for name, size, kind in rows]


@BOUNDED
@given(st.lists(st.tuples(_names.filter(lambda n: " -> " not in n),
                          st.integers(0, MAX_SIZE), st.sampled_from("-d")),
                min_size=1, max_size=8),
       st.binary(max_size=200).filter(lambda b: b"\n" not in b), st.integers(0, 8))  # fmt: skip
def test_well_formed_unix_lines_round_trip_and_a_bad_one_among_them_loses_nothing(rows, bad, where):
    lines = [unix(name.encode(), str(size).encode(), kind.encode()) for name, size, kind in rows]
    lines.insert(min(where, len(lines)), bad + b"\r\n")
    entries = read(b"".join(lines))
    names = [(e.name, e.size) for e in entries]
    for name, size, _ in rows:
        assert (name, size) in names


@BOUNDED
@given(st.lists(st.tuples(_names.filter(lambda n: not n[:1].isspace()),  # DOS pads with spaces
                          st.integers(0, 10**15), st.booleans()), min_size=1, max_size=8),
       st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2069, 12, 31)))  # fmt: skip
def test_well_formed_dos_lines_round_trip(rows, when):
    stamp = when.strftime("%m-%d-%y  %I:%M%p")
    data = b"".join(f"{stamp}  {'<DIR>' if folder else size}  {name}\r\n".encode()
                    for name, size, folder in rows)  # fmt: skip
    entries = read(data)
    assert [(e.name, e.is_dir, e.size) for e in entries] == [
        (name, folder, None if folder else size) for name, size, folder in rows]  # fmt: skip
    assert all(e.mtime == when.replace(second=0, microsecond=0, tzinfo=UTC) for e in entries)


@BOUNDED
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_mdtm_times_round_trip(when):
    text = when.strftime("%Y%m%d%H%M%S") if when.year >= 1000 else None
    if text is not None:
        assert parse_mdtm(text) == when.replace(microsecond=0, tzinfo=UTC)


@BOUNDED
@given(st.text(max_size=300))
def test_any_final_reply__is_judged_without_raising_and_only_2xx_can_pass(reply):
    assert failure_in(reply) or reply.startswith("2")


@pytest.mark.parametrize("reply", ["226 Transfer complete.", "226 Directory send OK.",
                                   "226-Options: -a -l \n226 3 matches total",
                                   '226 Successfully transferred "/pub"'])  # fmt: skip
def test_the_success_replies_of_known_servers__pass(reply):
    assert not failure_in(reply)
