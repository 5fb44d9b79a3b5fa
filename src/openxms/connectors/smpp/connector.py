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
import time
from typing import Any

from ...clock import Clock
from ...store import smpp as idmap
from ...store.db import Database, Tx
from ..base import Accepted, Connector, Inbound, Outbound, Refused, Sink
from ..base import Receipt as EngineReceipt
from . import receipts
from .client import SmppClient
from .config import SmppConfig
from .parts import Addressing, InboundSms, References, build, udh_of

log = logging.getLogger("openxms.smpp.connector")
RECEIPT_BATCH = 500
SWEEP_EVERY = 600.0
ORPHAN_TTL_S = 3600


def wall_ms() -> int:
    """The id map runs on wall-clock time, like the SMSC's timestamps it is compared with (the
    engine clock may be manual)."""
    return time.time_ns() // 1_000_000


def sweep(
    tx: Tx, account_id: str, now: int, receipt_wait_s: float, sink: Sink | None = None, status_now: int | None = None
) -> tuple[int, int]:
    """Forget ids older than `receipt_wait` and stale orphans of one account; returns (parts,
    orphans) deleted. Recipients whose receipt never came by then end Unknown (401): the
    carrier will not tell us any more (e.g. the SMSC restarted and lost it)."""
    before = now - int(receipt_wait_s * 1000)
    stuck = idmap.waiting_before(tx, account_id, before)
    if stuck and sink is not None:
        sink.apply_receipts(
            tx, [EngineReceipt(rid, "Unknown", 401) for rid in stuck], now if status_now is None else status_now
        )
    return idmap.sweep(tx, account_id, before, now - ORPHAN_TTL_S * 1000)


class SmppConnector(Connector):
    name = "smpp"

    def __init__(self, account_id: str, config: SmppConfig, db: Database, clock: Clock) -> None:
        self.account_id = account_id
        self.db = db
        self.clock = clock
        self.config = config
        self.client = SmppClient(self.config, self, label=account_id)
        self.refs = References()
        self.addr = Addressing(
            self.config.source_ton,
            self.config.source_npi,
            self.config.dest_ton,
            self.config.dest_npi,
            self.config.registered_delivery,
            self.config.concat,
            self.config.service_type,
        )
        self.sink: Sink | None = None
        self._queue: list[tuple[receipts.Receipt, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        self.started = False
        # Orphan receipts recorded so far (counted in the writer thread). A submit can only
        # match orphans recorded after it began: a receipt never precedes its submit_sm, and
        # parts lost to a crash are sent again under new ids. So `submit` skips the orphan
        # lookup, the costliest part of storing ids, unless this moved while it was out.
        self._orphans_seen = 0
        self.collisions = 0  # ids the SMSC reused while their first part still waited
        self._sweeper: asyncio.Task | None = None

    async def start(self, sink: Sink) -> None:
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
                parts, orphans = await self.db.write(
                    sweep, self.account_id, wall_ms(), self.config.receipt_wait, self.sink, self.clock.now_ms()
                )
                if parts or orphans:
                    log.info(
                        "%s: forgot %d part ids past receipt_wait and %d stale orphan receipts",
                        self.account_id,
                        parts,
                        orphans,
                    )
            except Exception:  # noqa: BLE001 - retried at the next sweep
                log.exception("smpp sweep failed for %s", self.account_id)
            # at least twice per receipt_wait, so a short wait is kept to (within half of it)
            await asyncio.sleep(min(SWEEP_EVERY, self.config.receipt_wait / 2))

    def status(self) -> dict[str, Any]:
        up, configured = self.client.bound(), len(self.client.binds)
        return {
            "ready": up > 0,
            "binds_up": up,
            "binds": configured,
            "smsc": f"{self.config.host}:{self.config.port}",
            "window_in_use": sum(b.inflight for b in self.client.binds),
            "events": dict(self.client.stats),
        }

    async def wait_ready(self, timeout: float) -> bool:
        """Whether a bind is up (waiting up to `timeout` s): the dispatcher claims nothing before."""
        return await self.client.wait_bound(timeout)

    # out ---------------------------------------------------------------------------------
    def _parts(self, m: Outbound) -> list[dict]:
        if m.type == "mt_binary":
            return build(
                m.msisdn,
                m.sender or "",
                None,
                "text",
                binary=base64.b64decode(m.text),
                udh=bytes.fromhex(m.udh or ""),
                refs=self.refs,
                addr=self.addr,
                source_ton=m.from_ton,
                source_npi=m.from_npi,
            )
        text = m.text if m.type == "mt_text" else "\n".join(x for x in (m.text, (m.media or {}).get("url")) if x)
        return build(
            m.msisdn,
            m.sender or "",
            text,
            m.encoding,
            flash=m.flash,
            refs=self.refs,
            addr=self.addr,
            source_ton=m.from_ton,
            source_npi=m.from_npi,
        )

    async def submit(self, messages: list[Outbound]) -> list[Accepted | Refused]:
        if not self.client.bound():
            raise ConnectionError("no SMPP bind is up")
        plans = [(m, self._parts(m)) for m in messages]
        flat = [f for _, ps in plans for f in ps]
        orphans_before = self._orphans_seen
        results = await self.client.submit(flat)
        out: list[Accepted | Refused] = []
        rows: list[idmap.Part] = []
        i = 0
        for m, ps in plans:
            mine = results[i : i + len(ps)]
            i += len(ps)
            failed = next((r for r in mine if r.status != 0 or not r.message_id), None)
            if failed is not None:
                # Sinch reports an SMSC's refusal as Rejected, code 408 ("SMSC rejected"); the
                # SMPP command_status goes to the log.
                log.info("submit refused for %s: command_status 0x%02x", m.msisdn, failed.status)
                out.append(Refused(m.recipient_id, "Rejected", 408))
                continue
            out.append(Accepted(m.recipient_id))
            rows += [
                idmap.Part(
                    receipts.id_keys(r.message_id or "")[0],
                    m.recipient_id,
                    n,
                    len(ps),
                    r.message_id or "",
                    r.sequence,
                    udh_of(f),
                )
                for n, (r, f) in enumerate(zip(mine, ps, strict=True), 1)
            ]
        if rows:
            await self.db.write(self._store, rows, orphans_before)
        return out

    def _store(self, tx: Tx, rows: list[idmap.Part], orphans_before: int) -> None:
        collisions = idmap.store_parts(tx, self.account_id, rows, wall_ms())
        if collisions:
            self.collisions += collisions
            log.warning(
                "%s: the SMSC reused %d message ids of parts still waiting for a receipt (restarted?); "
                "receipts go to the part closest in submit time",
                self.account_id,
                collisions,
            )
        if self._orphans_seen == orphans_before:
            return
        keys = {alt: p.message_key for p in rows for alt in receipts.id_keys(p.message_key)}
        matched = idmap.take_orphans(tx, self.account_id, keys)
        if matched:
            stored = idmap.lookup(tx, self.account_id, {keys[o.message_key] for o in matched})
            found = []
            for o in matched:
                part = idmap.best_match(stored[keys[o.message_key]], None)  # the newest: just stored
                found.append(
                    (
                        part.id,
                        receipts.Receipt(o.message_key, o.state, o.err or 0, o.done_at),
                        part.recipient_id,
                        part.total,
                    )
                )
            self._apply(tx, found, self.clock.now_ms())

    # receipts ------------------------------------------------------------------------------
    def queue_receipt(self, r: receipts.Receipt) -> asyncio.Future | None:
        """Queue a receipt for the next batch write; the future is done once it is committed
        (the client answers the deliver_sm then, so an SMSC resends what we could not store)."""
        if not r.final:
            return None  # ENROUTE / ACCEPTD: the recipient stays Dispatched
        fut = asyncio.get_running_loop().create_future()
        self._queue.append((r, fut))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name=f"smpp-receipts:{self.account_id}")
        return fut

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
                if self.sink is not None:
                    self.sink.receipts_applied()
        finally:
            self._flusher = None

    def _receipts(self, tx: Tx, items: list[receipts.Receipt], now: int) -> None:
        stored = idmap.lookup(tx, self.account_id, (k for r in items for k in r.keys))
        matched, orphans = [], []
        for r in items:
            candidates = [c for k in r.keys for c in stored.get(k, ())]
            if candidates:
                part = idmap.best_match(sorted(candidates, key=lambda c: -c.id), r.submit_at, r.source)
                matched.append((part.id, r, part.recipient_id, part.total))
            else:
                orphans.append(idmap.Orphan(r.keys[0], r.state, r.err, r.done_at))
        if orphans:
            idmap.record_orphans(tx, self.account_id, orphans, wall_ms())
            self._orphans_seen += len(orphans)
        if matched:
            self._apply(tx, matched, now)

    def _apply(self, tx: Tx, matched: list[tuple[int, receipts.Receipt, int, int]], now: int) -> None:
        """Mark parts done; recipients whose parts are all done get their final status.

        `matched` is (part row id, receipt, recipient id, total parts). A one-part message is
        final with its receipt; only multipart recipients need their other parts read back (a
        part number counts as done when any copy of it is: a message sent again after a lost
        response has two)."""
        idmap.mark_done(tx, [(pid, r.state, r.err, r.done_at or now) for pid, r, _, _ in matched])
        finals = []
        for _, r, rid, total in matched:
            if total == 1:
                status, code = r.sinch()
                finals.append(EngineReceipt(rid, status, code, r.done_at or now))
        multipart = [rid for _, _, rid, total in matched if total > 1]
        for rid, parts in idmap.parts_of(tx, multipart).items():
            done = list({p.part: p for p in parts if p.state is not None}.values())
            if len(done) < parts[0].total:
                continue
            bad = next((p for p in done if p.state != "DELIVRD"), done[0])
            status, code = receipts.Receipt("", bad.state or "UNKNOWN", bad.err or 0, None).sinch()
            finals.append(EngineReceipt(rid, status, code, max(p.done_at or now for p in done)))
        if finals and self.sink is not None:
            self.sink.apply_receipts(tx, finals, now)

    # inbound ---------------------------------------------------------------------------------
    async def on_mo(self, m: InboundSms) -> None:
        if m.text is not None:
            mo = Inbound(sender=m.source, recipient=m.destination, body=m.text, account_id=self.account_id)
        else:
            mo = Inbound(
                sender=m.source,
                recipient=m.destination,
                body=base64.b64encode(m.binary or b"").decode(),
                type="mo_binary",
                udh=(m.udh or b"").hex(),
                account_id=self.account_id,
            )
        if self.sink is not None:
            await self.sink.inbound(mo)
