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


def test_ids_stay_unique_and_ordered_across_many_random_draws():
    """More new milliseconds than one read of os.urandom serves (400 draws)."""
    clock = ManualClock(1_700_000_000_000)
    f = IdFactory(clock)
    got = []
    for _ in range(1000):
        clock.advance(1)
        got.append(f.new())
    assert len(set(got)) == 1000 and got == sorted(got)
    assert len({g[10:] for g in got}) == 1000  # a fresh random part each millisecond


def test_a_forked_child_draws_other_random_bytes_than_its_parent():
    clock = ManualClock(1_700_000_000_000)
    f = IdFactory(clock)
    f.new()  # the pool is filled
    r, w = os.pipe()
    pid = os.fork()
    clock.advance(1)  # a new millisecond in both: a random draw, not an increment
    if pid == 0:  # the child: its next id, to the parent
        os.write(w, f.new().encode())
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    child = os.read(r, 26).decode()
    assert child != f.new()
