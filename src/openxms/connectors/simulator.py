"""The embedded default connector: virtual handsets instead of carriers.

Each message lands on the handset of its MSISDN (a row in `sim_messages`, kept across
restarts), with the outcome the rules decide (`outcomes.py`: magic numbers, profiles, seeded
randomness). The delivery receipt comes back when its delay has passed on the engine clock,
so under `--clock manual` a "slow" handset delivers when the clock is advanced.

A message sent twice for the same recipient row (a redelivery after a crash) is stored once:
`recipient_id` is unique, and the receipt is only reported for the stored copy.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from ..clock import Clock
from ..store.db import Database, Tx
from .base import Accepted, Outbound, Receipt, Refused
from .outcomes import Outcome, OutcomeRules

log = logging.getLogger("openxms.simulator")
RECEIPT_BATCH = 1000


def _insert(tx: Tx, rows: list[tuple]) -> None:
    tx.executemany(
        "INSERT INTO sim_messages (recipient_id, account_id, batch_id, msisdn, sender, type, body, udh, encoding, "
        "parts, flash, received_at, outcome_status, outcome_code, receipt_due_at, receipt_done) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (recipient_id) DO NOTHING", rows)


class Simulator:
    name = "simulator"

    def __init__(self, db: Database, clock: Clock, rules: OutcomeRules) -> None:
        self.db = db
        self.clock = clock
        self.rules = rules
        self.sink: Any = None
        self.wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.listeners: set[Callable[[dict], None]] = set()  # live UI / long-poll waiters

    async def start(self, sink: Any) -> None:
        self.sink = sink
        if self._task is None:
            self._task = asyncio.create_task(self._receipts_loop(), name="simulator-receipts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def submit(self, messages: list[Outbound]) -> list[Accepted | Refused]:
        now = self.clock.now_ms()
        rows, results = [], []
        for m in messages:
            o = self.rules.decide(m.msisdn, m.recipient_id)
            if o.throttled:  # only an SMSC throttles; a handset just receives it
                o = Outcome(True, "Delivered", 0, 0)
            body = m.media.get("url", "") + ("\n" + m.text if m.text else "") if m.media else m.text
            if o.accept:
                results.append(Accepted(m.recipient_id))
                due = now + o.delay_ms if o.receipt else None
                rows.append((m.recipient_id, m.account_id, m.batch_id, m.msisdn, m.sender, m.type, body, m.udh,
                             m.encoding, m.parts, int(m.flash), now, o.status, o.code, due, 0 if o.receipt else 1))
            else:
                results.append(Refused(m.recipient_id, "Rejected", o.code))
                rows.append((m.recipient_id, m.account_id, m.batch_id, m.msisdn, m.sender, m.type, body, m.udh,
                             m.encoding, m.parts, int(m.flash), now, "Rejected", o.code, None, 1))
        await self.db.write(_insert, rows)
        self.wakeup.set()
        self.announce({"event": "messages", "msisdns": sorted({m.msisdn for m in messages})})
        return results

    def announce(self, event: dict) -> None:
        for fn in list(self.listeners):
            try:
                fn(event)
            except Exception:  # noqa: BLE001 - a broken listener must not stop delivery
                log.exception("simulator listener failed")

    def _deliver_due(self, tx: Tx, now: int) -> tuple[int, int | None]:
        lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
        rows = tx.all("SELECT id, recipient_id, outcome_status, outcome_code, receipt_due_at FROM sim_messages "
                      f"WHERE receipt_done = 0 AND receipt_due_at <= ? ORDER BY receipt_due_at, id LIMIT ?{lock}",
                      (now, RECEIPT_BATCH))
        if rows:
            self.sink.apply_receipts(tx, [Receipt(r[1], r[2], r[3], r[4]) for r in rows], now)
            tx.executemany("UPDATE sim_messages SET receipt_done = 1 WHERE id = ?", [(r[0],) for r in rows])
        nxt = tx.scalar("SELECT min(receipt_due_at) FROM sim_messages WHERE receipt_done = 0")
        return len(rows), nxt

    async def _receipts_loop(self) -> None:
        while True:
            self.wakeup.clear()
            try:
                n, nxt = await self.db.write(self._deliver_due, self.clock.now_ms())
            except Exception:  # noqa: BLE001
                log.exception("simulator receipts failed")
                n, nxt = 0, None
            if n:
                self.sink.wake_callbacks()
                self.announce({"event": "receipts", "count": n})
                continue
            limit = self.clock.now_ms() + 1000
            await self.clock.wait(limit if nxt is None else min(nxt, limit), self.wakeup)
