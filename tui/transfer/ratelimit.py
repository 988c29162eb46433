"""Provides RateLimit: one shared byte budget per second for a whole batch (``--limit-rate``).

Every stream of a batch (parallel sessions, the segments of one file, uploads and
downloads alike) takes from the same bucket after each block it moved, so the cap holds
for the sum, not per stream. A stream that overdraws the bucket sleeps until the debt is
paid: on an ``Event`` wait with the computed delay, never in a polling loop, and in slices
of at most ``SLICE`` seconds so that a cancel, or a new rate set while it sleeps (the app's
key), is seen within that time.

Unset costs nothing: with no rate, ``take`` returns after one attribute check, without a
lock; the CLI passes no RateLimit at all.

Thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tui.units import format_rate, parse_rate

__all__ = ["BURST", "SLICE", "RateLimit", "format_rate", "paced", "parse_rate"]

SLICE = 0.25
"""The longest single wait: a cancel or a rate change is noticed within this."""
BURST = 0.1
"""Seconds of budget an idle bucket saves up: after a pause, at most this much passes at
once (0.1 s of the rate: within 1 % over 10 s)."""

class RateLimit:
    """A token bucket shared by every stream of a batch.

    Args:
        rate: Bytes per second; ``None`` (or 0) is no cap.
        clock: Monotonic seconds (tests inject one).
        wait: Waits on an Event for at most the given seconds, returning whether it is set
            (tests inject one that moves their clock).
    """

    def __init__(
        self,
        rate: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[threading.Event, float], bool] | None = None,
    ) -> None:
        self._clock = clock
        self._wait = wait or (lambda event, seconds: event.wait(seconds))
        self._lock = threading.Lock()
        self._idle = threading.Event()  # waited on when the caller gives no cancel Event
        self.rate: int | None = None
        self._generation = 0  # bumped by each set_rate: sleepers re-plan
        self._tokens = 0.0
        self._stamp = clock()
        self.set_rate(rate)

    def set_rate(self, rate: int | None) -> None:
        """Change the cap (``None``: none) while streams run; sleepers notice within SLICE."""
        with self._lock:
            self.rate = rate or None
            self._generation += 1
            self._tokens = 0.0  # no debt or savings carry over to the new rate
            self._stamp = self._clock()

    def take(self, count: int, cancel: threading.Event | None = None) -> None:
        """Charge ``count`` bytes just moved; sleep until the budget covers them.

        Returns early, without raising, when ``cancel`` is set: the caller's loop checks it
        and raises its Cancelled.
        """
        if self.rate is None:  # unset: no lock, no clock
            return
        with self._lock:
            rate = self.rate
            if rate is None:
                return
            now = self._clock()
            self._tokens = min(self._tokens + (now - self._stamp) * rate, rate * BURST)
            self._stamp = now
            self._tokens -= count
            if self._tokens >= 0:
                return
            until = now - self._tokens / rate  # when the debt (this block's too) is paid
            generation = self._generation
        event = cancel if cancel is not None else self._idle
        while True:
            left = until - self._clock()
            if left <= 0 or generation != self._generation:
                return
            if self._wait(event, min(left, SLICE)):
                return


def paced(
    progress: Callable[[int], None] | None,
    limit: RateLimit | None,
    cancel: threading.Event | None,
) -> Callable[[int], None] | None:
    """``progress`` that first charges each block to ``limit``: the hook a copy loop calls
    after each block. Without a limit it is ``progress`` itself (no cost per block)."""
    if limit is None:
        return progress

    def charged(count: int) -> None:
        limit.take(count, cancel)
        if progress is not None:
            progress(count)

    return charged
