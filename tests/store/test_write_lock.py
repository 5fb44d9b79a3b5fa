"""The SQLite write lock (store/write_lock.py): a write waits while another process holds it,
and commits as soon as it is released; PostgreSQL takes none."""

from __future__ import annotations

import asyncio

from openxms.store import schema
from openxms.store.db import Database
from openxms.store.write_lock import WriteLock

from .test_db import _insert


def test_sqlite_writes_wait_for_the_write_lock_every_process_takes(tmp_path):
    """Another process's writer holds `<database>.write-lock` (here: another open file, which
    flock treats the same): this one's write waits for it, then commits at once."""
    import fcntl
    import os

    db = Database(f"sqlite:///{tmp_path}/x.sqlite3")
    schema.migrate(db)

    async def main():
        await db.start()
        fd = os.open(f"{tmp_path}/x.sqlite3.write-lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            write = asyncio.ensure_future(db.write(_insert, "k", "v"))
            await asyncio.sleep(0.3)
            assert not write.done()  # waiting for the lock, not in SQLite's busy handler
            fcntl.flock(fd, fcntl.LOCK_UN)
            assert await asyncio.wait_for(write, 5) == "k"
            assert await db.read(lambda tx: tx.scalar("SELECT value FROM meta WHERE key = 'k'")) == "v"
        finally:
            os.close(fd)
            await db.close()

    asyncio.run(main())


def test_postgresql_and_a_closed_lock_hold_nothing(tmp_path):
    none = WriteLock(None)
    with none:
        pass
    assert none.path is None
    lock = WriteLock(tmp_path / "x.sqlite3")
    with lock:
        pass
    lock.close()
    lock.close()  # twice is harmless
    assert lock.path == tmp_path / "x.sqlite3.write-lock" and lock.path.exists()
