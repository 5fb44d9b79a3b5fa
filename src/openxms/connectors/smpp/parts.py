"""One message -> submit_sm field sets (encoding, concatenation, flash, binary), and MO
reassembly the other way.

Text is GSM-7 (unpacked septets, data_coding 0, extension table by escape) or UCS-2
(data_coding 8); flash messages use message class 0 (data_coding 0x10 / 0x18). Long text is
cut by `sms.encoding.split` (never inside an escape or surrogate pair) and each part carries
a concatenation header: UDH IE 0x00 with an 8-bit reference (default), IE 0x08 with a 16-bit
reference, or the SAR TLVs. References are allocated per destination, so two long messages to
the same handset in flight never share one (until 256 / 65536 later).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

from ...sms import encoding
from . import pdu

DC_GSM, DC_LATIN1, DC_BINARY, DC_UCS2 = 0x00, 0x03, 0x04, 0x08
DC_FLASH = {DC_GSM: 0x10, DC_UCS2: 0x18}


@dataclass
class Addressing:
    source_ton: int | None = None  # None: guessed from the address
    source_npi: int | None = None
    dest_ton: int = 1
    dest_npi: int = 1
    registered_delivery: int = 1
    concat: str = "udh8"  # udh8 | udh16 | sar
    service_type: str = ""


def guess_source_ton_npi(source: str) -> tuple[int, int]:
    """International number 1/1, short code 3/0, alphanumeric 5/0 (what carriers expect)."""
    if source.isdigit():
        return (1, 1) if len(source) > 8 else (3, 0)
    return 5, 0


class References:
    """Concatenation reference numbers, one counter per destination."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def next(self, destination: str, bits: int = 8) -> int:
        n = self._next.get(destination, 0) + 1
        self._next[destination] = n
        if len(self._next) > 100_000:
            self._next.clear()
        return n % (1 << bits) or 1


def udh_of(fields: dict) -> str | None:
    """The UDH (hex) a part built by `build` carries, None without one."""
    sm = fields.get("short_message") or b""
    if not fields.get("esm_class", 0) & pdu.ESM_UDHI or not sm:
        return None
    return sm[: 1 + sm[0]].hex()


def build(
    destination: str,
    source: str,
    text: str | None,
    enc: str,
    *,
    binary: bytes | None = None,
    udh: bytes | None = None,
    flash: bool = False,
    refs: References,
    addr: Addressing,
    source_ton: int | None = None,
    source_npi: int | None = None,
    validity: str = "",
) -> list[dict]:
    """The submit_sm `fields` (plus a `_tlvs` entry) for each part of one message."""
    ton, npi = guess_source_ton_npi(source)
    ton = source_ton if source_ton is not None else addr.source_ton if addr.source_ton is not None else ton
    npi = source_npi if source_npi is not None else addr.source_npi if addr.source_npi is not None else npi
    common = {
        "service_type": addr.service_type,
        "source_addr_ton": ton,
        "source_addr_npi": npi,
        "source_addr": source,
        "dest_addr_ton": addr.dest_ton,
        "dest_addr_npi": addr.dest_npi,
        "destination_addr": destination,
        "registered_delivery": addr.registered_delivery,
        "validity_period": validity,
    }
    if binary is not None:
        header = udh or b""
        return [
            {
                **common,
                "esm_class": pdu.ESM_UDHI if header else 0,
                "data_coding": DC_BINARY,
                "short_message": header + binary,
                "_tlvs": {},
            }
        ]
    dc = DC_GSM if enc == encoding.TEXT else DC_UCS2
    if flash:
        dc = DC_FLASH[dc]
    bits = 16 if addr.concat == "udh16" else 8
    multi = None
    if addr.concat == "udh16":
        multi = 152 if enc == encoding.TEXT else 66
    segments = encoding.split(text or "", enc, multi=multi)
    payloads = [encoding.gsm7_encode(s) if enc == encoding.TEXT else encoding.ucs2_encode(s) for s in segments]
    if len(payloads) == 1:
        return [{**common, "esm_class": 0, "data_coding": dc, "short_message": payloads[0], "_tlvs": {}}]
    ref = refs.next(destination, 16 if addr.concat in ("udh16", "sar") else 8)
    total = len(payloads)
    out = []
    for seq, body in enumerate(payloads, 1):
        if addr.concat == "sar":
            tlvs = {
                pdu.TLV_SAR_MSG_REF_NUM: ref.to_bytes(2, "big"),
                pdu.TLV_SAR_TOTAL_SEGMENTS: bytes([total]),
                pdu.TLV_SAR_SEGMENT_SEQNUM: bytes([seq]),
            }
            out.append({**common, "esm_class": 0, "data_coding": dc, "short_message": body, "_tlvs": tlvs})
        else:
            out.append(
                {
                    **common,
                    "esm_class": pdu.ESM_UDHI,
                    "data_coding": dc,
                    "short_message": encoding.concat_udh(ref, total, seq, bits) + body,
                    "_tlvs": {},
                }
            )
    return out


def parse_udh(data: bytes) -> tuple[bytes, bytes, tuple[int, int, int] | None]:
    """(udh, payload, (ref, total, seq) if it holds a concatenation IE)."""
    if not data:
        return b"", b"", None
    n = data[0]
    header, payload = data[: 1 + n], data[1 + n :]
    i, concat = 1, None
    while i + 1 < len(header):
        iei, ln = header[i], header[i + 1]
        v = header[i + 2 : i + 2 + ln]
        if iei == 0x00 and ln == 3:
            concat = (v[0], v[1], v[2])
        elif iei == 0x08 and ln == 4:
            concat = ((v[0] << 8) | v[1], v[2], v[3])
        i += 2 + ln
    return header, payload, concat


@dataclass
class InboundSms:
    """A mobile-originated message, reassembled."""

    source: str
    destination: str
    text: str | None  # decoded text, or None for binary
    binary: bytes | None = None
    udh: bytes | None = None
    data_coding: int = 0
    parts: int = 1


def decode_text(data_coding: int, payload: bytes) -> str | None:
    """Text for the text data codings, None for binary ones (0x02, 0x04, 8-bit classes)."""
    dc = data_coding
    if dc == 0x00 or 0xF0 <= dc <= 0xF3 or (0x10 <= dc <= 0x1F and dc & 0x0C == 0x00):
        return encoding.gsm7_decode(payload)
    if dc in (0x01, DC_LATIN1):
        return payload.decode("latin-1")
    if dc == DC_UCS2 or (0x10 <= dc <= 0x1F and dc & 0x0C == 0x08):
        return encoding.ucs2_decode(payload)
    return None


@dataclass
class _Pending:
    parts: dict[int, bytes] = field(default_factory=dict)
    first_seen: float = field(default_factory=time.monotonic)


class Reassembler:
    """Collects MO parts (UDH 8/16-bit or SAR) until a message is whole; parts can come in any order."""

    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout
        self._pending: dict[tuple, _Pending] = {}

    def feed(self, p: pdu.Pdu) -> InboundSms | None:
        self._expire()
        sm = p.fields.get("short_message") or p.tlvs.get(pdu.TLV_MESSAGE_PAYLOAD) or b""
        dc = p.get("data_coding")
        src, dst = p.get("source_addr"), p.get("destination_addr")
        concat, udh = None, None
        if p.get("esm_class") & pdu.ESM_UDHI:
            udh, sm, concat = parse_udh(sm)
        elif pdu.TLV_SAR_MSG_REF_NUM in p.tlvs:
            concat = (
                pdu.tlv_int(p, pdu.TLV_SAR_MSG_REF_NUM) or 0,  # present: tested above
                pdu.tlv_int(p, pdu.TLV_SAR_TOTAL_SEGMENTS) or 1,
                pdu.tlv_int(p, pdu.TLV_SAR_SEGMENT_SEQNUM) or 1,
            )
        if concat is None or concat[1] <= 1:
            return self._message(src, dst, dc, sm, udh, 1)
        ref, total, seq = concat
        key = (src, dst, ref, total)
        entry = self._pending.setdefault(key, _Pending())
        entry.parts[seq] = sm
        if len(entry.parts) < total:
            return None
        del self._pending[key]
        whole = b"".join(entry.parts[i] for i in sorted(entry.parts))
        return self._message(src, dst, dc, whole, None, total)

    @staticmethod
    def _message(src: str, dst: str, dc: int, payload: bytes, udh: bytes | None, parts: int) -> InboundSms:
        text = decode_text(dc, payload)
        if text is None:
            return InboundSms(src, dst, None, payload, udh or b"", dc, parts)
        return InboundSms(src, dst, text, None, None, dc, parts)

    def _expire(self) -> None:
        if not self._pending:
            return
        limit = time.monotonic() - self.timeout
        for key in [k for k, v in self._pending.items() if v.first_seen < limit]:
            del self._pending[key]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
