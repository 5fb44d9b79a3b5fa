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
from collections import deque
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


class _Fields:
    """A submit_sm's fields and TLVs, split once (a part sent again reuses them)."""

    __slots__ = ("body", "tlvs")

    def __init__(self, f: dict) -> None:
        self.tlvs = f.get("_tlvs") or {}
        self.body = {k: v for k, v in f.items() if k != "_tlvs"}


class _Call:
    """One `submit()` call: its results, filled in as responses come, and the future it awaits."""

    __slots__ = ("results", "left", "fut")

    def __init__(self, n: int, fut: asyncio.Future) -> None:
        self.results: list[SubmitResult | None] = [None] * n
        self.left = n
        self.fut = fut

    def done(self, index: int, r: SubmitResult) -> None:
        if self.results[index] is None:
            self.results[index] = r
            self.left -= 1
            if self.left == 0 and not self.fut.done():
                self.fut.set_result(self.results)

    def fail(self, e: BaseException) -> None:
        if not self.fut.done():
            self.fut.set_exception(e)


class _Part:
    __slots__ = ("call", "index", "fields", "sent", "order")
    _next = 0

    def __init__(self, call: _Call, index: int, f: dict) -> None:
        self.call = call
        self.index = index
        self.fields = _Fields(f)
        self.sent = False
        _Part._next += 1
        self.order = _Part._next  # queue position, kept when the part is sent again


class _Bind:
    """One bind slot: a transceiver session, or a transmitter + receiver pair."""

    def __init__(self, client: SmppClient, index: int) -> None:
        self.client = client
        self.index = index
        self.tx: Session | None = None
        self.sessions: list[Session] = []
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
        self._queue: deque[_Part] = deque()  # parts waiting for a window slot, FIFO
        self._retry: list[_Part] = []  # parts to send again (throttled, timed out, link lost)
        self._timer: asyncio.TimerHandle | None = None  # a _pump waiting for a pause or the cap
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
        for part in [*self._queue, *self._retry]:  # never sent: the caller puts them back in its queue
            part.call.fail(SessionClosed("client stopping"))
        self._queue.clear()
        self._retry = []
        await asyncio.gather(*(b.unbind() for b in self.binds), return_exceptions=True)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def bound(self) -> int:
        return sum(1 for b in self.binds if b.ready.is_set())

    def _bound_changed(self) -> None:
        if self.bound():
            self._any_bound.set()
            self._pump()  # parts queued while no bind was up
        else:
            self._any_bound.clear()

    async def wait_bound(self, timeout: float | None = None) -> bool:
        return await wait_event(self._any_bound, timeout)

    def _free(self) -> _Bind | None:
        """A bound, open bind with a free window slot and no throttling pause: the least loaded,
        round robin among equals; None if there is none now."""
        if len(self.binds) == 1:  # the usual case, on the path of every submit_sm
            b = self.binds[0]
            ok = b.tx is not None and b.inflight < self.config.window and not b.tx.closed.is_set()
            return b if ok and b.ready.is_set() and b.resume_at <= asyncio.get_running_loop().time() else None
        now = asyncio.get_running_loop().time()
        ready = [
            b
            for b in self.binds
            if b.ready.is_set()
            and b.tx is not None
            and not b.tx.closed.is_set()
            and b.inflight < self.config.window
            and b.resume_at <= now
        ]
        if not ready:
            return None
        self._rr = (self._rr + 1) % len(ready)
        return min(ready[self._rr :] + ready[: self._rr], key=lambda b: b.inflight)

    async def submit(self, parts: list[dict]) -> list[SubmitResult]:
        """Send submit_sm field sets, in order; wait for each response (resending as needed).

        Parts join one FIFO queue per client; `_pump` sends from it while a bind has a free
        window slot, and each response's callback frees its slot and sends the next part in the
        same loop turn (the writes of a turn leave in one socket write). No task per part and
        no semaphore: a slot is reused one loop turn after its response is read, not three."""
        if self.stopping:
            raise SessionClosed("client stopping")
        if not parts:
            return []
        call = _Call(len(parts), asyncio.get_running_loop().create_future())
        self._queue.extend(_Part(call, i, f) for i, f in enumerate(parts))
        self._pump()
        return await call.fut

    def _pump(self) -> None:
        """Send queued parts while a window slot is free; when the queue must wait (every bind
        busy, paused or down, or the throughput cap), a response, a bind coming up, or a timer
        calls this again."""
        if self._retry:  # parts sent again go first, in the order they were queued
            self._retry.sort(key=lambda p: p.order)
            self._queue.extendleft(reversed(self._retry))
            self._retry = []
        q = self._queue
        loop = asyncio.get_running_loop()
        while q:
            part = q[0]
            if part.call.fut.done():  # its caller was cancelled (the engine stopping)
                q.popleft()
                continue
            b = self._free()
            if b is None:
                now = loop.time()
                paused = [
                    x.resume_at
                    for x in self.binds
                    if x.ready.is_set() and x.inflight < self.config.window and x.resume_at > now
                ]
                if paused:  # the binds with room are throttled: try again when the first resumes
                    self._wake_at(min(paused))
                return  # else a response or a bind coming up pumps again
            if self.bucket is not None and not self.bucket.take(1):
                self._wake_at(loop.time() + self.bucket.wait_time())
                return
            q.popleft()
            self._send(b, part, loop)

    def _wake_at(self, when: float) -> None:
        if self._timer is not None:
            if self._timer.when() <= when:
                return
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(when, self._woken)

    def _woken(self) -> None:
        self._timer = None
        self._pump()

    def _send(self, b: _Bind, part: _Part, loop: asyncio.AbstractEventLoop) -> None:
        tx = b.tx
        assert tx is not None  # checked by _free
        f = part.fields
        if part.sent:
            self.stats["resent"] += 1
        part.sent = True
        self.stats["submitted"] += 1
        b.inflight += 1
        sent_at = loop.time()

        def answered(outcome: pdu.Pdu | BaseException) -> None:
            b.inflight -= 1
            self._answered(b, tx, part, sent_at, outcome)

        try:
            tx.request_callback(
                pdu.Pdu(pdu.SUBMIT_SM, fields=f.body, tlvs=dict(f.tlvs)), self.config.response_timeout, answered
            )
        except SessionClosed:
            b.inflight -= 1
            self._retry.append(part)

    def _answered(self, b: _Bind, tx: Session, part: _Part, sent_at: float, outcome: pdu.Pdu | BaseException) -> None:
        loop = asyncio.get_running_loop()
        if isinstance(outcome, BaseException):
            if isinstance(outcome, TimeoutError) and not tx.closed.is_set():
                log.warning("submit_sm response timeout on %s: reconnecting", tx.name)
                tx.close()  # fails the rest in flight on this bind: all go back to the queue
            self._again(part)
        else:
            metrics.observe_into(self.latency, metrics.SMPP_SUBMIT_SECONDS.buckets, loop.time() - sent_at)
            if outcome.status == pdu.ESME_ROK:
                b.pause = 0.0
                self.stats["accepted"] += 1
                part.call.done(part.index, SubmitResult(outcome.get("message_id"), 0, outcome.sequence))
            elif outcome.status in (pdu.ESME_RTHROTTLED, pdu.ESME_RMSGQFUL):
                self.stats["throttled"] += 1
                b.pause = min(30.0, b.pause * 2 or 1.0)
                b.resume_at = loop.time() + b.pause
                self._again(part)
            else:
                self.stats["errors"] += 1
                part.call.done(part.index, SubmitResult(None, outcome.status))
        self._pump()

    def _again(self, part: _Part) -> None:
        if self.stopping:
            part.call.fail(SessionClosed("client stopping"))
        else:
            self._retry.append(part)

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
