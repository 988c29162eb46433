"""Rate: the recent speed the transfer panel and the CLI show."""

from __future__ import annotations

import pytest

from tui.transfer.rate import Rate, eta

MB = 1_000_000


def test_a_speed_is_what_moved_in_the_last_seconds_not_since_the_start():
    rate = Rate(window=5.0)
    assert rate.update(100.0, 50 * MB) == 0.0  # resumed at 50 MB: those bytes are not speed
    assert rate.update(100.25, 50 * MB + 250_000) == 0.0  # too soon to say
    assert rate.update(101.0, 51 * MB) == pytest.approx(1 * MB)
    speed = 0.0
    for second in range(2, 20):  # then 4 MB/s: a window later, the first second is forgotten
        speed = rate.update(100.0 + second, 51 * MB + (second - 1) * 4 * MB)
    assert speed == pytest.approx(4 * MB)
    assert len(rate.samples) <= 7  # bounded, however long the job runs


def test_a_speed_asked_for_very_often_still_spans_its_window():
    rate = Rate(window=5.0, step=0.1)
    for tick in range(3001):  # every millisecond for 3 s (a tree of small files redraws a lot)
        speed = rate.update(tick / 1000, tick * 1000)
    assert speed == pytest.approx(1 * MB)
    assert rate.samples[0][0] == 0.0 and len(rate.samples) <= 32


def test_time_left_reads_as_a_clock_and_says_nothing_when_unknown():
    assert eta(42.1) == "0:43" and eta(0.4) == "0:01"  # up: never 0:00 while bytes remain
    assert eta(3 * 3600 + 65) == "3:01:05"
    assert eta(0) == "" and eta(-1) == "" and eta(100 * 3600) == ""
