"""The message search indexer: indexes new recipient rows (store/search.py) in bounded chunks,
off the send path. Each chunk is one unit of work on the single writer, and the indexer rests
after it so that it takes at most `DUTY` of the writer's time, as the retention sweep does:
under a burst of sends the index falls behind (searches scan the tail past its watermark) and
catches up afterwards."""

from __future__ import annotations

import asyncio

from ..store import search
from ..store.db import Database

# Rows per unit of work: indexing costs the writer 30-55 us a row (bench/ui_search.py), so a
# chunk holds the writer for a few ms: chunks of 2000 showed as +20 ms in the p99 of POST
# /batches with the engine running, chunks of 250 as +6 ms (docs/benchmarks.md, section 7).
CHUNK = 100
DUTY = 0.1  # the share of the writer's time indexing may take, as much as the retention sweep
IDLE_S = 0.5  # how often an idle indexer looks for new rows


class SearchIndexer:
    def __init__(self, db: Database, chunk: int = CHUNK, duty: float = DUTY, idle_s: float = IDLE_S) -> None:
        self.db, self.chunk, self.duty, self.idle_s = db, chunk, duty, idle_s

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            n = await self.db.write(search.index_next, self.chunk)
            if n < self.chunk:
                await asyncio.sleep(self.idle_s)
            else:
                await asyncio.sleep((loop.time() - started) * (1 - self.duty) / self.duty)
