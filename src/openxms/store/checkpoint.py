"""SQLite WAL checkpoints off the writer's path.

In WAL mode a commit appends pages to the write-ahead log; a checkpoint copies them back into
the database file. By default the connection whose commit takes the log past 1000 pages runs
the checkpoint inside that commit (https://sqlite.org/wal.html#automatic_checkpoint): here that
is always the one writer thread, and copying pages took a fifth to a third of a busy writer's
time (1000-row inserts in a loop: 1.75-1.96 ms each with the copying in the writer, 1.39-1.48
with it here; docs/benchmarks.md section 1 has the server's figures).

This thread runs PASSIVE checkpoints on its own connection a moment after commits: they copy
what is committed without blocking the writer or any reader, and SQLite releases the GIL while
it copies, so the copying runs on the other core. The writer's own automatic checkpoint stays
on: it finds the pages already copied and only finishes the tail, which is also what lets the
log start over from its beginning (a PASSIVE checkpoint alone never resets a log that a
writer keeps appending to: https://sqlite.org/c3ref/wal_checkpoint_v2.html). If this thread's
checkpoint is running when the writer's is due, SQLite skips the writer's (it cannot get the
checkpoint lock) and the next commit tries again, so nothing waits on the other.

Durability is unchanged: a commit is durable once in the log (synchronous=NORMAL survives a
killed process), whoever copies it later.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("openxms.db")

# After a commit, let more gather before copying: at most 20 checkpoints a second. Every wake-up
# of this thread takes the GIL from the event loop; one per commit (every ~1 ms at full load
# with single-recipient sends) cost the API more than the copying saved.
GATHER_S = 0.05


class Checkpointer(threading.Thread):
    def __init__(self, connect: Callable[[], Any]) -> None:
        super().__init__(name="openxms-checkpoint", daemon=True)
        self._connect = connect
        self._due = threading.Event()
        self._stopping = False

    def committed(self) -> None:
        """Called by the writer after each commit (an Event.set: no system call when already set)."""
        self._due.set()

    def stop(self) -> None:
        self._stopping = True
        self._due.set()
        self.join()

    def run(self) -> None:
        conn = None
        try:
            conn = self._connect()
            while True:
                self._due.wait()
                time.sleep(GATHER_S)
                if self._stopping:
                    return
                self._due.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as e:  # the writer's own checkpoint still runs: log and go on
                    log.debug("background checkpoint failed: %s", e)
        except Exception:  # noqa: BLE001 - without this thread the writer checkpoints as before
            log.exception("the background checkpoint thread stopped")
        finally:
            if conn is not None:
                conn.close()
