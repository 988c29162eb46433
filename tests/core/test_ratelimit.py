"""The rate cap (``--limit-rate``): one budget for a whole batch, accurate, cancellable.

The bucket's arithmetic is checked on an injected clock over a simulated 10 s; the cap's
accuracy against pyftpdlib, with an upload and a download sharing it over two sessions, and
with the segments of one download sharing it.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import write
from tui.cli import main
from tui.config import load_config
from tui.connection import ConnectionService
from tui.errors import EXIT_USAGE, ConfigError
from tui.sites import load_sites
from tui.transfer.engine import TransferEngine
from tui.transfer.queue import Conflict, Direction, Job, State, TransferQueue
from tui.transfer.ratelimit import RateLimit, format_rate, paced, parse_rate

KiB, MiB = 1024, 1024 * 1024
BLOCK = 256 * KiB


class FakeTime:  # one caller at a time
    """A clock that only moves when someone waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, event: threading.Event, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return event.is_set()


# --- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate"),
    [("500K", 500 * KiB), ("2M", 2 * MiB), ("1G", 1024 * MiB), ("1.5m", 3 * MiB // 2),
     ("4096", 4096), ("0", None), (" 10k ", 10 * KiB), ("2MB", 2 * MiB), (1000, 1000), (0, None)],
)  # fmt: skip
def test_a_rate_in_curl_syntax__is_bytes_per_second_1024_based(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "-1", "2X", "1e6", "K", "1 000", "٣M", "1.M"])
def test_text_that_is_not_a_rate__is_a_value_error(text):
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_any_text__parses_to_a_positive_rate_or_raises_value_error(text):
    try:
        rate = parse_rate(text)
    except ValueError:
        return
    assert rate is None or (isinstance(rate, int) and rate > 0)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**6), st.sampled_from(["", "K", "M", "G"]))
def test_a_formatted_rate__reads_back_the_same(number, suffix):
    rate = parse_rate(f"{number}{suffix}")
    assert rate is not None
    again = parse_rate(format_rate(rate))
    assert again is not None and abs(again - rate) <= rate * 5e-3


# --- the bucket ---------------------------------------------------------------------------


def simulate(rate: int, streams: int, block: int, seconds: float = 10.0) -> float:
    """Streams sharing one bucket on an injected clock, as discrete events: the stream
    that is ready first takes a block (under the lock, at its own time), then sleeps what
    the bucket says (which moves only its own clock). Returns the bytes that had moved by
    ``seconds``, over the bytes the rate allows."""
    now, slept, waits = [0.0], [0.0], []

    def wait(event: threading.Event, delay: float) -> bool:
        waits.append(delay)
        slept[0] += delay
        return False

    limit = RateLimit(rate, clock=lambda: now[0] + slept[0], wait=wait)
    ready, moved = [0.0] * streams, 0
    while True:
        stream = min(range(streams), key=ready.__getitem__)
        now[0], slept[0] = ready[stream], 0.0
        if now[0] > seconds:
            break
        limit.take(block)
        ready[stream] = now[0] + slept[0]
        moved += block if ready[stream] <= seconds else 0
    assert max(waits) <= 0.25  # slices: a cancel or a new rate is seen in time
    return moved / (rate * seconds)


@pytest.mark.parametrize(
    ("rate", "streams", "block"),
    [(MiB, 1, BLOCK), (MiB, 3, BLOCK), (MiB, 4, 64 * KiB), (500 * KiB, 2, BLOCK),
     (10 * MiB, 8, BLOCK)],
)  # fmt: skip
def test_streams_sharing_a_cap_for_ten_seconds__move_the_rate_within_5_percent(
    rate, streams, block
):
    assert 0.95 <= simulate(rate, streams, block) <= 1.0


def test_an_idle_bucket__saves_at_most_a_tenth_of_a_second():
    fake = FakeTime()
    limit = RateLimit(MiB, clock=fake.clock, wait=fake.wait)
    fake.now = 60.0  # a minute idle
    limit.take(MiB // 10)  # the saved budget covers this
    assert fake.waits == []
    limit.take(MiB // 10)  # this one is paid for by sleeping
    assert sum(fake.waits) == pytest.approx(0.1, abs=1e-4)


def test_no_rate__takes_no_lock_and_never_waits():
    limit = RateLimit(None)
    limit._lock = None  # type: ignore[assignment] - any use would raise
    for _ in range(1000):
        limit.take(BLOCK)
    assert paced(print, None, None) is print  # the copy loops get their callback untouched


def test_a_cancel_during_a_long_wait__returns_within_a_third_of_a_second():
    limit = RateLimit(1000)  # 1 KB/s: 1 MB would mean 17 minutes
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    limit.take(MiB, cancel)
    assert time.monotonic() - started < 0.1 + 0.3


def test_clearing_the_cap_while_a_stream_waits__lets_it_go_at_once():
    limit = RateLimit(1000)
    threading.Timer(0.1, lambda: limit.set_rate(None)).start()
    started = time.monotonic()
    limit.take(MiB)
    assert time.monotonic() - started < 0.1 + 0.3


# --- against a real server ----------------------------------------------------------------


def run_batch(url: str, jobs: list[Job], limit: RateLimit, **options) -> tuple[float, list[Job]]:
    service = ConnectionService(timeout=10, check_revocation=False)
    queue = TransferQueue()
    queue.add(jobs)
    engine = TransferEngine(queue, lambda: service.open(url), conflict=Conflict.OVERWRITE,
                            limit=limit, **options)  # fmt: skip
    started = time.monotonic()
    done = engine.run()
    return time.monotonic() - started, done


def test_an_upload_and_a_download_on_two_sessions__share_one_cap_within_5_percent(
    plain_server, root, tmp_path
):
    """2.5 MiB at 1 MiB/s, one file down and one up at the same time: 2.5 s, not 1.25."""
    size = 5 * MiB // 4
    write(root, "down.bin", os.urandom(size))
    local = tmp_path / "up.bin"
    local.write_bytes(os.urandom(size))
    jobs = [Job(Direction.DOWNLOAD, "/down.bin", str(tmp_path / "down.bin"), size=size),
            Job(Direction.UPLOAD, str(local), "/up.bin", size=size)]  # fmt: skip
    took, done = run_batch(plain_server.url("ftp"), jobs, RateLimit(MiB), slots=2)
    assert [job.state for job in done] == [State.DONE, State.DONE]
    assert os.path.getsize(os.path.join(root, "up.bin")) == size
    rate = 2 * size / took
    assert 0.95 * MiB <= rate <= 1.05 * MiB, f"{rate / MiB:.3f} MiB/s in {took:.2f} s"


def test_the_segments_of_one_download__share_the_cap_within_5_percent(plain_server, root, tmp_path):
    """4 streams for one 2 MiB file at 1 MiB/s: 2 s, as one stream would take."""
    size = 2 * MiB
    write(root, "big.bin", os.urandom(size))
    jobs = [Job(Direction.DOWNLOAD, "/big.bin", str(tmp_path / "big.bin"), size=size)]
    took, done = run_batch(plain_server.url("ftp"), jobs, RateLimit(MiB), slots=1, segments=4,
                           segment_threshold=MiB)  # fmt: skip
    assert done[0].state is State.DONE and os.path.getsize(tmp_path / "big.bin") == size
    rate = size / took
    assert 0.95 * MiB <= rate <= 1.05 * MiB, f"{rate / MiB:.3f} MiB/s in {took:.2f} s"


# --- the command line and the settings ----------------------------------------------------


def settings_file(home: str, name: str, text: str) -> None:
    folder = os.path.join(home, "config")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
        handle.write(text)


def timed_get(url: str, target: str, *options: str) -> float:
    started = time.monotonic()
    assert main(["get", url, target, *options]) == 0
    return time.monotonic() - started


def test_get_with_limit_rate__takes_the_time_the_rate_says(plain_server, root, tmp_path):
    write(root, "f.bin", os.urandom(512 * KiB))
    took = timed_get(plain_server.url("ftp", "f.bin"), str(tmp_path / "f.bin"),
                     "--limit-rate", "512K")  # fmt: skip
    assert 0.95 <= took <= 1.3, took
    assert os.path.getsize(tmp_path / "f.bin") == 512 * KiB


def test_a_saved_site_s_limit_rate__comes_before_the_config_s(
    plain_server, root, tmp_path, hermetic_home
):
    write(root, "f.bin", os.urandom(256 * KiB))
    settings_file(hermetic_home, "config.toml", '[transfers]\nlimit_rate = "64K"\n')  # 4 s
    settings_file(hermetic_home, "sites.toml", f'[[site]]\nname = "t"\nhost = "127.0.0.1"\n'
                  f'port = {plain_server.port}\nlimit_rate = "512K"\n')  # fmt: skip  # 0.5 s
    took = timed_get(plain_server.url("ftp", "f.bin"), str(tmp_path / "f.bin"))
    assert 0.45 <= took <= 1.0, took


def test_limit_rate_0__lifts_the_configured_cap(plain_server, root, tmp_path, hermetic_home):
    write(root, "f.bin", os.urandom(256 * KiB))
    settings_file(hermetic_home, "config.toml", '[transfers]\nlimit_rate = "64K"\n')
    took = timed_get(plain_server.url("ftp", "f.bin"), str(tmp_path / "f.bin"),
                     "--limit-rate", "0")  # fmt: skip
    assert took < 1.0


@pytest.mark.parametrize("command", ["get", "put", "mirror", "sync"])
def test_a_limit_rate_that_is_not_a_rate__is_a_usage_error(command, tmp_path, capsys):
    url = "ftp://127.0.0.1:9/f"
    argv = {"get": [url, str(tmp_path)], "put": [str(tmp_path), url],
            "mirror": [url, str(tmp_path)], "sync": ["www"]}[command]  # fmt: skip
    if command == "sync":
        settings_file(os.environ["FERRYMAN_HOME"], "config.toml",
                      f'[sync.www]\nsource = "{url}"\ndestination = "{tmp_path}"\n')  # fmt: skip
    assert main([command, *argv, "--limit-rate", "fast"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the usage line
    assert err == ("ferryman: Invalid input: argument --limit-rate: not a rate: 'fast' (bytes "
                   "per second, or with K, M or G: 500K, 2M)")  # fmt: skip


def test_a_configured_limit_rate_that_is_not_a_rate__is_a_config_error(hermetic_home):
    settings_file(hermetic_home, "config.toml", '[transfers]\nlimit_rate = "fast"\n')
    with pytest.raises(ConfigError, match=r"\[transfers\] limit_rate: not a rate"):
        load_config()
    settings_file(hermetic_home, "sites.toml", '[[site]]\nhost = "h"\nport = 21\nlimit_rate = -5\n')
    with pytest.raises(ConfigError, match="limit_rate: a rate cannot be negative"):
        load_sites()
