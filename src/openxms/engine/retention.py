"""The retention sweep: every `interval` seconds, what is older than `days` goes, chunk by
chunk (store/retention.py). Each chunk is one unit of work on the single writer, so the
dispatcher's and the API's writes queue between two chunks, never behind a whole sweep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from ..clock import Clock
from ..store import retention as store
from ..store.db import Database, Tx

log = logging.getLogger("openxms.retention")
DAY_MS = 86_400_000
CHUNK = 1000  # rows per unit of work: a few ms of the writer
DUTY = 0.1  # the share of the writer's time a sweep may take


def _batches(tx: Tx, accounts: list[str], cutoff: int, limit: int) -> int:
    # Finding a candidate reads its recipients (are they all final?): take only as many as one
    # chunk can empty, about `limit` recipients' worth (a batch has at least one).
    return store.delete_batches(tx, store.old_batches(tx, accounts, cutoff, max(1, min(50, limit // 500))), limit)


def _oldest_batch(tx: Tx, accounts: list[str], now: int, limit: int) -> int:
    """For max_messages: the oldest finished batch only, so the newest are the ones kept."""
    found = store.old_batches(tx, accounts, now, 1)
    return store.delete_batches(tx, sorted(found)[:1], limit)


def steps(accounts: list[str]) -> list[tuple[str, Callable[[Tx, int, int], int]]]:
    return [
        ("batches", lambda tx, cutoff, limit: _batches(tx, accounts, cutoff, limit)),
        ("callbacks", store.delete_callbacks),
        ("inbounds", store.delete_inbounds),
        ("handset messages", store.delete_handset_messages),
        ("idempotency keys", store.delete_idempotency_keys),
        ("conversation", store.delete_conversation),
    ]


async def sweep(
    db: Database, accounts: list[str], cutoff: int, chunk: int = CHUNK, duty: float = DUTY
) -> dict[str, int]:
    """One sweep to the end; rows deleted per kind. After each chunk it rests so that it takes
    at most `duty` of the writer's time: sending goes on at nearly its full rate (bench/
    retention.py), and a big backlog (a first sweep over months of data) takes longer."""
    deleted: dict[str, int] = {}
    loop = asyncio.get_running_loop()
    for name, step in steps(accounts):
        total = 0
        while True:
            started = loop.time()
            n = await db.write(step, cutoff, chunk)
            total += n
            if n == 0:
                break
            await asyncio.sleep((loop.time() - started) * (1 - duty) / duty)
        deleted[name] = total
    return deleted


async def trim(db: Database, accounts: list[str], max_messages: int, now: int, chunk: int = CHUNK) -> int:
    """Delete the oldest finished batches until at most `max_messages` messages are kept (or
    none is left to delete); rows deleted."""
    total = 0
    while await db.read(store.message_count) > max_messages:
        n = await db.write(_oldest_batch, accounts, now, chunk)
        if n == 0:
            break  # what is left is open or scheduled: kept whatever the count
        total += n
        await asyncio.sleep(0)
    return total


def trim_sync(db: Database, accounts: list[str], max_messages: int, now: int, chunk: int = CHUNK) -> int:
    total = 0
    while db.run_sync(store.message_count) > max_messages:
        n = db.run_sync(_oldest_batch, accounts, now, chunk)
        if n == 0:
            break
        total += n
    return total


def sweep_sync(db: Database, accounts: list[str], cutoff: int, chunk: int = CHUNK) -> dict[str, int]:
    """The same for `openxms prune` (no event loop): one transaction per chunk."""
    deleted: dict[str, int] = {}
    for name, step in steps(accounts):
        total = 0
        while n := db.run_sync(step, cutoff, chunk):
            total += n
        deleted[name] = total
    return deleted


class Retention:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        accounts: Mapping[str, object],
        days: float,
        interval: float,
        max_messages: int | None = None,
    ) -> None:
        self.db, self.clock, self.accounts = db, clock, accounts
        self.days, self.interval, self.max_messages = days, interval, max_messages

    async def run(self) -> None:
        while True:
            now = self.clock.now_ms()
            deleted = await sweep(self.db, sorted(self.accounts), now - int(self.days * DAY_MS)) if self.days else {}
            if self.max_messages is not None:
                deleted["over max_messages"] = await trim(self.db, sorted(self.accounts), self.max_messages, now)
            if any(deleted.values()):
                log.info(
                    "retention: deleted rows older than %g days (%s)",
                    self.days,
                    ", ".join(f"{k} {n}" for k, n in deleted.items() if n),
                )
            await asyncio.sleep(self.interval)
