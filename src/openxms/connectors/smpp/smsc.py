"""The bundled SMSC simulator (`openxms smsc`): a carrier on localhost.

Accepts binds (system_id and password checked), answers submit_sm with message ids, sends
delivery receipts after the outcome rules' delay (the same rules and magic numbers as the
handset simulator: `connectors/outcomes.py`), and can inject MO messages. Faults on demand:
response latency (per PDU, without blocking the reader, so an ESME's window is really
exercised), throttling (ESME_RTHROTTLED), dropping the connection after N submits, receipts
sent before the submit_sm_resp, and ids in hex, decimal or mixed (hex in the response,
decimal in the receipt).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field

from ...sms import encoding
from ..outcomes import OutcomeRules
from . import pdu, receipts
from .parts import Addressing, References, build
from .session import Session

log = logging.getLogger("openxms.smsc")


@dataclass
class SmscOptions:
    host: str = "127.0.0.1"
    port: int = 2775
    users: dict[str, str] = field(default_factory=lambda: {"openxms": "secret"})  # system_id -> password
    id_format: str = "hex"  # hex | decimal | mixed
    latency_ms: float = 0.0  # submit_sm_resp delay
    throttle_every: int = 0  # every Nth submit_sm is answered ESME_RTHROTTLED
    drop_after: int = 0  # drop the connection after this many submit_sm (0 = never)
    receipts_first: bool = False
    receipt_delay_ms: int | None = None  # overrides the rules' delay when set
    rules: OutcomeRules = field(default_factory=OutcomeRules)


class Smsc:
    def __init__(self, options: SmscOptions | None = None) -> None:
        self.o = options or SmscOptions()
        self.server: asyncio.Server | None = None
        self.sessions: set[Session] = set()
        self._ids = itertools.count(0x10000000)
        self._submits = 0
        self.refs = References()
        self.undelivered: list[tuple[str, pdu.Pdu]] = []  # receipts/MO waiting for a receiver bind
        self.stats = {
            "binds": 0,
            "bind_failures": 0,
            "submits": 0,
            "receipts": 0,
            "mo": 0,
            "throttled": 0,
            "drops": 0,
            "max_inflight": 0,
            "redelivered": 0,
            "acked": 0,
            "enquire_links": 0,
            "unbinds": 0,
        }
        self.received: list[pdu.Pdu] = []  # every accepted submit_sm, for tests
        self._inflight = 0

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1] if self.server else self.o.port

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, self.o.host, self.o.port)

    async def stop(self) -> None:
        for s in list(self.sessions):
            s.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        s: Session
        s = Session(reader, writer, lambda p: self._on_request(s, p), "smsc")
        self.sessions.add(s)
        try:
            await s.run()
        finally:
            self.sessions.discard(s)

    # requests ----------------------------------------------------------------------------
    def _on_request(self, s: Session, p: pdu.Pdu):
        cid = p.command_id
        if cid in (pdu.BIND_TRANSMITTER, pdu.BIND_RECEIVER, pdu.BIND_TRANSCEIVER):
            return self._bind(s, p)
        if cid == pdu.ENQUIRE_LINK:
            self.stats["enquire_links"] += 1
            return pdu.response(p)
        if cid == pdu.UNBIND:
            self.stats["unbinds"] += 1
            return pdu.response(p)
        if cid == pdu.SUBMIT_SM:
            return self._submit(s, p)
        return pdu.Pdu(pdu.GENERIC_NACK, p.sequence, pdu.ESME_RINVCMDID)

    def _bind(self, s: Session, p: pdu.Pdu) -> pdu.Pdu:
        if s.info.get("mode"):
            return pdu.response(p, pdu.ESME_RALYBND)
        system_id, password = p.get("system_id"), p.get("password")
        if system_id not in self.o.users:
            self.stats["bind_failures"] += 1
            return pdu.response(p, pdu.ESME_RINVSYSID)
        if self.o.users[system_id] != password:
            self.stats["bind_failures"] += 1
            return pdu.response(p, pdu.ESME_RINVPASWD)
        s.info["mode"] = {pdu.BIND_TRANSMITTER: "tx", pdu.BIND_RECEIVER: "rx", pdu.BIND_TRANSCEIVER: "trx"}[
            p.command_id
        ]
        s.info["system_id"] = system_id
        self.stats["binds"] += 1
        if s.info["mode"] != "tx":
            asyncio.get_running_loop().call_soon(self._flush_undelivered, system_id)
        return pdu.response(p, system_id="openxms-smsc")

    def _submit(self, s: Session, p: pdu.Pdu):
        if s.info.get("mode") not in ("tx", "trx"):
            return pdu.response(p, pdu.ESME_RINVBNDSTS)
        self._submits += 1
        self.stats["submits"] += 1
        if self.o.drop_after and self._submits % self.o.drop_after == 0:
            self.stats["drops"] += 1
            s.close()  # no response: the ESME must resend after reconnecting
            return None
        if self.o.throttle_every and self._submits % self.o.throttle_every == 0:
            self.stats["throttled"] += 1
            return self._later(s, pdu.response(p, pdu.ESME_RTHROTTLED))
        dest = p.get("destination_addr")
        n = next(self._ids)
        outcome = self.o.rules.decide(dest, n)
        if outcome.throttled:
            self.stats["throttled"] += 1
            return self._later(s, pdu.response(p, pdu.ESME_RTHROTTLED))
        if not outcome.accept:
            return self._later(s, pdu.response(p, pdu.ESME_RSUBMITFAIL))
        self.received.append(p)
        resp_id = format(n, "x") if self.o.id_format in ("hex", "mixed") else str(n)
        receipt_id = str(n) if self.o.id_format in ("decimal", "mixed") else format(n, "x")
        if p.get("registered_delivery") & 0x03 and outcome.receipt:
            delay = self.o.receipt_delay_ms if self.o.receipt_delay_ms is not None else outcome.delay_ms
            state = outcome.smpp_state
            err = 0 if outcome.status == "Delivered" else outcome.code
            args = (
                s.info["system_id"],
                receipt_id,
                dest,
                p.get("source_addr"),
                state,
                err,
                self._text(p),
                int(time.time() * 1000),
            )  # the submit date the receipt reports
            if self.o.receipts_first:
                self._send_receipt(*args)
            else:
                asyncio.get_running_loop().call_later(
                    (delay + self.o.latency_ms) / 1000 + 0.001, self._send_receipt, *args
                )
        return self._later(s, pdu.response(p, message_id=resp_id))

    def _later(self, s: Session, resp: pdu.Pdu) -> pdu.Pdu | None:
        """Answer now, or `latency_ms` after the request was read, without holding up the next
        request: a timer writes the response itself (no task, no future per PDU). The delay
        counts from the read (`Session.last_activity` is the time of the read being dispatched),
        not from when this handler ran, so a client sees the latency asked for plus the loop's
        wake-up (epoll rounds a timeout up to the millisecond)."""
        if not self.o.latency_ms:
            return resp
        self._inflight += 1
        self.stats["max_inflight"] = max(self.stats["max_inflight"], self._inflight)
        asyncio.get_running_loop().call_at(s.last_activity + self.o.latency_ms / 1000, self._answer, s, resp)
        return None  # the session writes nothing now

    def _answer(self, s: Session, resp: pdu.Pdu) -> None:
        self._inflight -= 1
        if not s.closed.is_set():  # a closed link drops its answers
            s.write(resp)

    @staticmethod
    def _text(p: pdu.Pdu) -> str:
        sm = p.get("short_message") or b""
        if p.get("esm_class") & pdu.ESM_UDHI and sm:
            sm = sm[1 + sm[0] :]
        dc = p.get("data_coding")
        try:
            return encoding.ucs2_decode(sm) if dc in (8, 0x18) else encoding.gsm7_decode(sm)
        except Exception:  # noqa: BLE001
            return ""

    # outgoing deliver_sm ---------------------------------------------------------------------
    def _receiver(self, system_id: str) -> Session | None:
        for s in self.sessions:
            if s.info.get("system_id") == system_id and s.info.get("mode") in ("rx", "trx") and not s.closed.is_set():
                return s
        return None

    def _deliver(self, system_id: str, p: pdu.Pdu) -> None:
        """Send a deliver_sm to the ESME, and again until it is acknowledged.

        Like a carrier's SMSC: a receipt or MO whose deliver_sm_resp never came (the link
        dropped; TCP may discard what was in flight) or came with an error is queued and sent
        again on the next bind, so the ESME sees it at least once."""
        s = self._receiver(system_id)
        if s is None:
            self.undelivered.append((system_id, p))
            return
        fut = s.request_nowait(p)
        fut.add_done_callback(lambda f: self._acknowledged(system_id, p, f))

    def _acknowledged(self, system_id: str, p: pdu.Pdu, f: asyncio.Future) -> None:
        if f.cancelled() or f.exception() is not None:
            self.stats["redelivered"] += 1
            self._deliver(system_id, p)  # to another open bind, or kept for the next one
        elif f.result().status != pdu.ESME_ROK:
            self.stats["redelivered"] += 1
            asyncio.get_running_loop().call_later(1.0, self._deliver, system_id, p)
        else:
            self.stats["acked"] += 1

    def _flush_undelivered(self, system_id: str) -> None:
        waiting, self.undelivered = self.undelivered, []
        for sid, p in waiting:
            self._deliver(sid, p) if sid == system_id else self.undelivered.append((sid, p))

    def _send_receipt(
        self,
        system_id: str,
        message_id: str,
        handset: str,
        our_number: str,
        state: str,
        err: int,
        text: str,
        submit_ms: int | None = None,
    ) -> None:
        now = int(time.time() * 1000)
        body = receipts.format_text(message_id, state, err, now if submit_ms is None else submit_ms, now, text).encode(
            "latin-1", "replace"
        )
        p = pdu.Pdu(
            pdu.DELIVER_SM,
            fields={
                "source_addr_ton": 1,
                "source_addr_npi": 1,
                "source_addr": handset,
                "dest_addr_ton": 1,
                "dest_addr_npi": 1,
                "destination_addr": our_number,
                "esm_class": pdu.ESM_RECEIPT,
                "short_message": body,
            },
            tlvs={
                pdu.TLV_RECEIPTED_MESSAGE_ID: message_id.encode() + b"\x00",
                pdu.TLV_MESSAGE_STATE: bytes([receipts.STATE_CODES[state]]),
                pdu.TLV_NETWORK_ERROR_CODE: bytes([3]) + err.to_bytes(2, "big"),
            },
        )
        self.stats["receipts"] += 1
        self._deliver(system_id, p)

    def inject_mo(self, source: str, destination: str, text: str, system_id: str | None = None) -> int:
        """A handset sends `text` (split and concatenated if long); returns the number of parts."""
        sid = system_id or next(iter(self.o.users))
        enc = encoding.detect(text)
        fields_list = build(destination, source, text, enc, refs=self.refs, addr=Addressing(registered_delivery=0))
        for f in fields_list:
            tlvs = f.pop("_tlvs")
            f["source_addr_ton"], f["source_addr_npi"] = 1, 1
            self._deliver(sid, pdu.Pdu(pdu.DELIVER_SM, fields=f, tlvs=tlvs))
        self.stats["mo"] += 1
        return len(fields_list)
