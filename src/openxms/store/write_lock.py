"""The SQLite write lock every openxms process on one database file takes.

Held around each write transaction (`db._Writer`): an flock on `<database>.write-lock`. SQLite's
own lock stays what keeps writes safe; this one decides who waits and how. A process that finds
SQLite's write lock taken sleeps in its busy handler, 1 ms, then 2, 5, 10 ... up to 100 ms
between tries (sqlite3_busy_timeout, https://sqlite.org/c3ref/busy_timeout.html), so with two
busy processes (`--role api` and `--role engine`) each lost most of its time asleep after the
lock was free again. A blocked flock is woken by the kernel as soon as it is released. The lock
goes with the process (and its descriptor), so none outlives a crash. PostgreSQL needs none:
its row locks queue writers.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class WriteLock:
    """`with lock:` holds it; a lock made with no path (PostgreSQL) holds nothing."""

    def __init__(self, database: Path | None) -> None:
        self.path = None if database is None else Path(f"{database}.write-lock")
        self._fd: int | None = None

    def __enter__(self) -> None:
        if self.path is None:
            return
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
