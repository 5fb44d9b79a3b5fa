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
from collections.abc import Callable

from ..clock import Clock
from ..store import handsets
from ..store.db import Database, Tx
from .base import Accepted, Connector, Outbound, Receipt, Refused, Sink
from .outcomes import Outcome, OutcomeRules

log = logging.getLogger("openxms.simulator")
RECEIPT_BATCH = 1000


def on_handset(o: Outcome) -> Outcome:
    """What a handset makes of the rules' outcome: only an SMSC throttles (`openxms smsc`
    answers ESME_RTHROTTLED); a handset just receives the message."""
    return Outcome(True, "Delivered", 0, 0) if o.throttled else o


class Simulator(Connector):
    name = "simulator"
    shared = True  # one set of handsets for every account

    def __init__(
        self, db: Database, clock: Clock, rules: OutcomeRules, announce_to: Callable[[dict], None] | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.rules = rules
        self.sink: Sink | None = None
        self.wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        # the live UI (live.py) and long-poll waiters
        self.listeners: set[Callable[[dict], None]] = {announce_to} if announce_to is not None else set()

    async def start(self, sink: Sink) -> None:
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
        landed: list[handsets.Landed] = []
        results: list[Accepted | Refused] = []
        for m in messages:
            o = on_handset(self.rules.decide(m.msisdn, m.recipient_id))
            body = m.media.get("url", "") + ("\n" + m.text if m.text else "") if m.media else m.text
            if o.accept:
                results.append(Accepted(m.recipient_id))
                status, code, due = o.status, o.code, (now + o.delay_ms if o.receipt else None)
            else:
                results.append(Refused(m.recipient_id, "Rejected", o.code))
                status, code, due = "Rejected", o.code, None
            landed.append(
                handsets.Landed(
                    m.recipient_id,
                    m.account_id,
                    m.batch_id,
                    m.msisdn,
                    m.sender,
                    m.type,
                    body,
                    m.udh,
                    m.encoding,
                    m.parts,
                    m.flash,
                    now,
                    status,
                    code,
                    due,
                )
            )
        await self.db.write(handsets.land, landed)
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
        due = handsets.take_due_receipts(tx, now, RECEIPT_BATCH)
        if due and self.sink is not None:
            self.sink.apply_receipts(
                tx,
                [
                    Receipt(r.recipient_id, r.outcome_status, r.outcome_code, r.receipt_due_at, r.parts, r.encoding)
                    for r in due
                ],
                now,
            )
        return len(due), handsets.next_receipt_due(tx)

    async def _receipts_loop(self) -> None:
        while True:
            self.wakeup.clear()
            try:
                n, nxt = await self.db.write(self._deliver_due, self.clock.now_ms())
            except Exception:  # noqa: BLE001
                log.exception("simulator receipts failed")
                n, nxt = 0, None
            if n:
                if self.sink is not None:
                    self.sink.receipts_applied()
                self.announce({"event": "receipts", "count": n})
                continue
            limit = self.clock.now_ms() + 1000
            await self.clock.wait(limit if nxt is None else min(nxt, limit), self.wakeup)
