import os

from ulid import ULID

from openxms.clock import ManualClock
from openxms.ids import IdFactory, encode


def test_encoding_matches_python_ulid():
    for _ in range(2000):
        raw = os.urandom(16)
        assert encode(int.from_bytes(raw, "big")) == str(ULID.from_bytes(raw))


def test_ids_are_monotonic_within_a_millisecond_and_carry_the_clock_time():
    clock = ManualClock(1_700_000_000_000)
    f = IdFactory(clock)
    ids = [f.new() for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    assert ULID.from_str(ids[0]).milliseconds == 1_700_000_000_000
    clock.advance(1)
    assert f.new() > ids[-1]
