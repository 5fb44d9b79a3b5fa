"""Token bucket pacing an account's dispatch at its rate (messages = recipients per second,
as Sinch counts).

Pacing runs on the monotonic clock, not on the engine `Clock`: a rate is a duration, and a
manual clock that stands still must not freeze delivery. The bucket holds at most
`burst` tokens (a tenth of a second's worth, at least two: with one, a wake-up that comes a
millisecond late loses that millisecond's token, 1% at 10 msg/s), so over any long window the
count sent is rate x time + burst: within 0.2% over 60 s at 10 msg/s, less at higher rates.
"""

from __future__ import annotations

import time


class TokenBucket:
    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate  # 0 = unlimited
        self.burst = burst if burst is not None else max(2.0, rate * 0.1)
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, wanted: int) -> int:
        """Take up to `wanted` whole tokens now; returns how many were taken."""
        if self.rate <= 0:
            return wanted
        self._refill()
        n = min(wanted, int(self.tokens))
        self.tokens -= n
        return n

    def give_back(self, n: int) -> None:
        if self.rate > 0 and n > 0:
            self.tokens = min(self.burst, self.tokens + n)

    def wait_time(self) -> float:
        """Seconds until one whole token is available."""
        if self.rate <= 0:
            return 0.0
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
