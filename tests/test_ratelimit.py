"""The token bucket pacing dispatch, on an injected monotonic clock (no sleeping): by any moment
a consumer has taken at most rate x time + burst, a steady one gets just that, and an idle
bucket does not save up more than its burst."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from openxms import ratelimit
from openxms.ratelimit import TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    t = FakeTime()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=t.monotonic))
    return t


def dispatch_like(bucket: TokenBucket, clock: FakeTime, seconds: float, lateness: float = 0.0) -> tuple[int, float]:
    """Consume as `engine/dispatcher.py` does: take what is there, else sleep `wait_time()` (at
    least 1 ms), each sleep ending `lateness` s late as real sleeps do. (taken, elapsed)."""
    start, taken = clock.now, 0
    while clock.now - start < seconds:
        n = bucket.take(500)
        taken += n
        assert taken <= bucket.rate * (clock.now - start) + bucket.burst + 1e-6  # never ahead
        if n == 0:
            clock.now += max(bucket.wait_time(), 0.001) + lateness
    return taken + bucket.take(500), clock.now - start  # what the last sleep waited for


@pytest.mark.parametrize("rate", [0.5, 10.0, 100.0, 1000.0, 2500.0])
def test_never_ahead_of_rate_times_time_plus_burst(clock, rate):
    """Whatever the consumer does (bursts of asking, long pauses), the count taken by any moment
    is at most rate x elapsed + burst."""
    bucket = TokenBucket(rate)
    assert bucket.burst == max(2.0, rate * 0.1)
    rnd = random.Random(rate)
    start, taken = clock.now, 0
    while clock.now - start < 600:
        taken += bucket.take(rnd.choice([1, 3, 10**9]))
        assert taken <= rate * (clock.now - start) + bucket.burst + 1e-6
        clock.now += rnd.choice([0.0, 0.0003, 0.001, 0.013, 0.25, 1.7, 30.0])
    assert taken > 0


@pytest.mark.parametrize(
    "rate,lateness", [(100.0, 0.0), (100.0, 0.001), (1000.0, 0.0), (1000.0, 0.001), (2500.0, 0.001)]
)
def test_over_a_long_window_the_count_is_rate_times_time_plus_burst(clock, rate, lateness):
    bucket = TokenBucket(rate)
    taken, elapsed = dispatch_like(bucket, clock, 60, lateness)
    assert rate * elapsed + bucket.burst - 1 < taken <= rate * elapsed + bucket.burst


@pytest.mark.parametrize("lateness", [0.0, 0.001])
def test_a_burst_of_two_absorbs_late_wake_ups(clock, lateness):
    bucket = TokenBucket(10, burst=2)
    taken, elapsed = dispatch_like(bucket, clock, 60, lateness)
    assert 10 * elapsed + 2 - 1 < taken <= 10 * elapsed + 2


def test_ten_per_second_over_sixty_seconds_is_within_a_fifth_of_a_percent(clock):
    bucket = TokenBucket(10)
    taken, elapsed = dispatch_like(bucket, clock, 60, lateness=0.001)
    assert taken == pytest.approx(10 * elapsed + bucket.burst, rel=0.002)


def test_an_idle_bucket_holds_at_most_its_burst(clock):
    bucket = TokenBucket(100)  # burst 10
    assert bucket.take(1000) == 10
    assert bucket.take(1000) == 0
    clock.now += 3600
    assert bucket.take(1000) == 10
    bucket = TokenBucket(5, burst=3)
    clock.now += 3600
    assert bucket.take(1000) == 3


def test_take_never_gives_more_than_wanted(clock):
    bucket = TokenBucket(100)
    assert bucket.take(3) == 3
    assert bucket.tokens == pytest.approx(7)
    assert bucket.take(0) == 0


def test_give_back_returns_tokens_but_never_beyond_the_burst(clock):
    bucket = TokenBucket(100)  # burst 10
    assert bucket.take(8) == 8
    bucket.give_back(3)  # three of the eight could not be sent after all
    assert bucket.take(1000) == 5
    bucket.give_back(50)
    assert bucket.tokens == 10
    bucket.give_back(-4)
    bucket.give_back(0)
    assert bucket.tokens == 10
    assert bucket.take(1000) == 10


def test_rate_zero_is_unlimited(clock):
    bucket = TokenBucket(0)
    assert bucket.take(10**6) == 10**6
    assert bucket.take(10**6) == 10**6
    assert bucket.wait_time() == 0.0
    bucket.give_back(5)
    assert bucket.take(7) == 7


def test_wait_time_is_the_time_to_the_next_whole_token(clock):
    bucket = TokenBucket(10, burst=1)
    assert bucket.wait_time() == 0.0
    assert bucket.take(1) == 1
    assert bucket.wait_time() == pytest.approx(0.1)
    clock.now += 0.03
    assert bucket.wait_time() == pytest.approx(0.07)
    clock.now += 0.07
    assert bucket.wait_time() == 0.0
    assert bucket.take(5) == 1
    bucket = TokenBucket(2, burst=1)
    bucket.take(1)
    clock.now += bucket.wait_time()  # waiting exactly that long is enough
    assert bucket.take(1) == 1
