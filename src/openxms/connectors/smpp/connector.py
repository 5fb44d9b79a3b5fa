"""The engine's SMPP connector: one per account routed to a carrier (`connector = "smpp"`).

Submitting: each message becomes its parts (`parts.py`), all parts go through the client's
window concurrently, and the SMSC's message id of every accepted part is stored
(`smpp_parts`). A message is Dispatched when all its parts were accepted, Rejected (code = the
SMPP command_status) when one was refused. If no bind is up, `submit` raises and the engine
puts the messages back in the queue: nothing is lost while the carrier is unreachable.

Receipts: matched to parts by every spelling of the id (hex/decimal/zero-padded), in one
transaction with the recipient's status change; a recipient is final when all its parts are
(Delivered if all were delivered, else the first failure's status and code). A receipt that
arrives before its part is stored is kept as an orphan and applied when the part is stored.
Receipts are written in small batches and the deliver_sm_resp is sent only after the commit.

Inbound: reassembled MO messages go to the account's inbounds (callbacks, group keywords).

Retention: the id map would otherwise grow by a row per part forever. Every
`SWEEP_EVERY` s the connector deletes parts submitted more than `receipt_wait` ago (default
3 days, the longest a Sinch batch may wait before expiring; a receipt after that is logged
and dropped as an orphan) and orphans older than `ORPHAN_TTL_S` (a receipt waits for its
part for milliseconds, unless its submit_sm_resp was lost and the message was sent again
under a new id, in which case it never matches).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

from ...clock import Clock
from ...store.db import Database, Tx
from ..base import Accepted, Inbound, Outbound, Receipt as EngineReceipt, Refused
from . import receipts
from .client import SmppClient
from .config import SmppConfig
from .parts import Addressing, InboundSms, References, build

log = logging.getLogger("openxms.smpp.connector")
RECEIPT_BATCH = 500
SWEEP_EVERY = 600.0
ORPHAN_TTL_S = 3600


def sweep(tx: Tx, account_id: str, now: int, receipt_wait_s: float) -> tuple[int, int]:
    """Delete expired ids and stale orphans of one account; returns (parts, orphans) deleted."""
    tx.execute("DELETE FROM smpp_parts WHERE account_id = ? AND submitted_at < ?",
               (account_id, now - int(receipt_wait_s * 1000)))
    parts = tx.rowcount
    tx.execute("DELETE FROM smpp_orphans WHERE account_id = ? AND received_at < ?",
               (account_id, now - ORPHAN_TTL_S * 1000))
    return parts, tx.rowcount


def _store_parts(tx: Tx, account_id: str, rows: list[tuple[str, int, int, int]], now: int,
                 look_for_orphans: bool = True) -> list[tuple]:
    """Record accepted parts (key, recipient, part, total); returns orphan receipts now matched."""
    tx.executemany(
        "INSERT INTO smpp_parts (account_id, message_key, recipient_id, part, total, submitted_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, message_key) DO UPDATE SET "
        "recipient_id = excluded.recipient_id, part = excluded.part, total = excluded.total, state = NULL, "
        "err = NULL, done_at = NULL, submitted_at = excluded.submitted_at",
        [(account_id, k, r, p, t, now) for k, r, p, t in rows])
    if not look_for_orphans:
        return []
    keys = {alt: k for k, *_ in rows for alt in receipts.id_keys(k)}
    found = []
    items = list(keys)
    for i in range(0, len(items), 500):
        chunk = items[i:i + 500]
        found += tx.all(f"SELECT message_key, state, err, done_at FROM smpp_orphans WHERE account_id = ? "
                        f"AND message_key IN {tx.in_list(chunk)}", [account_id, *chunk])
    if found:
        tx.executemany("DELETE FROM smpp_orphans WHERE account_id = ? AND message_key = ?",
                       [(account_id, f[0]) for f in found])
    return [(keys[f[0]], f[1], f[2], f[3]) for f in found]


class SmppConnector:
    name = "smpp"

    def __init__(self, account_id: str, config: SmppConfig, db: Database, clock: Clock) -> None:
        self.account_id = account_id
        self.db = db
        self.clock = clock
        self.config = config
        self.client = SmppClient(self.config, self)
        self.refs = References()
        self.addr = Addressing(self.config.source_ton, self.config.source_npi, self.config.dest_ton,
                               self.config.dest_npi, self.config.registered_delivery, self.config.concat,
                               self.config.service_type)
        self.sink: Any = None
        self._queue: list[tuple[receipts.Receipt, asyncio.Future]] = []
        self._flushing = False
        self.started = False
        # Orphan receipts recorded so far (counted in the writer thread). A submit can only
        # match orphans recorded after it began: a receipt never precedes its submit_sm, and
        # parts lost to a crash are sent again under new ids. So `submit` skips the orphan
        # lookup, the costliest part of storing ids, unless this moved while it was out.
        self._orphans_seen = 0
        self._sweeper: asyncio.Task | None = None

    async def start(self, sink: Any) -> None:
        self.sink = sink
        if not self.started:
            self.started = True
            await self.client.start()
            self._sweeper = asyncio.create_task(self._sweep_loop(), name=f"smpp-sweep:{self.account_id}")

    async def stop(self) -> None:
        if self.started:
            self.started = False
            if self._sweeper is not None:
                self._sweeper.cancel()
            await self.client.stop()

    async def _sweep_loop(self) -> None:
        while True:
            try:
                parts, orphans = await self.db.write(sweep, self.account_id, self.clock.now_ms(),
                                                     self.config.receipt_wait)
                if parts or orphans:
                    log.info("%s: forgot %d part ids past receipt_wait and %d stale orphan receipts",
                             self.account_id, parts, orphans)
            except Exception:  # noqa: BLE001 - retried at the next sweep
                log.exception("smpp sweep failed for %s", self.account_id)
            await asyncio.sleep(SWEEP_EVERY)

    async def wait_ready(self, timeout: float) -> bool:
        """Whether a bind is up (waiting up to `timeout` s): the dispatcher claims nothing before."""
        return await self.client.wait_bound(timeout)

    # out ---------------------------------------------------------------------------------
    def _parts(self, m: Outbound) -> list[dict]:
        if m.type == "mt_binary":
            return build(m.msisdn, m.sender or "", None, "text", binary=base64.b64decode(m.text),
                         udh=bytes.fromhex(m.udh or ""), refs=self.refs, addr=self.addr,
                         source_ton=m.from_ton, source_npi=m.from_npi)
        text = m.text if m.type == "mt_text" else "\n".join(x for x in (m.text, (m.media or {}).get("url")) if x)
        return build(m.msisdn, m.sender or "", text, m.encoding, flash=m.flash, refs=self.refs, addr=self.addr,
                     source_ton=m.from_ton, source_npi=m.from_npi)

    async def submit(self, messages: list[Outbound]) -> list[Accepted | Refused]:
        if not self.client.bound():
            raise ConnectionError("no SMPP bind is up")
        plans = [(m, self._parts(m)) for m in messages]
        flat = [f for _, ps in plans for f in ps]
        orphans_before = self._orphans_seen
        results = await self.client.submit(flat)
        out: list[Accepted | Refused] = []
        rows = []
        i = 0
        for m, ps in plans:
            mine = results[i:i + len(ps)]
            i += len(ps)
            failed = next((r for r in mine if r.status != 0 or not r.message_id), None)
            if failed is not None:
                # Sinch reports an SMSC's refusal as Rejected, code 408 ("SMSC rejected"); the
                # SMPP command_status goes to the log.
                log.info("submit refused for %s: command_status 0x%02x", m.msisdn, failed.status)
                out.append(Refused(m.recipient_id, "Rejected", 408))
                continue
            out.append(Accepted(m.recipient_id))
            rows += [(receipts.id_keys(r.message_id)[0], m.recipient_id, n, len(ps)) for n, r in enumerate(mine, 1)]
        if rows:
            await self.db.write(self._store, rows, self.clock.now_ms(), orphans_before)
        return out

    def _store(self, tx: Tx, rows: list, now: int, orphans_before: int) -> None:
        matched = _store_parts(tx, self.account_id, rows, now, self._orphans_seen != orphans_before)
        if matched:
            where = {k: (rid, total) for k, rid, _, total in rows}
            self._apply(tx, [(k, receipts.Receipt(k, state, err or 0, done), *where[k])
                             for k, state, err, done in matched], now)

    # receipts ------------------------------------------------------------------------------
    def queue_receipt(self, r: receipts.Receipt) -> asyncio.Future | None:
        """Queue a receipt for the next batch write; the future is done once it is committed."""
        if not r.final:
            return None  # ENROUTE / ACCEPTD: the recipient stays Dispatched
        fut = asyncio.get_running_loop().create_future()
        self._queue.append((r, fut))
        if not self._flushing:
            self._flushing = True
            asyncio.ensure_future(self._flush())
        return fut

    async def on_receipt(self, r: receipts.Receipt) -> None:
        fut = self.queue_receipt(r)
        if fut is not None:
            await fut

    async def _flush(self) -> None:
        try:
            while self._queue:
                await asyncio.sleep(0.002)  # let a burst of receipts gather into one transaction
                batch, self._queue = self._queue[:RECEIPT_BATCH], self._queue[RECEIPT_BATCH:]
                try:
                    await self.db.write(self._receipts, [r for r, _ in batch], self.clock.now_ms())
                except Exception as e:  # noqa: BLE001 - answered with an error; the SMSC resends
                    for _, f in batch:
                        if not f.done():
                            f.set_exception(e)
                    continue
                for _, f in batch:
                    if not f.done():
                        f.set_result(None)
                self.sink.wake_callbacks()
        finally:
            self._flushing = False

    def _receipts(self, tx: Tx, items: list[receipts.Receipt], now: int) -> None:
        all_keys = sorted({k for r in items for k in r.keys})
        stored: dict[str, tuple[int, int]] = {}  # key -> (recipient, total parts)
        for i in range(0, len(all_keys), 500):
            chunk = all_keys[i:i + 500]
            for key, rid, total in tx.all(
                    f"SELECT message_key, recipient_id, total FROM smpp_parts WHERE account_id = ? AND message_key "
                    f"IN {tx.in_list(chunk)}", [self.account_id, *chunk]):
                stored[key] = (rid, total)
        matched, orphans = [], []
        for r in items:
            key = next((k for k in r.keys if k in stored), None)
            if key:
                matched.append((key, r, *stored[key]))
            else:
                orphans.append((r.keys[0], r))
        if orphans:
            tx.executemany("INSERT INTO smpp_orphans (account_id, message_key, state, err, done_at, received_at) "
                           "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, message_key) DO UPDATE SET "
                           "state = excluded.state, err = excluded.err, done_at = excluded.done_at",
                           [(self.account_id, k, r.state, r.err, r.done_at, now) for k, r in orphans])
            self._orphans_seen += len(orphans)
        if matched:
            self._apply(tx, matched, now)

    def _apply(self, tx: Tx, matched: list[tuple[str, receipts.Receipt, int, int]], now: int) -> None:
        """Mark parts done; recipients whose parts are all done get their final status.

        `matched` is (key, receipt, recipient id, total parts). A one-part message is final
        with its receipt; only multipart recipients need their other parts read back."""
        tx.executemany("UPDATE smpp_parts SET state = ?, err = ?, done_at = ? WHERE account_id = ? "
                       "AND message_key = ? AND state IS NULL",
                       [(r.state, r.err, r.done_at or now, self.account_id, k) for k, r, _, _ in matched])
        finals = []
        for _, r, rid, total in matched:
            if total == 1:
                status, code = r.sinch()
                finals.append(EngineReceipt(rid, status, code, r.done_at or now))
        rids = sorted({rid for _, _, rid, total in matched if total > 1})
        for i in range(0, len(rids), 500):
            chunk = rids[i:i + 500]
            per: dict[int, list] = {}
            for rid, part, total, state, err, done in tx.all(
                    f"SELECT recipient_id, part, total, state, err, done_at FROM smpp_parts WHERE recipient_id IN "
                    f"{tx.in_list(chunk)} ORDER BY recipient_id, part", chunk):
                per.setdefault(rid, []).append((part, total, state, err, done))
            for rid, parts in per.items():
                total = parts[0][1]
                done = [p for p in parts if p[2] is not None]
                if len(done) < total:
                    continue
                bad = next((p for p in done if p[2] != "DELIVRD"), None)
                r = receipts.Receipt("", (bad or done[0])[2], (bad or done[0])[3] or 0, None)
                status, code = r.sinch()
                finals.append(EngineReceipt(rid, status, code, max(p[4] or now for p in done)))
        if finals:
            self.sink.apply_receipts(tx, finals, now)

    # inbound ---------------------------------------------------------------------------------
    async def on_mo(self, m: InboundSms) -> None:
        if m.text is not None:
            mo = Inbound(sender=m.source, recipient=m.destination, body=m.text, account_id=self.account_id)
        else:
            mo = Inbound(sender=m.source, recipient=m.destination, body=base64.b64encode(m.binary or b"").decode(),
                         type="mo_binary", udh=(m.udh or b"").hex(), account_id=self.account_id)
        await self.sink.inbound(mo)
