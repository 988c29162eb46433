"""The record beside a partial file and Ferryman's temporary names, as parsers: whatever a
damaged or hostile record holds, reading it never raises and never claims more of the file
than is there; no name a tree can hold is mistaken for our temporary names, and ours are
always recognised."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tui.transfer.partial import (
    identity,
    is_temporary_name,
    matches,
    part_name,
    read_record,
    solid_prefix,
    state_path,
)
from tui.transfer.segments import load_state

BOUNDED = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
names = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/\0"),
                min_size=1, max_size=40).filter(lambda n: n not in (".", ".."))  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),  # fmt: skip
    max_leaves=20,
)


@BOUNDED
@given(name=names, other=names)
def test_our_names_are_recognised_and_never_a_name_a_copy_writes(name, other):
    part = part_name(name)
    assert is_temporary_name(part)
    assert is_temporary_name(part + ".segments") and is_temporary_name(part + ".segments.new")
    if not is_temporary_name(other):
        # A name a copy does not skip is never another job's temporary file or record.
        assert other not in (part, part + ".segments", part + ".segments.new")
    if other != name:
        assert part_name(other) != part  # two jobs in one folder: two temporary paths


ranges_records = st.fixed_dictionaries(
    {"ranges": st.lists(st.lists(json_values, min_size=3, max_size=3) | json_values, max_size=4)},
    optional={"size": json_values, "source": json_values, "mtime": json_values},
)


@BOUNDED
@given(data=json_values | ranges_records, length=st.integers(0, 5000))
@example(data={"ranges": [[float("inf"), 1, 1]]}, length=1)  # int() of it raised OverflowError
@example(data={"ranges": [[0, 10, 10]], "size": 10}, length=3)  # claims more than is there
@example(data={"ranges": [[0, 1, True]]}, length=1)
def test_a_damaged_record__never_raises_and_never_claims_more_than_the_file(
    tmp_path_factory, data, length
):
    folder = tmp_path_factory.mktemp("rec")
    part = os.path.join(folder, part_name("f.bin"))
    with open(part, "wb") as handle:
        handle.write(b"x" * length)
    with open(state_path(part), "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, allow_nan=True))
    record = read_record(part)
    assert record is None or isinstance(record, dict)
    assert 0 <= solid_prefix(part) <= length
    ranges = load_state(part, length)
    assert ranges is None or (ranges[0].start == 0 and ranges[-1].end == length)
    assert not matches(record, identity("/f.bin", None, None))  # no size known: no trust


@BOUNDED
@given(raw=st.binary(max_size=200))
def test_record_bytes_of_any_kind__read_as_a_record_or_none(tmp_path_factory, raw):
    folder = tmp_path_factory.mktemp("raw")
    part = os.path.join(folder, part_name("g.bin"))
    open(part, "wb").close()
    with open(state_path(part), "wb") as handle:
        handle.write(raw)
    record = read_record(part)
    assert record is None or isinstance(record, dict)
    assert solid_prefix(part) == 0
