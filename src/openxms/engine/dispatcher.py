"""Per account: take queued recipients in FIFO order at the account's rate, render, hand them
to the connector, record what happened.

Pre-flight failures never reach the connector (Sinch's codes 405-411,
https://developers.sinch.com/docs/sms/api-reference/status-codes/): cancelled batch -> 407 Cancelled,
past `expire_at` -> 406 Aborted, unmatched parameter -> 405 Aborted, more parts than
`max_number_of_message_parts` -> 411 Aborted, no originator -> 410 Aborted.

Several claimed chunks may be in flight at once (an SMPP connector waits for its window of
responses); they are handed to the connector in claim order, so FIFO holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping

from ..aio import wait_event
from ..clock import Clock
from ..config import Account
from ..connectors.base import Accepted, Connector, Outbound, Refused
from ..ratelimit import TokenBucket
from ..sms import statuses as st
from ..sms.messages import Template
from ..store import batches as batch_store
from ..store import queue, replies
from ..store.db import Database, Tx
from . import status

log = logging.getLogger("openxms.dispatcher")
MAX_CLAIM = 500
IDLE_POLL = 1.0  # seconds; other nodes' work is noticed at least this often
MAX_BACKOFF = 5.0  # seconds between claims while the connector keeps refusing submits
# What a connector raises when it cannot take anything now (no bind, socket closed): the chunk
# goes back to the queue. Anything else is a fault of the messages themselves.
UNAVAILABLE = (ConnectionError, OSError, TimeoutError)


def _claim(
    tx: Tx, account_id: str, node: str, limit: int
) -> tuple[list[queue.Claimed], dict[str, batch_store.BatchRow]]:
    rows = queue.claim(tx, account_id, node, limit)
    return rows, batch_store.get_many(tx, list({r.batch_id for r in rows}))


def _record(
    tx: Tx, changes: list[status.Change], routes: list[replies.Route], now: int, accounts: Mapping[str, Account]
) -> None:
    status.apply(tx, changes, now, accounts)
    replies.record(tx, routes, now)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        accounts: Mapping[str, Account],
        node_id: str,
        account: Account,
        connector: Connector,
        callbacks_changed: Callable[[], None],
        max_inflight: int = 4,
    ) -> None:
        self.db = db
        self.clock = clock
        self.accounts = accounts
        self.node_id = node_id
        self.account = account
        self.connector = connector
        self.callbacks_changed = callbacks_changed
        self.bucket = TokenBucket(account.rate)
        self.wakeup = asyncio.Event()
        self.inflight = asyncio.Semaphore(max_inflight)
        self.backoff = 0.0  # seconds; grows while the connector refuses submits
        self._templates: OrderedDict[tuple[str, int], Template] = OrderedDict()
        self._tasks: set[asyncio.Task] = set()
        self.sent = 0
        self.closing = False

    def wake(self) -> None:
        self.wakeup.set()

    def close(self) -> None:
        """Stop claiming (the plan is being handed to another node): `run` returns at its next
        turn; chunks already claimed go on to the connector and are recorded (`drain`)."""
        self.closing = True
        self.wakeup.set()

    async def run(self) -> None:
        while not self.closing:
            if not await self.connector.wait_ready(IDLE_POLL):
                continue  # e.g. no SMPP bind up: keep the messages queued, wake as soon as one is
            await self.inflight.acquire()
            if self.closing:
                self.inflight.release()
                return
            want = self.bucket.take(MAX_CLAIM)
            if want == 0:
                self.inflight.release()
                await asyncio.sleep(max(self.bucket.wait_time(), 0.001))
                continue
            self.wakeup.clear()
            try:
                rows, batches = await self.db.write(_claim, self.account.id, self.node_id, want)
            except Exception:  # noqa: BLE001 - e.g. the database restarting: try again shortly
                log.exception("claiming messages failed for %s", self.account.id, extra={"plan": self.account.id})
                self.bucket.give_back(want)
                self.inflight.release()
                await asyncio.sleep(IDLE_POLL)
                continue
            self.bucket.give_back(want - len(rows))
            if not rows:
                self.inflight.release()
                await wait_event(self.wakeup, IDLE_POLL)
                continue
            task = asyncio.create_task(self._process(rows, batches))
            self._tasks.add(task)
            task.add_done_callback(self._done)
            if self.backoff:
                await asyncio.sleep(self.backoff)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self.inflight.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("dispatch failed for %s", self.account.id, exc_info=task.exception())

    def _template(self, b: batch_store.BatchRow, doc: dict) -> Template:
        key = (b.id, b.modified_at)
        tpl = self._templates.get(key)
        if tpl is None:
            tpl = Template(
                b.type,
                doc["body"],
                doc.get("parameters"),
                doc.get("truncate_concat"),
                doc.get("max_number_of_message_parts") or self.account.max_parts,
                doc.get("udh"),
            )
            self._templates[key] = tpl
            if len(self._templates) > 256:
                self._templates.popitem(last=False)
        return tpl

    def _prepare(
        self, now: int, rid: int, b: batch_store.BatchRow, doc: dict, msisdn: str, default_sender: str | None
    ) -> Outbound | status.Change:
        """One claimed recipient: what to hand to the connector, or the status it ends with
        before reaching it (pre-flight failures never reach the connector)."""
        if b.canceled:
            return status.Change(rid, st.CANCELLED, st.C_CANCELLED)
        if now >= b.expire_at:
            return status.Change(rid, st.ABORTED, st.C_INTERNAL_EXPIRY)
        r = self._template(b, doc).render(msisdn)
        if r.error is not None:
            return status.Change(rid, st.ABORTED, r.error, parts=r.parts or None, encoding=r.encoding)
        sender = doc.get("from") or default_sender
        if sender is None:
            return status.Change(rid, st.ABORTED, st.C_NO_ORIGINATOR)
        return Outbound(
            recipient_id=rid,
            batch_id=b.id,
            account_id=b.account_id,
            msisdn=msisdn,
            sender=sender,
            type=b.type,
            text=r.body,
            encoding=r.encoding,
            parts=r.parts,
            udh=doc.get("udh"),
            media=doc["body"] if b.type == "mt_media" else None,
            flash=bool(doc.get("flash_message")),
            from_ton=doc.get("from_ton"),
            from_npi=doc.get("from_npi"),
            expire_at=b.expire_at,
            delivery_report=b.delivery_report,
        )

    async def _process(self, rows: list[queue.Claimed], batches: dict[str, batch_store.BatchRow]) -> None:
        now = self.clock.now_ms()
        changes: list[status.Change] = []
        outbound: list[Outbound] = []
        default_sender = self.account.numbers[0] if self.account.numbers else None
        for rid, bid, msisdn in rows:
            try:
                b = batches[bid]
                got = self._prepare(now, rid, b, batch_store.parsed_doc(b), msisdn, default_sender)
            except Exception:  # noqa: BLE001 - one bad recipient must not hold the chunk (or the queue) back
                log.exception(
                    "preparing recipient %d of batch %s failed; aborting it (403)",
                    rid,
                    bid,
                    extra={"plan": self.account.id, "batch_id": bid, "recipient": rid},
                )
                got = status.Change(rid, st.ABORTED, st.C_INTERNAL_ERROR)
            (outbound if isinstance(got, Outbound) else changes).append(got)  # type: ignore[arg-type]
        routes: list[replies.Route] = []
        if outbound:
            try:
                results = await self._submit(outbound)
            except UNAVAILABLE as e:  # the connector is down: give the messages back to the queue
                log.warning(
                    "connector %s refused a submit for %s: %s",
                    self.connector.name,
                    self.account.id,
                    e,
                    extra={"plan": self.account.id},
                )
                await self.db.write(queue.unclaim, [m.recipient_id for m in outbound])
                self.backoff = min(MAX_BACKOFF, max(0.2, self.backoff * 2))
                await self._record(changes, [])
                return
            self.backoff = 0.0
            by_id = {m.recipient_id: m for m in outbound}
            for res in results:
                m = by_id[res.recipient_id]
                if isinstance(res, Accepted):
                    changes.append(
                        status.Change(
                            m.recipient_id, st.DISPATCHED, st.C_DISPATCHED, parts=m.parts, encoding=m.encoding
                        )
                    )
                    if m.sender:
                        routes.append(replies.Route(m.msisdn, m.sender, m.account_id, m.batch_id, m.recipient_id))
                elif isinstance(res, Refused):
                    changes.append(
                        status.Change(
                            m.recipient_id,
                            res.status,
                            res.code,
                            operator_status_at=now,
                            parts=m.parts,
                            encoding=m.encoding,
                        )
                    )
                else:
                    changes.append(res)
        self.sent += len(outbound)
        await self._record(changes, routes)

    async def _submit(self, outbound: list[Outbound]) -> list[Accepted | Refused | status.Change]:
        """Hand the chunk over. If the connector fails on it for any reason but being down, hand the
        messages over one by one, so the ones it cannot take end Aborted (403) alone."""
        try:
            return list(await self.connector.submit(outbound))
        except UNAVAILABLE:
            raise
        except Exception:  # noqa: BLE001
            if len(outbound) == 1:
                log.exception(
                    "connector %s failed on recipient %d; aborting it (403)",
                    self.connector.name,
                    outbound[0].recipient_id,
                    extra={"plan": self.account.id, "recipient": outbound[0].recipient_id},
                )
                return [status.Change(outbound[0].recipient_id, st.ABORTED, st.C_INTERNAL_ERROR)]
            log.exception(
                "connector %s failed on a chunk of %d; retrying them one by one", self.connector.name, len(outbound)
            )
        out: list[Accepted | Refused | status.Change] = []
        for m in outbound:
            out += await self._submit([m])
        return out

    async def _record(self, changes: list[status.Change], routes: list[replies.Route]) -> None:
        if not (changes or routes):
            return
        try:
            await self.db.write(_record, changes, routes, self.clock.now_ms(), self.accounts)
        except Exception:  # noqa: BLE001 - one row the database refuses must not lose the others
            log.exception("recording %d status changes failed; recording them one by one", len(changes))
            await self._record_each(changes, routes)
        self.callbacks_changed()

    async def _record_each(self, changes: list[status.Change], routes: list[replies.Route]) -> None:
        route_of = {r.recipient_id: r for r in routes}
        for c in changes:
            route = [route_of[c.recipient_id]] if c.recipient_id in route_of else []
            try:
                await self.db.write(_record, [c], route, self.clock.now_ms(), self.accounts)
                continue
            except Exception:  # noqa: BLE001
                log.exception(
                    "recording the status of recipient %d failed; aborting it (403)",
                    c.recipient_id,
                    extra={"plan": self.account.id, "recipient": c.recipient_id},
                )
            try:
                await self.db.write(
                    _record,
                    [status.Change(c.recipient_id, st.ABORTED, st.C_INTERNAL_ERROR)],
                    [],
                    self.clock.now_ms(),
                    self.accounts,
                )
            except Exception:  # noqa: BLE001 - left claimed; released when the lease moves or at restart
                log.exception("recipient %d could not be aborted either", c.recipient_id)

    async def drain(self, timeout: float = 10.0) -> bool:
        """Wait for in-flight chunks (shutdown, hand-over); True when none is left."""
        if self._tasks and timeout > 0:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        return not self._tasks

    async def abort(self) -> None:
        """Cut the chunks still in flight short and wait until they have stopped: after this the
        dispatcher queues no more writes, so its claims can be given back (hand-over)."""
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
