"""How one outbound message went, for its detail in the web UI (`GET /simulator/messages/{id}`):
its timeline and the parts it was sent as, rendered from what the store keeps (the recipient
row, its handset copy, its SMPP parts).

Times on the engine clock (accepted, queued, the handset landing, statuses) and the SMPP
connector's (each submit_sm and part receipt: wall-clock, like the SMSC's) differ under
`--clock manual`; the steps stay in the order things happen, whatever their times say.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from msgspec import Struct

from ..sms import codes, dates, encoding
from ..sms.objects import Timestamp
from ..store import smpp


class CodeMeaning(Struct):
    name: str
    family: str  # sinch | routing | screening | esme | internal | smsc | hlr | msc | esme external | ...
    permanent: bool | None  # sending it again cannot help (true) / may (false); null: not a failure


class Step(Struct, kw_only=True, omit_defaults=True):
    # accepted | queued | submitted (one submit_sm) | dispatched | receipt | status
    step: str
    at: Timestamp | None
    connector: str | None = None  # simulator | smpp (submitted, dispatched, receipt)
    part: int | None = None  # submitted, receipt of one SMPP part: its number ...
    parts: int | None = None  # ... of this many
    message_id: str | None = None  # the SMSC's id for the part
    sequence: int | None = None  # the submit_sm's sequence_number
    state: str | None = None  # receipt: the SMSC's stat (DELIVRD, UNDELIV, ...)
    err: int | None = None  # receipt: its err
    status: str | None = None  # status: the message's status ...
    code: int | None = None  # ... and code ...
    meaning: CodeMeaning | None = None  # ... and what the code means
    final: bool | None = None


class Part(Struct):
    text: str | None  # null for a binary message
    units: int  # GSM-7 septets (an extension character takes two), UCS-2 code units, or bytes
    unit: str  # septets | ucs2 | bytes
    udh: str | None  # hex: the User Data Header it carries (concatenation, a binary message's own)


def meaning(code: int, status: str | None = None) -> CodeMeaning:
    m = codes.meaning(code, status)
    return CodeMeaning(m.name, m.family, m.permanent)


def _at(ms: int | None) -> str | None:
    return None if ms is None else dates.format(ms)


def _part_step(step: str, s: smpp.Submitted, at: int | None, **extra: Any) -> Step:
    return Step(step=step, at=_at(at), connector="smpp", part=s.part, parts=s.total, message_id=s.message_id, **extra)


def timeline(r: Any, submits: list[smpp.Submitted]) -> list[Step]:
    steps = [Step(step="accepted", at=dates.format(r.accepted_at)), Step(step="queued", at=dates.format(r.created_at))]
    for s in submits:
        steps.append(_part_step("submitted", s, s.submitted_at, sequence=s.sequence))
    if submits:
        steps.append(Step(step="dispatched", at=_at(max(s.submitted_at for s in submits)), connector="smpp"))
        for s in sorted((s for s in submits if s.state is not None), key=lambda s: (s.done_at or 0, s.part)):
            steps.append(_part_step("receipt", s, s.done_at, state=s.state, err=s.err))
    elif r.received_at is not None:
        steps.append(Step(step="dispatched", at=dates.format(r.received_at), connector="simulator"))
        if r.operator_status_at is not None and r.final:
            steps.append(Step(step="receipt", at=dates.format(r.operator_status_at), connector="simulator"))
    steps.append(
        Step(
            step="status",
            at=dates.format(r.status_at),
            status=r.status,
            code=r.code,
            meaning=meaning(r.code, r.status),
            final=bool(r.final),
        )
    )
    return steps


def _bits(submits: list[smpp.Submitted]) -> int:
    """16 when the SMPP parts carried 16-bit concatenation references (UDH IE 0x08), else 8."""
    for s in submits:
        if s.udh and len(s.udh) >= 4 and s.udh[2:4] == "08":
            return 16
    return 8


def parts(r: Any, body: str | None, enc: str | None, submits: list[smpp.Submitted]) -> list[Part] | None:
    """The parts the message was sent as, each with its size and UDH; null for media, or text
    whose encoding is not known yet (before dispatch).

    A part's UDH is the one its submit_sm carried over SMPP (none with SAR concatenation: TLVs
    carry it). The handset simulator cuts no PDUs: its parts carry the header a network would,
    with the recipient id (mod 256) as the concatenation reference. A message whose connector
    left no record (swept) shows none."""
    if r.type == "mt_binary":
        udh = r.udh or next((s.udh for s in submits if s.udh), None)
        return [Part(None, _byte_count(body), "bytes", udh)]
    if r.type != "mt_text" or body is None or enc not in (encoding.TEXT, encoding.UNICODE):
        return None
    sent = {s.part: s for s in reversed(submits)}  # the first submit of each part number
    bits = _bits(submits)
    multi = None
    if bits == 16:  # a 16-bit reference leaves one unit less per part (connectors/smpp/parts.py)
        multi = encoding.GSM_MULTI - 1 if enc == encoding.TEXT else encoding.UCS2_MULTI - 1
    segments = encoding.split(body, enc, multi=multi)
    n = len(segments)
    out = []
    for i, text in enumerate(segments, 1):
        udh = None
        if n > 1:
            s = sent.get(i)
            if s is not None:
                udh = s.udh
            elif not submits and r.received_at is not None:
                udh = encoding.concat_udh(r.id % 256, n, i).hex()
        out.append(Part(text, encoding.units(text, enc), "septets" if enc == encoding.TEXT else "ucs2", udh))
    return out


def _byte_count(b64: str | None) -> int:
    try:
        return len(base64.b64decode(b64 or "", validate=True))
    except (binascii.Error, ValueError):
        return 0
