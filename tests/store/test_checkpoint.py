"""The background checkpoint (store/checkpoint.py): what the writer commits reaches the database
file without the writer's own automatic checkpoint (due only at 1000 pages of log), and stopping
the database stops the thread."""

from __future__ import annotations

import asyncio
import threading
import time

from openxms.store import schema
from openxms.store.db import Database, sqlite_path


def _fill(tx, i):
    tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"k{i}", "x" * 2000))


def test_commits_are_copied_into_the_database_file_off_the_writer(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    db = Database(url)
    schema.migrate(db)
    path = sqlite_path(url)
    # Start from an empty log: whatever the migrations left there is copied now.
    conn = db.connect()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = path.stat().st_size

    async def main():
        await db.start()
        try:
            assert any(t.name == "openxms-checkpoint" for t in threading.enumerate())
            # ~200 pages of rows: far below the writer's automatic checkpoint at 1000 pages.
            await asyncio.gather(*(db.write(_fill, i) for i in range(400)))
            deadline = time.monotonic() + 5
            while path.stat().st_size < before + 400 * 2000 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert path.stat().st_size >= before + 400 * 2000
        finally:
            await db.close()
        assert not any(t.name == "openxms-checkpoint" for t in threading.enumerate())

    asyncio.run(main())
