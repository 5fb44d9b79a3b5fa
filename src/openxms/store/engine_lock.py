"""One engine per SQLite file: an flock on `<database>.engine-lock`, held while the engine lives.

On SQLite nothing else stops two engines from draining one queue: a starting engine takes every
dispatch lease and forgets every node (store/leases.py, store/nodes.py: one engine per file is
assumed there), so a second `--role all` or `--role engine` process on the same file would claim
and send what the first one sends too. With the lock, the second one does not start: it is told
which process runs the engine, and that `--role api` is how to add a process to a file
(docs/architecture.md, "Processes"). The lock goes with the process (and its descriptor), so a
crashed engine leaves none behind. The file holds the holder's pid, for that message only.
PostgreSQL needs none: its leases share the plans between any number of engines.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class EngineRunning(Exception):
    """Another process runs the engine on this file; the message is one line for a person."""


class EngineLock:
    """`take()` (again while held: nothing) or EngineRunning; `release()` when the engine has
    stopped."""

    def __init__(self, database: Path) -> None:
        self.path = Path(f"{database}.engine-lock")
        self._fd: int | None = None

    def take(self) -> None:
        if self._fd is not None:
            return  # ours already
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "not known yet"
            os.close(fd)
            raise EngineRunning(
                f"the delivery engine already runs on {self.path.with_suffix('')} (pid {holder}): "
                "one engine per SQLite file; add a process to it with --role api"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __del__(self) -> None:  # an app built and never served must not keep the file locked
        self.release()
