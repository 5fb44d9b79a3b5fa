"""Time-driven work: batches whose `send_at` has come, and expiry.

- Due batches are expanded (groups resolved *now*: "any groups targeted in a scheduled batch
  will be evaluated at the time of sending") in (send time, creation) order, so they enter
  their account's FIFO queue in that order.
- At `expire_at`, recipients still queued are aborted with 406 (never sent late); a batch's
  recipients still `Dispatched` with no receipt `unknown_after_ms` after expiry become
  `Unknown` (the carrier never told us).

The loop sleeps until the next due or expiry time (or a wake-up: a new scheduled batch, a
manual clock move), so lateness is the wake-up latency, not a polling interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from ..clock import Clock
from ..config import Account
from ..sms import statuses as st
from ..store import batches as batch_store
from ..store import recipients as rstore
from ..store.db import Database, Tx
from . import expansion, status

log = logging.getLogger("openxms.scheduler")
POLL_MS = 1000


def expand_due(tx: Tx, now: int, accounts: Mapping[str, Account]) -> list[str]:
    """Expand every due batch (large groups: the first step, `expansion.py`); returns the accounts
    that got new work. A batch whose expiry passed before it was ever due (the clock jumped) is
    aborted at once with 406."""
    woken: list[str] = []
    for row in batch_store.claim_due(tx, now):
        if not expansion.start(tx, row, batch_store.parsed_doc(row)["to"], now):
            woken.append(row.account_id)  # its numbers are queued; the groups follow in chunks
            continue
        batch_store.set_state(tx, row.id, "active")
        if row.expire_at <= now:
            queued = rstore.ids_in_status(tx, row.id, st.QUEUED)
            status.apply(tx, [status.Change(i, st.ABORTED, st.C_INTERNAL_EXPIRY) for i in queued], now, accounts)
        else:
            woken.append(row.account_id)
    return list(dict.fromkeys(woken))


def sweep_expired(tx: Tx, now: int, unknown_after_ms: int, accounts: Mapping[str, Account]) -> int:
    """Past `expire_at`: queued recipients are aborted (406), and `unknown_after_ms` later the
    ones still Dispatched become Unknown (401): the carrier never told us."""
    changed = 0
    for bid in batch_store.in_state_until(tx, "active", now):
        ids = rstore.ids_in_status(tx, bid, st.QUEUED, unclaimed=True)
        changed += len(
            status.apply(tx, [status.Change(i, st.ABORTED, st.C_INTERNAL_EXPIRY) for i in ids], now, accounts)
        )
        batch_store.set_state(tx, bid, "expired")
    for bid in batch_store.in_state_until(tx, "expired", now - unknown_after_ms):
        ids = rstore.ids_in_status(tx, bid, st.DISPATCHED)
        changed += len(status.apply(tx, [status.Change(i, st.UNKNOWN, st.C_DISPATCHED) for i in ids], now, accounts))
        batch_store.set_state(tx, bid, "closed")
    return changed


class DueWork(Protocol):
    """More time-driven work the scheduler runs (the Conversation Batch API's fan-out): `run`
    does at most one bounded unit in the write transaction it is given and returns the
    accounts that got queued messages (None: nothing was due); `next_due` says when to look
    again."""

    def run(self, tx: Tx, now: int) -> list[str] | None: ...

    def next_due(self, tx: Tx) -> int | None: ...


class Scheduler:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        accounts: Mapping[str, Account],
        unknown_after_ms: int,
        queue_changed: Callable[[str], None],
        callbacks_changed: Callable[[], None],
        max_batch_recipients: int = 1_000_000,
        due_work: Sequence[DueWork] = (),
    ) -> None:
        self.max_batch_recipients = max_batch_recipients
        self.due_work = tuple(due_work)
        self.db = db
        self.clock = clock
        self.accounts = accounts
        self.unknown_after_ms = unknown_after_ms
        self.queue_changed = queue_changed
        self.callbacks_changed = callbacks_changed
        self.wakeup = asyncio.Event()

    def wake(self) -> None:
        self.wakeup.set()

    async def run(self) -> None:
        while True:
            self.wakeup.clear()
            now = self.clock.now_ms()
            try:
                accounts = await self.db.write(expand_due, now, self.accounts)
                self.callbacks_changed()  # expiring-before-due batches may have queued callbacks
                for a in accounts:
                    self.queue_changed(a)
                if accounts or await self.db.read(batch_store.any_due, now):
                    continue  # there may be more than one chunk due
                grown = await self.db.write(expansion.step, now, self.accounts, self.max_batch_recipients)
                if grown is not None:  # one chunk per unit of work: other writes go in between
                    self.queue_changed(grown)
                    self.callbacks_changed()
                    continue
                did = False
                for work in self.due_work:
                    woken = await self.db.write(work.run, now)
                    if woken is not None:
                        did = True
                        for a in woken:
                            self.queue_changed(a)
                        self.callbacks_changed()
                if did:
                    continue
                if await self.db.write(sweep_expired, now, self.unknown_after_ms, self.accounts):
                    self.callbacks_changed()
                nxt = await self.db.read(batch_store.next_wake, self.unknown_after_ms)
                for work in self.due_work:
                    t = await self.db.read(work.next_due)
                    if t is not None:
                        nxt = t if nxt is None else min(nxt, t)
            except Exception:  # noqa: BLE001 - keep scheduling; the error is logged
                log.exception("scheduler pass failed")
                nxt = None
            limit = self.clock.now_ms() + POLL_MS
            await self.clock.wait(limit if nxt is None else min(nxt, limit), self.wakeup)
