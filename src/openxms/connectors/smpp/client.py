"""The ESME side: binds to a carrier's SMSC, a window of submits in flight, and every fault
a long-lived carrier link sees.

- `binds` connections, each a transceiver or a transmitter + receiver pair, each kept up by
  its own loop: connect, bind, and on any failure reconnect with exponential back-off
  (`reconnect_delay` min..max, with jitter).
- Up to `window` submit_sm per bind without a response (Jasmin allows 1, Kannel 10 by
  default): throughput is about window / round-trip time, not 1 / round-trip time.
- `throughput` caps submits per second across all binds (token bucket).
- ESME_RTHROTTLED / ESME_RMSGQFUL pause that bind (1 s doubling to 30 s) and the same PDU is
  sent again. A response timeout or a dropped connection fails every submit in flight on
  that bind; they are sent again after the rebind. Delivery to the carrier is therefore
  *at least once*: a submit whose response was lost may reach the handset twice; none is lost.
- enquire_link every `enquire_link_interval` s (no answer: the link is dead, reconnect);
  the SMSC's enquire_link, deliver_sm and unbind are answered; `stop()` unbinds cleanly.
- deliver_sm: receipts go to `handler.queue_receipt`, MO (reassembled) to `handler.on_mo`; the
  deliver_sm_resp is sent only once the receipt is stored (or the MO handled), so an SMSC
  re-sends what we could not record.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from dataclasses import dataclass
from typing import Protocol

from ... import metrics
from ...aio import wait_event
from ...ratelimit import TokenBucket
from . import pdu, receipts
from .config import SmppConfig
from .parts import InboundSms, Reassembler
from .session import Session, SessionClosed

log = logging.getLogger("openxms.smpp.client")


@dataclass
class SubmitResult:
    message_id: str | None
    status: int  # command_status of submit_sm_resp (0 = accepted)
    sequence: int | None = None  # sequence_number of the submit_sm (and its response) accepted


class SmppHandler(Protocol):
    """What the client hands the deliver_sm it receives to (the connector)."""

    def queue_receipt(self, r: receipts.Receipt) -> asyncio.Future | None:
        """Take a delivery receipt; return a future done once it is stored (the deliver_sm_resp
        waits for it, and carries its error if storing failed), or None to answer at once."""
        ...

    async def on_mo(self, m: InboundSms) -> None:
        """A mobile-originated message, reassembled from its parts."""
        ...


class _Bind:
    """One bind slot: a transceiver session, or a transmitter + receiver pair."""

    def __init__(self, client: SmppClient, index: int) -> None:
        self.client = client
        self.index = index
        self.tx: Session | None = None
        self.sessions: list[Session] = []
        self.window = asyncio.Semaphore(client.config.window)
        self.ready = asyncio.Event()
        self.resume_at = 0.0
        self.pause = 0.0
        self.inflight = 0

    async def run(self) -> None:
        c = self.client.config
        delay = c.reconnect_min
        while not self.client.stopping:
            try:
                await self._connect_and_serve()
                delay = c.reconnect_min
            except (TimeoutError, OSError, SessionClosed, BindError) as e:
                log.warning("bind %d to %s:%d failed: %s", self.index, c.host, c.port, e)
            except Exception:  # noqa: BLE001 - never stop reconnecting
                log.exception("bind %d to %s:%d failed", self.index, c.host, c.port)
            self.ready.clear()
            self.tx = None
            for s in self.sessions:
                s.close()
            self.sessions = []
            if self.client.stopping:
                break
            self.client.stats["reconnects"] += 1
            await asyncio.sleep(delay * (0.75 + random.random() / 2))
            delay = min(c.reconnect_max, delay * 2)

    async def _open(self, command: int) -> Session:
        c = self.client.config
        ctx = None
        if c.tls:
            ctx = ssl.create_default_context()
            if not c.tls_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
        async with asyncio.timeout(c.response_timeout):
            reader, writer = await asyncio.open_connection(c.host, c.port, ssl=ctx)
        s = Session(reader, writer, self.client._on_request, f"{c.system_id}@{c.host}:{c.port}#{self.index}")
        s.info["reader"] = asyncio.ensure_future(s.run())
        resp = await s.request(
            pdu.Pdu(
                command,
                fields={
                    "system_id": c.system_id,
                    "password": c.password,
                    "system_type": c.system_type,
                    "interface_version": 0x34,
                },
            ),
            c.response_timeout,
        )
        if resp.status != pdu.ESME_ROK:
            s.close()
            raise BindError(f"bind refused with status 0x{resp.status:02x}")
        return s

    async def _connect_and_serve(self) -> None:
        c = self.client.config
        if c.bind_mode == "transceiver":
            s = await self._open(pdu.BIND_TRANSCEIVER)
            self.sessions, self.tx = [s], s
        else:
            tx = await self._open(pdu.BIND_TRANSMITTER)
            self.sessions = [tx]
            self.sessions.append(await self._open(pdu.BIND_RECEIVER))
            self.tx = tx
        self.ready.set()
        self.client._bound_changed()
        log.info("bind %d to %s:%d up (%s)", self.index, c.host, c.port, c.bind_mode)
        keepalive = asyncio.ensure_future(self._keepalive())
        watchers = [asyncio.ensure_future(s.closed.wait()) for s in self.sessions]
        try:
            await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
        finally:
            keepalive.cancel()
            for w in watchers:
                w.cancel()
            self.ready.clear()
            self.client._bound_changed()
            log.warning("bind %d to %s:%d down", self.index, c.host, c.port)

    async def _keepalive(self) -> None:
        c = self.client.config
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(c.enquire_link_interval)
            for s in self.sessions:
                if loop.time() - s.last_activity < c.enquire_link_interval / 2:
                    continue
                try:
                    await s.request(pdu.Pdu(pdu.ENQUIRE_LINK), c.response_timeout)
                except (TimeoutError, SessionClosed):
                    log.warning("enquire_link unanswered on %s: reconnecting", s.name)
                    s.close()

    async def unbind(self) -> None:
        for s in self.sessions:
            if s.closed.is_set():
                continue
            try:
                await s.request(pdu.Pdu(pdu.UNBIND), min(5.0, self.client.config.response_timeout))
            except (TimeoutError, SessionClosed):
                pass
            s.close()


class BindError(ConnectionError):
    pass


class SmppClient:
    def __init__(self, config: SmppConfig, handler: SmppHandler, label: str = "") -> None:
        self.config = config
        self.handler = handler
        self.binds: list[_Bind] = []
        self.stopping = False
        self.bucket = TokenBucket(config.throughput) if config.throughput > 0 else None
        self.reassembler = Reassembler()
        self._tasks: list[asyncio.Task] = []
        self._rr = 0
        self._any_bound = asyncio.Event()
        # submit_sm round trips, into the /metrics histogram of the plan (`label`)
        self.latency = metrics.SMPP_SUBMIT_SECONDS.child((label,))
        self.stats = {
            "submitted": 0,
            "accepted": 0,
            "errors": 0,
            "throttled": 0,
            "resent": 0,
            "reconnects": 0,
            "receipts": 0,
            "mo": 0,
        }

    async def start(self) -> None:
        self.binds = [_Bind(self, i) for i in range(self.config.binds)]
        self._tasks = [asyncio.create_task(b.run(), name=f"smpp-bind-{b.index}") for b in self.binds]

    async def stop(self) -> None:
        self.stopping = True
        await asyncio.gather(*(b.unbind() for b in self.binds), return_exceptions=True)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def bound(self) -> int:
        return sum(1 for b in self.binds if b.ready.is_set())

    def _bound_changed(self) -> None:
        if self.bound():
            self._any_bound.set()
        else:
            self._any_bound.clear()

    async def wait_bound(self, timeout: float | None = None) -> bool:
        return await wait_event(self._any_bound, timeout)

    async def _pick(self) -> _Bind:
        """A bound, open bind: least loaded first, round robin among equals."""
        while True:
            ready = [b for b in self.binds if b.ready.is_set() and b.tx is not None and not b.tx.closed.is_set()]
            if ready:
                self._rr = (self._rr + 1) % len(ready)
                return min(ready[self._rr :] + ready[: self._rr], key=lambda b: b.inflight)
            if self.stopping:
                raise SessionClosed("client stopping")
            # a bind is (re)connecting: wait for it (polling, since a link can die between checks)
            await wait_event(self._any_bound, 0.05)
            await asyncio.sleep(0.005)

    async def submit(self, parts: list[dict]) -> list[SubmitResult]:
        """Send submit_sm field sets; wait for each response (resending as needed)."""
        return list(await asyncio.gather(*(self._submit_one(f) for f in parts)))

    async def _submit_one(self, f: dict) -> SubmitResult:
        loop = asyncio.get_running_loop()
        tlvs = f.get("_tlvs") or {}
        body = {k: v for k, v in f.items() if k != "_tlvs"}
        first = True
        while True:
            if self.stopping:
                raise SessionClosed("client stopping")
            b = await self._pick()
            async with b.window:
                if not b.ready.is_set() or b.tx is None or b.tx.closed.is_set():
                    await asyncio.sleep(0.005)
                    continue
                wait = b.resume_at - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if self.bucket is not None:
                    while not self.bucket.take(1):
                        await asyncio.sleep(self.bucket.wait_time())
                if not first:
                    self.stats["resent"] += 1
                first = False
                self.stats["submitted"] += 1
                b.inflight += 1
                sent_at = loop.time()
                try:
                    resp = await b.tx.request(
                        pdu.Pdu(pdu.SUBMIT_SM, fields=body, tlvs=dict(tlvs)), self.config.response_timeout
                    )
                    metrics.observe_into(self.latency, metrics.SMPP_SUBMIT_SECONDS.buckets, loop.time() - sent_at)
                except TimeoutError:
                    log.warning("submit_sm response timeout on %s: reconnecting", b.tx.name)
                    b.tx.close()
                    continue
                except SessionClosed:
                    await asyncio.sleep(0.005)  # let the bind notice and reconnect
                    continue
                finally:
                    b.inflight -= 1
            if resp.status == pdu.ESME_ROK:
                b.pause = 0.0
                self.stats["accepted"] += 1
                return SubmitResult(resp.get("message_id"), 0, resp.sequence)
            if resp.status in (pdu.ESME_RTHROTTLED, pdu.ESME_RMSGQFUL):
                self.stats["throttled"] += 1
                b.pause = min(30.0, b.pause * 2 or 1.0)
                b.resume_at = loop.time() + b.pause
                continue
            self.stats["errors"] += 1
            return SubmitResult(None, resp.status)

    # requests from the SMSC ---------------------------------------------------------
    def _on_request(self, p: pdu.Pdu):
        if p.command_id == pdu.ENQUIRE_LINK:
            return pdu.response(p)
        if p.command_id in (pdu.DELIVER_SM, pdu.DATA_SM):
            r = receipts.from_pdu(p)
            if r is not None:  # no task per receipt: answered once it is stored
                self.stats["receipts"] += 1
                stored = self.handler.queue_receipt(r)
                resp = pdu.response(p, message_id="") if p.command_id == pdu.DELIVER_SM else pdu.response(p)
                if stored is None:
                    return resp
                out = asyncio.get_running_loop().create_future()

                def answer(f: asyncio.Future) -> None:
                    error = f.exception()
                    if error is not None:
                        out.set_exception(error)
                    else:
                        out.set_result(resp)

                stored.add_done_callback(answer)
                return out
            return self._deliver_mo(p)
        if p.command_id == pdu.UNBIND:
            return pdu.response(p)  # the session hangs up after answering; the bind loop reconnects
        if p.command_id in (pdu.ALERT_NOTIFICATION,):
            return None
        return pdu.Pdu(pdu.GENERIC_NACK, p.sequence, pdu.ESME_RINVCMDID)

    async def _deliver_mo(self, p: pdu.Pdu) -> pdu.Pdu:
        m = self.reassembler.feed(p)
        if m is not None:
            self.stats["mo"] += 1
            await self.handler.on_mo(m)
        return pdu.response(p, message_id="") if p.command_id == pdu.DELIVER_SM else pdu.response(p)
