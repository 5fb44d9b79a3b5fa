"""Delivery receipts (SMPP 3.4 Appendix B) and matching them to what we sent.

A receipt is a deliver_sm with esm_class 0x04 whose text reads
`id:IIIIIIIIII sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000 text:...`
and, on SMSCs that support 3.4 TLVs, `receipted_message_id` / `message_state` /
`network_error_code`. TLVs win over text when both are present.

Message ids are where gateways go wrong (Jasmin's "DLRMapNotFound", Kannel's msg-id-type):
an SMSC may answer submit_sm_resp with a hex id and report it in decimal in the receipt, or
zero-pad one of them. `id_keys(id)` gives every spelling an id may take; we store one key per
sent part and look a receipt up by all its keys. The ambiguity (an id like "1234" is both a
valid decimal and a valid hex number) can only matter if two in-flight parts have ids that
are each other's hex/decimal reading; in practice SMSC ids are long and unique.
"""

from __future__ import annotations

import calendar
import functools
import re
import string
from dataclasses import dataclass
from datetime import UTC, datetime

from . import pdu

STATE_NAMES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
STATE_CODES = {v: k for k, v in STATE_NAMES.items()}
FINAL_STATES = {"DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "UNKNOWN", "REJECTD"}
# Full words some SMSCs write in `stat:`
_ALIASES = {
    "DELIVERED": "DELIVRD",
    "UNDELIVERABLE": "UNDELIV",
    "REJECTED": "REJECTD",
    "ACCEPTED": "ACCEPTD",
    "ENROUTE": "ENROUTE",
    "EXPIRED": "EXPIRED",
    "DELETED": "DELETED",
    "UNKNOWN": "UNKNOWN",
}

# Sinch status and the code used when the SMSC gives no error number.
SINCH = {
    "DELIVRD": ("Delivered", 0),
    "EXPIRED": ("Expired", 201),
    "DELETED": ("Deleted", 150),
    "UNDELIV": ("Failed", 153),
    "UNKNOWN": ("Unknown", 401),
    "REJECTD": ("Rejected", 408),
}

_FIELD = re.compile(r"(id|sub|dlvrd|submit date|done date|stat|err|text)\s*:\s*", re.I)


@dataclass(frozen=True)
class Receipt:
    message_id: str  # as the SMSC wrote it
    state: str  # DELIVRD, UNDELIV, ... (ENROUTE/ACCEPTD are intermediate)
    err: int
    done_at: int | None  # ms since epoch (UTC), if given
    source: str = ""  # the handset (receipt's source_addr)
    destination: str = ""  # our sender
    submit_at: int | None = None  # when the SMSC says the message was submitted (`submit date`), if given

    @property
    def keys(self) -> tuple[str, ...]:
        return id_keys(self.message_id)

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def sinch(self) -> tuple[str, int]:
        status, default = SINCH.get(self.state, ("Unknown", 401))
        return status, (self.err if self.err and status != "Delivered" else default)


_HEX = frozenset(string.hexdigits.lower())


@functools.lru_cache(maxsize=8192)
def id_keys(message_id: str) -> tuple[str, ...]:
    """Canonical spellings: the id lower-cased without leading zeros, plus its decimal<->hex readings.

    Cached: a receipt's keys are needed on the event loop and again in the writer."""
    s = message_id.strip().lower()
    base = s.lstrip("0") or "0"
    keys = [base]
    if s.isascii() and s.isdigit():
        keys.append(format(int(s), "x"))
    if s and _HEX.issuperset(s):
        keys.append(str(int(s, 16)))
    return tuple(dict.fromkeys(keys))


@functools.lru_cache(maxsize=1024)
def _date(value: str) -> int | None:
    """YYMMDDhhmm[ss] -> ms since epoch (UTC); None if absent or not a date.

    Cached: a busy link's receipts carry the same few minutes over and over."""
    d = "".join(ch for ch in value if ch.isdigit())
    if len(d) < 10:
        return None
    y, mo, day, h, mi = 2000 + int(d[0:2]), int(d[2:4]), int(d[4:6]), int(d[6:8]), int(d[8:10])
    sec = int(d[10:12]) if len(d) >= 12 else 0
    if not (1 <= mo <= 12 and 1 <= day <= 31 and h < 24 and mi < 60 and sec < 61):
        return None
    return calendar.timegm((y, mo, day, h, mi, sec)) * 1000


_STANDARD = re.compile(
    r"id:(?P<id>\S*) sub:(?P<sub>\S*) dlvrd:(?P<dlvrd>\S*) submit date:(?P<submit>\d*) "
    r"done date:(?P<done>\d*) stat:(?P<stat>\S*) err:(?P<err>\S*)(?: text:(?P<text>.*))?",
    re.S,
)


def parse_text(text: str) -> dict[str, str]:
    """The `key:value` fields of an Appendix B receipt text (tolerant: case, spacing, missing fields)."""
    m = _STANDARD.match(text)
    if m:  # the common exact layout, ~5x faster than the general loop below
        g = m.groupdict()
        out: dict[str, str] = {
            "id": g["id"],
            "sub": g["sub"],
            "dlvrd": g["dlvrd"],
            "submit date": g["submit"],
            "done date": g["done"],
            "stat": g["stat"],
            "err": g["err"],
        }
        if g["text"] is not None:
            out["text"] = g["text"]
        return out
    out = {}
    matches = list(_FIELD.finditer(text))
    for m, nxt in zip(matches, matches[1:] + [None], strict=True):
        key = m.group(1).lower()
        value = text[m.end() : nxt.start() if nxt else len(text)]
        out[key] = value if key == "text" else value.strip()
    return out


def from_pdu(p: pdu.Pdu) -> Receipt | None:
    """A Receipt if this deliver_sm / data_sm is a delivery receipt, else None."""
    is_receipt = (p.get("esm_class") & 0x3C) == pdu.ESM_RECEIPT
    if not is_receipt and pdu.TLV_RECEIPTED_MESSAGE_ID not in p.tlvs:
        return None
    sm = p.fields.get("short_message") or p.tlvs.get(pdu.TLV_MESSAGE_PAYLOAD) or b""
    fields = parse_text(sm.decode("latin-1"))
    message_id = pdu.tlv_str(p, pdu.TLV_RECEIPTED_MESSAGE_ID) or fields.get("id", "")
    state_code = pdu.tlv_int(p, pdu.TLV_MESSAGE_STATE)
    if state_code is not None:
        state = STATE_NAMES.get(state_code, "UNKNOWN")
    else:
        raw = fields.get("stat", "UNKNOWN").upper()
        state = _ALIASES.get(raw, raw[:7] if raw[:7] in STATE_CODES else "UNKNOWN")
    err = 0
    net = p.tlvs.get(pdu.TLV_NETWORK_ERROR_CODE)
    if net is not None and len(net) == 3:
        err = int.from_bytes(net[1:], "big")
    elif fields.get("err", "").isdigit():
        err = int(fields["err"])
    if not message_id:
        return None
    return Receipt(
        message_id,
        state,
        err,
        _date(fields.get("done date", "")),
        p.get("source_addr"),
        p.get("destination_addr"),
        _date(fields.get("submit date", "")),
    )


def format_text(
    message_id: str, state: str, err: int, submit_ms: int, done_ms: int, text: str = "", parts: int = 1
) -> str:
    """Appendix B text, as the bundled SMSC writes it."""

    def d(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%y%m%d%H%M")

    delivered = 1 if state == "DELIVRD" else 0
    return (
        f"id:{message_id} sub:{parts:03d} dlvrd:{delivered:03d} submit date:{d(submit_ms)} "
        f"done date:{d(done_ms)} stat:{state} err:{err:03d} text:{text[:20]}"
    )
