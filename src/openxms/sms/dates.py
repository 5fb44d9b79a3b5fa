"""ISO-8601 in, `YYYY-MM-DDThh:mm:ss.SSSZ` out.

Requests carry every shape the SDKs produce (`Z`, offsets, microseconds, naive = UTC, date
only, the old docs' `2014-10-02T09:30Z`); responses are "UTC with millisecond precision".
Internally a time is integer milliseconds since the epoch.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# The times we accept and store: formatting them must always work (year 1 to 9999, UTC).
MIN_MS = (datetime(1, 1, 2, tzinfo=UTC) - _EPOCH) // _MS
MAX_MS = (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH) // _MS
_BASIC = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})?(\d{2})?)?T?Z?")


def parse(value: str) -> int:
    """Milliseconds since the epoch; ValueError if `value` is not an ISO-8601 time, or one
    outside the years 1 to 9999 once in UTC."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("empty timestamp")
    s = value.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        m = _BASIC.fullmatch(value.strip())
        if not m:
            raise ValueError(f"{value!r} is not an ISO-8601 timestamp") from None
        y, mo, d, h, mi, sec = (int(x) if x else 0 for x in m.groups())
        dt = datetime(y, mo, d, h, mi, sec, tzinfo=UTC)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    ms = (dt - _EPOCH) // _MS  # aware datetimes subtract in UTC: no overflow at the year's edges
    if not MIN_MS <= ms <= MAX_MS:
        raise ValueError(f"{value!r} is out of range (years 1 to 9999 in UTC)")
    return ms


_SECONDS: dict[int, str] = {}  # formatting is on the hot path; "now" repeats within a second


def format(ms: int) -> str:  # noqa: A001 (read as dates.format, the inverse of dates.parse)
    """`2024-06-06T09:22:14.304Z`."""
    secs, millis = divmod(ms, 1000)
    head = _SECONDS.get(secs)
    if head is None:
        if len(_SECONDS) > 4096:
            _SECONDS.clear()
        head = _SECONDS[secs] = (_EPOCH + timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{head}.{millis:03d}Z"
