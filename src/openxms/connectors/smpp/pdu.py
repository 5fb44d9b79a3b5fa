"""SMPP 3.4 PDUs: encode and decode.

A PDU is a header (length, command id, status, sequence) and a body of mandatory fields
in a fixed order (C-octet strings, single octets, the length-prefixed short message) followed
by optional TLVs. The field lists below are the spec's tables; `Pdu.fields` holds them by name
(strings for C-octet strings, ints for octets, bytes for `short_message`), `Pdu.tlvs` the
optional parameters as raw bytes by tag.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

HEADER = struct.Struct(">IIII")
MAX_PDU = 64 * 1024  # anything larger is a framing error, not a message

# command ids
GENERIC_NACK = 0x80000000
BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER = 0x00000001, 0x00000002, 0x00000009
QUERY_SM, SUBMIT_SM, DELIVER_SM, UNBIND = 0x00000003, 0x00000004, 0x00000005, 0x00000006
REPLACE_SM, CANCEL_SM, OUTBIND = 0x00000007, 0x00000008, 0x0000000B
ENQUIRE_LINK, SUBMIT_MULTI, ALERT_NOTIFICATION, DATA_SM = 0x00000015, 0x00000021, 0x00000102, 0x00000103
RESP = 0x80000000

NAMES = {
    GENERIC_NACK: "generic_nack",
    BIND_RECEIVER: "bind_receiver",
    BIND_TRANSMITTER: "bind_transmitter",
    BIND_TRANSCEIVER: "bind_transceiver",
    QUERY_SM: "query_sm",
    SUBMIT_SM: "submit_sm",
    DELIVER_SM: "deliver_sm",
    UNBIND: "unbind",
    REPLACE_SM: "replace_sm",
    CANCEL_SM: "cancel_sm",
    OUTBIND: "outbind",
    ENQUIRE_LINK: "enquire_link",
    SUBMIT_MULTI: "submit_multi",
    ALERT_NOTIFICATION: "alert_notification",
    DATA_SM: "data_sm",
}

# command status
ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RINVSRCADR = 0x0A
ESME_RINVDSTADR = 0x0B
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RSUBMITFAIL = 0x45
ESME_RTHROTTLED = 0x58
ESME_RUNKNOWNERR = 0xFF

# TLV tags
TLV_USER_MESSAGE_REFERENCE = 0x0204
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_SC_INTERFACE_VERSION = 0x0210
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
TLV_NETWORK_ERROR_CODE = 0x0423

# esm_class bits
ESM_UDHI = 0x40
ESM_RECEIPT = 0x04  # SMSC delivery receipt (deliver_sm)

_C, _B, _SM = "c", "b", "sm"
_BIND = [
    ("system_id", _C),
    ("password", _C),
    ("system_type", _C),
    ("interface_version", _B),
    ("addr_ton", _B),
    ("addr_npi", _B),
    ("address_range", _C),
]
_SUBMIT = [
    ("service_type", _C),
    ("source_addr_ton", _B),
    ("source_addr_npi", _B),
    ("source_addr", _C),
    ("dest_addr_ton", _B),
    ("dest_addr_npi", _B),
    ("destination_addr", _C),
    ("esm_class", _B),
    ("protocol_id", _B),
    ("priority_flag", _B),
    ("schedule_delivery_time", _C),
    ("validity_period", _C),
    ("registered_delivery", _B),
    ("replace_if_present_flag", _B),
    ("data_coding", _B),
    ("sm_default_msg_id", _B),
    ("short_message", _SM),
]
_DATA_SM = [
    ("service_type", _C),
    ("source_addr_ton", _B),
    ("source_addr_npi", _B),
    ("source_addr", _C),
    ("dest_addr_ton", _B),
    ("dest_addr_npi", _B),
    ("destination_addr", _C),
    ("esm_class", _B),
    ("registered_delivery", _B),
    ("data_coding", _B),
]
_ID = [("message_id", _C)]
_SYSTEM_ID = [("system_id", _C)]

BODIES: dict[int, list[tuple[str, str]]] = {
    BIND_RECEIVER: _BIND,
    BIND_TRANSMITTER: _BIND,
    BIND_TRANSCEIVER: _BIND,
    BIND_RECEIVER | RESP: _SYSTEM_ID,
    BIND_TRANSMITTER | RESP: _SYSTEM_ID,
    BIND_TRANSCEIVER | RESP: _SYSTEM_ID,
    SUBMIT_SM: _SUBMIT,
    DELIVER_SM: _SUBMIT,
    SUBMIT_SM | RESP: _ID,
    DELIVER_SM | RESP: _ID,
    DATA_SM: _DATA_SM,
    DATA_SM | RESP: _ID,
    OUTBIND: [("system_id", _C), ("password", _C)],
}
_DEFAULTS = {_C: "", _B: 0, _SM: b""}


class PduError(ValueError):
    """A malformed PDU (answered with generic_nack / ESME_RINVCMDLEN by the session)."""


@dataclass
class Pdu:
    command_id: int
    sequence: int = 0
    status: int = ESME_ROK
    fields: dict[str, Any] = field(default_factory=dict)
    tlvs: dict[int, bytes] = field(default_factory=dict)

    @property
    def name(self) -> str:
        base = NAMES.get(self.command_id & ~RESP, hex(self.command_id))
        return base + "_resp" if self.command_id & RESP and self.command_id != GENERIC_NACK else base

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESP)

    def get(self, name: str) -> Any:
        return self.fields.get(name, _DEFAULTS[_kind(self.command_id, name)])

    def __getitem__(self, name: str) -> Any:
        return self.get(name)


def _kind(command_id: int, name: str) -> str:
    for n, k in BODIES.get(command_id, ()):
        if n == name:
            return k
    return _C


def response(req: Pdu, status: int = ESME_ROK, **fields: Any) -> Pdu:
    return Pdu(req.command_id | RESP, req.sequence, status, fields)


def encode(p: Pdu) -> bytes:
    body = bytearray()
    spec = BODIES.get(p.command_id)
    # A response with an error status carries no body (SMPP 3.4 §3.3).
    if spec and not (p.is_response and p.status != ESME_ROK):
        f = p.fields
        for name, kind in spec:
            v = f.get(name)
            if kind == _C:
                if v:
                    body += v.encode("latin-1") if isinstance(v, str) else v
                body.append(0)
            elif kind == _B:
                body.append(v or 0)
            else:
                sm = v or b""
                if len(sm) > 254:
                    raise PduError("short_message longer than 254 octets: use message_payload")
                body.append(len(sm))
                body += sm
    for tag, value in p.tlvs.items():
        body += struct.pack(">HH", tag, len(value)) + value
    return HEADER.pack(16 + len(body), p.command_id, p.status, p.sequence) + bytes(body)


def decode(data: bytes | memoryview) -> Pdu:
    """One whole PDU (header included)."""
    if len(data) < 16:
        raise PduError("PDU shorter than its header")
    length, command_id, status, sequence = HEADER.unpack_from(data)
    if length != len(data):
        raise PduError(f"command_length {length} != {len(data)} bytes")
    p = Pdu(command_id, sequence, status)
    spec = BODIES.get(command_id)
    i, end = 16, length
    if spec and i < end:
        f = p.fields
        buf = bytes(data)
        for name, kind in spec:
            if i >= end:
                raise PduError(f"{p.name}: body ends before {name}")
            if kind == _C:
                j = buf.find(0, i, end)
                if j < 0:
                    raise PduError(f"{p.name}: {name} is not NUL-terminated")
                f[name] = buf[i:j].decode("latin-1")
                i = j + 1
            elif kind == _B:
                f[name] = buf[i]
                i += 1
            else:
                n = buf[i]
                if i + 1 + n > end:
                    raise PduError(f"{p.name}: sm_length {n} runs past the PDU")
                f[name] = buf[i + 1 : i + 1 + n]
                i += 1 + n
    while i + 4 <= end:
        tag, n = struct.unpack_from(">HH", data, i)
        if i + 4 + n > end:
            raise PduError(f"{p.name}: TLV 0x{tag:04x} runs past the PDU")
        p.tlvs[tag] = bytes(data[i + 4 : i + 4 + n])
        i += 4 + n
    if i != end and not (spec is None and command_id not in NAMES):
        raise PduError(f"{p.name}: {end - i} trailing octets")
    return p


def cstr_tlv(value: str) -> bytes:
    return value.encode("latin-1") + b"\x00"


def tlv_str(p: Pdu, tag: int) -> str | None:
    v = p.tlvs.get(tag)
    return None if v is None else v.rstrip(b"\x00").decode("latin-1")


def tlv_int(p: Pdu, tag: int) -> int | None:
    v = p.tlvs.get(tag)
    return None if v is None else int.from_bytes(v, "big")


class FrameBuffer:
    """Cuts a byte stream into whole PDUs."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out = []
        buf = self.buf
        pos = 0
        n = len(buf)
        while n - pos >= 4:
            length = int.from_bytes(buf[pos : pos + 4], "big")
            if length < 16 or length > MAX_PDU:
                raise PduError(f"bad command_length {length}")
            if n - pos < length:
                break
            out.append(bytes(buf[pos : pos + length]))
            pos += length
        if pos:
            del buf[:pos]
        return out
