"""The one source of "now".

Every timestamp openxms stores or compares (batch creation, send_at, expiry, callback
retries, token expiry) comes from a single `Clock`, so tests and users can time-travel:
`openxms serve --clock manual` starts a `ManualClock` that only moves when told to
(`POST /clock/advance`), and every sleeper in the engine wakes up when it moves.

Times are integer milliseconds since the Unix epoch (UTC) everywhere: they sort, compare
and store the same way in SQLite and PostgreSQL.

Liveness (who holds a lease, which nodes are up) is the one thing on real time even under a
manual clock: `wall_ms()` below.
"""

from __future__ import annotations

import asyncio
import time

from .aio import wait_event

# Far enough for any test, near enough that every stored time still formats (year < 9999).
MAX_MS = 253_370_678_400_000  # 9998-12-31T00:00:00Z


def wall_ms() -> int:
    """Real time, whatever the business clock says: for what is about which process is alive
    (dispatch leases, node heartbeats), which must keep working under `--clock manual`."""
    return time.time_ns() // 1_000_000


class Clock:
    """Wall-clock time, with waits that can be cut short by an event."""

    manual = False

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def wait(self, until_ms: int | None, event: asyncio.Event | None = None) -> None:
        """Sleep until `until_ms` (None: forever) or until `event` is set, whichever is first."""
        delay = None if until_ms is None else max(0.0, (until_ms - self.now_ms()) / 1000)
        if event is None:
            if delay is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(delay)
            return
        await wait_event(event, delay)


class ManualClock(Clock):
    """A clock that stands still until advanced; waiters re-check when it moves."""

    manual = True

    def __init__(self, start_ms: int | None = None) -> None:
        self._now = super().now_ms() if start_ms is None else start_ms
        self._moved: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def now_ms(self) -> int:
        return self._now

    def set(self, ms: int) -> None:
        """Move to `ms`. Safe from any thread: sleepers are woken on their own event loop."""
        if ms < self._now:
            raise ValueError("the clock cannot go backwards")
        if ms > MAX_MS:
            raise ValueError("the clock cannot go past the year 9998 (times must stay printable)")
        self._now = ms
        moved, self._moved = self._moved, None
        if moved is not None:
            loop = self._loop
            try:
                same = asyncio.get_running_loop() is loop
            except RuntimeError:
                same = False
            if same or loop is None:
                moved.set()
            else:
                loop.call_soon_threadsafe(moved.set)

    def advance(self, ms: int) -> int:
        if ms < 0:
            raise ValueError("the clock cannot go backwards")
        if ms > MAX_MS - self._now:
            raise ValueError("the clock cannot go past the year 9998 (times must stay printable)")
        self.set(self._now + ms)
        return self._now

    async def wait(self, until_ms: int | None, event: asyncio.Event | None = None) -> None:
        if until_ms is not None and until_ms <= self._now:
            return
        if event is not None and event.is_set():
            return
        if self._moved is None:
            self._moved = asyncio.Event()
            self._loop = asyncio.get_running_loop()
        moved = self._moved
        waiters = [asyncio.ensure_future(moved.wait())]
        if event is not None:
            waiters.append(asyncio.ensure_future(event.wait()))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
