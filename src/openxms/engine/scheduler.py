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
import json
import logging
from typing import TYPE_CHECKING, Mapping

from ..config import Account
from ..sms import statuses as st
from ..store import batches as batch_store, recipients as rstore
from ..store.db import Tx
from . import status

if TYPE_CHECKING:
    from . import Engine

log = logging.getLogger("openxms.scheduler")
POLL_MS = 1000


def expand_due(tx: Tx, now: int, registry: Mapping[str, Account]) -> list[str]:
    """Expand every due batch; returns the accounts that got new work. A batch whose expiry
    passed before it was ever due (the clock jumped) is aborted at once with 406."""
    lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
    ids = [r[0] for r in tx.all("SELECT id FROM batches WHERE state = 'scheduled' AND due_at <= ? "
                                f"ORDER BY due_at, created_at, id LIMIT 200{lock}", (now,))]
    woken: list[str] = []
    rows = batch_store.get_many(tx, ids)
    for bid in ids:
        row = rows[bid]
        rstore.expand(tx, row.id, row.account_id, json.loads(row.doc)["to"], now)
        tx.execute("UPDATE batches SET state = 'active' WHERE id = ?", (bid,))
        if row.expire_at <= now:
            queued = [r[0] for r in tx.all("SELECT id FROM recipients WHERE batch_id = ? AND status = 'Queued'",
                                           (bid,))]
            status.apply(tx, [status.Change(i, st.ABORTED, st.C_INTERNAL_EXPIRY) for i in queued], now, registry)
        else:
            woken.append(row.account_id)
    return list(dict.fromkeys(woken))


def _more_due(tx: Tx, now: int) -> bool:
    return tx.one("SELECT 1 FROM batches WHERE state = 'scheduled' AND due_at <= ? LIMIT 1", (now,)) is not None


def sweep_expired(tx: Tx, now: int, unknown_after_ms: int, accounts: Mapping[str, Account]) -> int:
    changed = 0
    for (bid,) in tx.all("SELECT id FROM batches WHERE state = 'active' AND expire_at <= ? LIMIT 100", (now,)):
        ids = [r[0] for r in tx.all("SELECT id FROM recipients WHERE batch_id = ? AND status = 'Queued' "
                                    "AND claimed_by IS NULL", (bid,))]
        changed += len(status.apply(tx, [status.Change(i, st.ABORTED, st.C_INTERNAL_EXPIRY) for i in ids],
                                    now, accounts))
        tx.execute("UPDATE batches SET state = 'expired' WHERE id = ?", (bid,))
    for (bid,) in tx.all("SELECT id FROM batches WHERE state = 'expired' AND expire_at <= ? LIMIT 100",
                         (now - unknown_after_ms,)):
        ids = [r[0] for r in tx.all("SELECT id FROM recipients WHERE batch_id = ? AND status = 'Dispatched'",
                                    (bid,))]
        changed += len(status.apply(tx, [status.Change(i, st.UNKNOWN, st.C_DISPATCHED) for i in ids],
                                    now, accounts))
        tx.execute("UPDATE batches SET state = 'closed' WHERE id = ?", (bid,))
    return changed


def next_wake(tx: Tx, unknown_after_ms: int) -> int | None:
    times = [
        tx.scalar("SELECT min(due_at) FROM batches WHERE state = 'scheduled'"),
        tx.scalar("SELECT min(expire_at) FROM batches WHERE state = 'active'"),
    ]
    closing = tx.scalar("SELECT min(expire_at) FROM batches WHERE state = 'expired'")
    if closing is not None:
        times.append(closing + unknown_after_ms)
    times = [t for t in times if t is not None]
    return min(times) if times else None


class Scheduler:
    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self.wakeup = asyncio.Event()

    def wake(self) -> None:
        self.wakeup.set()

    async def run(self) -> None:
        e = self.engine
        while True:
            self.wakeup.clear()
            now = e.clock.now_ms()
            try:
                accounts = await e.db.write(expand_due, now, e.accounts)
                e.wake_callbacks()  # expiring-before-due batches may have queued callbacks
                for a in accounts:
                    e.wake_dispatcher(a)
                if accounts or await e.db.read(_more_due, now):
                    continue  # there may be more than one chunk due
                if await e.db.write(sweep_expired, now, e.settings.unknown_after_ms, e.accounts):
                    e.wake_callbacks()
                nxt = await e.db.read(next_wake, e.settings.unknown_after_ms)
            except Exception:  # noqa: BLE001 - keep scheduling; the error is logged
                log.exception("scheduler pass failed")
                nxt = None
            limit = e.clock.now_ms() + POLL_MS
            await e.clock.wait(limit if nxt is None else min(nxt, limit), self.wakeup)
