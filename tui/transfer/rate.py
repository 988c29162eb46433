"""Provides Rate: a transfer's recent speed, for the app's transfer panel and the CLI.

Measured over the last few seconds, as FileZilla and lftp show it: bytes a resumed file
already had, and time a job spent paused, do not count.
"""

from __future__ import annotations

import math
from collections import deque

RATE_WINDOW = 5.0
"""Seconds of progress behind a speed."""
RATE_SETTLE = 0.5
"""No speed for a transfer measured for less than this: it would be noise."""


class Rate:
    """The growth of a byte count over the last ``window`` seconds.

    Samples closer together than ``step`` seconds replace each other, so however often it
    is asked (every job that finishes redraws the panel) it keeps a window's worth.
    """

    def __init__(self, window: float = RATE_WINDOW, step: float = 0.1) -> None:
        self.window, self.step = window, step
        self.samples: deque[tuple[float, int]] = deque(maxlen=64)  # (time, count)

    def update(self, now: float, count: int) -> float:
        """Record ``count`` at ``now`` (monotonic seconds); returns bytes per second."""
        samples = self.samples
        if len(samples) > 1 and now - samples[-2][0] < self.step:
            samples[-1] = (now, count)
        else:
            samples.append((now, count))
        while len(samples) > 2 and now - samples[1][0] >= self.window:
            samples.popleft()  # the oldest kept sample is the last one a window ago
        then, count_then = samples[0]
        return (count - count_then) / (now - then) if now - then >= RATE_SETTLE else 0.0


def eta(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``, rounded up (a transfer with half a second to go does not
    show 0:00); empty when there is nothing sensible to say."""
    if seconds <= 0 or seconds > 99 * 3600:
        return ""
    minutes, secs = divmod(math.ceil(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
