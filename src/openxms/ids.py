"""Resource ids: ULIDs, like Sinch's (`01FC66621XXXXX119Z8PMV1QPQ`).

Monotonic within a millisecond, so ids sort in creation order; the time part comes from the
one clock, so ids made under a manual clock still sort with the data they label. Encoding is
table-driven (two Crockford characters per 10 bits): ids are made on every send, and this is
3x faster than building a `ulid.ULID` object; `python-ulid` checks the format in the tests.
"""

from __future__ import annotations

import os
import threading
import weakref

from .clock import Clock

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]  # 10 bits -> 2 characters
_RANDOM_MAX = (1 << 80) - 1
_POOL_BYTES = 4000


def encode(value: int) -> str:
    """A 128-bit integer as 26 Crockford base32 characters (the ULID text form)."""
    out = [_CROCKFORD[value >> 125]]
    for shift in range(115, 4, -10):  # bits 124..5, ten at a time
        out.append(_PAIRS[(value >> shift) & 1023])
    out.append(_CROCKFORD[value & 31])
    return "".join(out)


class IdFactory:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._last_ms = -1
        self._last_rand = 0
        self._lock = threading.Lock()  # ids are also made in the writer thread (Conversation fan-out)
        self._pool = b""  # os.urandom bytes not used yet
        self._at = 0
        _FACTORIES.add(self)

    def new(self) -> str:
        with self._lock:
            ms = self.clock.now_ms()
            if ms <= self._last_ms and self._last_rand < _RANDOM_MAX:
                ms, rand = self._last_ms, self._last_rand + 1
            else:
                rand = self._random80() >> 1  # headroom for increments
            self._last_ms, self._last_rand = ms, rand
        return encode((ms << 80) | rand)

    def _random80(self) -> int:
        """80 bits from os.urandom, read 400 draws at a time: the call releases the GIL, and
        taking it back from a busy writer thread cost the event loop ~100 us (once per new
        millisecond, i.e. on most sends), far more than the read itself."""
        if self._at + 10 > len(self._pool):
            self._pool, self._at = os.urandom(_POOL_BYTES), 0
        at = self._at
        self._at = at + 10
        return int.from_bytes(self._pool[at : at + 10], "big")


# A forked child must not draw the bytes its parent will also draw (same ids in two processes).
_FACTORIES: weakref.WeakSet[IdFactory] = weakref.WeakSet()


def _forget_pools() -> None:
    for f in _FACTORIES:
        f._pool, f._at = b"", 0


os.register_at_fork(after_in_child=_forget_pools)
