"""Batch requests: decoding, validation, and the batch object Sinch returns (spec §3).

Decoding is msgspec (wrong JSON types -> `syntax_invalid_json`); every rule Sinch documents
is checked here by hand so the error says which field and why, with Sinch's codes:
`syntax_constraint_violation` for missing/too many/out of range, and
`syntax_invalid_parameter_format` for a malformed number, URL, time or enum value.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import msgspec

from . import dates, msisdn, parameters as params

TYPES = ("mt_text", "mt_binary", "mt_media")
DELIVERY_REPORTS = ("none", "summary", "full", "per_recipient", "per_recipient_final")
MAX_RECIPIENTS = 1000
MAX_TEXT = 2000
MAX_BINARY_BYTES = 140
MAX_URL = 2048
MAX_CLIENT_REFERENCE = 2048
MAX_SENDER = 32
MAX_EXPIRY_MS = 3 * 24 * 3600 * 1000  # "default and max is 3 days after send_at"


class InvalidRequest(Exception):
    """A request Sinch would answer with 400 (or `status`) and `{"code", "text"}`."""

    def __init__(self, code: str, text: str, status: int = 400) -> None:
        super().__init__(text)
        self.code, self.text, self.status = code, text, status


def constraint(text: str) -> InvalidRequest:
    return InvalidRequest("syntax_constraint_violation", text)


def bad_format(text: str) -> InvalidRequest:
    return InvalidRequest("syntax_invalid_parameter_format", text)


class MediaBody(msgspec.Struct, omit_defaults=True):
    url: str
    message: str | None = None
    subject: str | None = None


Parameters = dict[str, dict[str, str]]


class _Fields(msgspec.Struct, omit_defaults=True):
    """Fields shared by send/replace/dry-run and update bodies. Everything is optional at the
    decoding level: Sinch reports a missing required field as a constraint violation, not as
    malformed JSON, so `validate` checks them by hand."""

    body: str | MediaBody | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    type: str | None = None
    udh: str | None = None
    delivery_report: str | None = None
    send_at: str | None = None
    expire_at: str | None = None
    callback_url: str | None = None
    client_reference: str | None = None
    feedback_enabled: bool | None = None
    flash_message: bool | None = None
    truncate_concat: bool | None = None
    max_number_of_message_parts: int | None = None
    from_ton: int | None = None
    from_npi: int | None = None
    parameters: Parameters | None = None
    strict_validation: bool | None = None


class BatchRequest(_Fields, omit_defaults=True):
    """Send, replace and dry-run body."""

    to: list[str] | None = None


class UpdateRequest(_Fields, omit_defaults=True):
    """`POST /batches/{id}`: every field optional; `null` means "leave as is"."""

    to_add: list[str] | None = None
    to_remove: list[str] | None = None
    toAdd: list[str] | None = None  # old docs' spelling
    toRemove: list[str] | None = None


_batch_decoder = msgspec.json.Decoder(BatchRequest)
_update_decoder = msgspec.json.Decoder(UpdateRequest)


def _decode(decoder: msgspec.json.Decoder, raw: bytes) -> Any:
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as e:
        raise InvalidRequest("syntax_invalid_json", f"request does not conform to the schema: {e}") from None
    except msgspec.DecodeError as e:
        raise InvalidRequest("syntax_invalid_json", f"request body is not valid JSON: {e}") from None


def decode_batch(raw: bytes) -> BatchRequest:
    return _decode(_batch_decoder, raw)


def decode_update(raw: bytes) -> UpdateRequest:
    return _decode(_update_decoder, raw)


@dataclass(frozen=True)
class Batch:
    """A validated batch definition (what is stored; ids and timestamps are the store's)."""

    type: str
    to: list[str]  # normalised MSISDNs and group ids, in order, deduplicated
    body: Any  # str for text/binary (binary: base64), dict for media
    sender: str | None = None
    udh: str | None = None
    delivery_report: str = "none"
    send_at: int | None = None  # as requested (ms); None = immediately
    expire_at: int = 0
    expire_explicit: bool = False
    callback_url: str | None = None
    client_reference: str | None = None
    feedback_enabled: bool = False
    flash_message: bool | None = None
    truncate_concat: bool | None = None
    max_parts: int | None = None
    from_ton: int | None = None
    from_npi: int | None = None
    parameters: Parameters | None = None
    strict_validation: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def groups(self) -> list[str]:
        return [t for t in self.to if not t.isdigit()]

    @property
    def numbers(self) -> list[str]:
        return [t for t in self.to if t.isdigit()]


def _targets(values: list[str], what: str) -> list[str]:
    targets, bad = msisdn.normalize_targets(values)
    if bad:
        raise bad_format(f"{what} contains an invalid phone number or group id: {bad[0]!r}")
    return list(dict.fromkeys(targets))


def _time(value: str, what: str) -> int:
    try:
        return dates.parse(value)
    except (ValueError, OverflowError):
        raise bad_format(f"{what} is not a valid ISO-8601 timestamp: {value!r}") from None


def _url(value: str) -> str:
    if len(value) > MAX_URL:
        raise constraint(f"callback_url is longer than {MAX_URL} characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad_format(f"callback_url is not a valid http(s) URL: {value!r}")
    return value


def _check_body(kind: str, body: Any, udh: str | None) -> None:
    if kind == "mt_text":
        if not isinstance(body, str):
            raise InvalidRequest("syntax_invalid_json", "body of an mt_text batch must be a string")
        if len(body) > MAX_TEXT:
            raise constraint(f"body is longer than {MAX_TEXT} characters")
    elif kind == "mt_binary":
        if not isinstance(body, str):
            raise InvalidRequest("syntax_invalid_json", "body of an mt_binary batch must be a base64 string")
        if udh is None:
            raise constraint("udh is required for mt_binary batches")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise bad_format("body of an mt_binary batch is not valid base64") from None
        try:
            header = bytes.fromhex(udh)
        except ValueError:
            raise bad_format(f"udh is not a hex string: {udh!r}") from None
        if len(raw) + len(header) > MAX_BINARY_BYTES:
            raise constraint(f"body and udh together exceed {MAX_BINARY_BYTES} bytes")
    else:
        if not isinstance(body, dict) or not body.get("url"):
            raise InvalidRequest("syntax_invalid_json", "body of an mt_media batch must be an object with a url")


def _media(body: Any) -> Any:
    return msgspec.structs.asdict(body) if isinstance(body, MediaBody) else body


def _numbers(req: Any) -> dict[str, Any]:
    """Range checks shared by send, replace and update."""
    out: dict[str, Any] = {}
    if req.max_number_of_message_parts is not None:
        if req.max_number_of_message_parts < 1:
            raise constraint("max_number_of_message_parts must be at least 1")
        out["max_parts"] = req.max_number_of_message_parts
    if req.from_ton is not None:
        if not 0 <= req.from_ton <= 6:
            raise constraint("from_ton must be between 0 and 6")
        out["from_ton"] = req.from_ton
    if req.from_npi is not None:
        if not 0 <= req.from_npi <= 18:
            raise constraint("from_npi must be between 0 and 18")
        out["from_npi"] = req.from_npi
    if req.delivery_report is not None:
        if req.delivery_report not in DELIVERY_REPORTS:
            raise bad_format(f"delivery_report must be one of {', '.join(DELIVERY_REPORTS)}")
        out["delivery_report"] = req.delivery_report
    if req.callback_url is not None:
        out["callback_url"] = _url(req.callback_url)
    if req.client_reference is not None:
        if len(req.client_reference) > MAX_CLIENT_REFERENCE:
            raise constraint(f"client_reference is longer than {MAX_CLIENT_REFERENCE} characters")
        out["client_reference"] = req.client_reference
    if req.from_ is not None:
        if not req.from_.strip() or len(req.from_) > MAX_SENDER:
            raise bad_format(f"from must be 1 to {MAX_SENDER} characters")
        out["sender"] = msisdn.normalize_sender(req.from_)
    if req.parameters is not None:
        reason = params.validate(req.parameters)
        if reason:
            raise constraint(reason)
        out["parameters"] = req.parameters
    for name in ("feedback_enabled", "flash_message", "truncate_concat", "strict_validation"):
        if getattr(req, name) is not None:
            out[name] = getattr(req, name)
    return out


def _expiry(send_at: int | None, expire_at: int | None, now_ms: int) -> int:
    """The expiry: default send_at (or now) + 3 days; an explicit one must lie in (send_at, +3 days]."""
    base = send_at if send_at is not None else now_ms
    if expire_at is None:
        return base + MAX_EXPIRY_MS
    if expire_at <= base:
        raise constraint("expire_at must be after send_at")
    if expire_at > base + MAX_EXPIRY_MS:
        raise constraint("expire_at must be at most 3 days after send_at")
    return expire_at


def validate(req: BatchRequest, now_ms: int) -> Batch:
    """A send / replace / dry-run request -> Batch, or InvalidRequest."""
    kind = req.type or "mt_text"
    if kind not in TYPES:
        raise bad_format(f"type must be one of {', '.join(TYPES)}")
    if req.to is None:
        raise constraint("to is required")
    if not req.to:
        raise constraint("to must hold at least one recipient")
    if len(req.to) > MAX_RECIPIENTS:
        raise constraint(f"to must hold at most {MAX_RECIPIENTS} recipients, got {len(req.to)}")
    if req.body is None:
        raise constraint("body is required")
    body = _media(req.body)
    _check_body(kind, body, req.udh)
    values = _numbers(req)
    if kind == "mt_binary":
        values.pop("parameters", None)  # "not applicable to mt_binary"
    send_at = _time(req.send_at, "send_at") if req.send_at is not None else None
    expire_at = _time(req.expire_at, "expire_at") if req.expire_at is not None else None
    return Batch(type=kind, to=_targets(req.to, "to"), body=body, udh=req.udh, send_at=send_at,
                 expire_at=_expiry(send_at, expire_at, now_ms), expire_explicit=expire_at is not None, **values)


def apply_update(current: Batch, upd: UpdateRequest, now_ms: int) -> Batch:
    """Merge an update into the stored definition (the stored type is authoritative)."""
    values = _numbers(upd)
    to = list(current.to)
    add = (upd.to_add or []) + (upd.toAdd or [])
    remove = (upd.to_remove or []) + (upd.toRemove or [])
    for what, lst in (("to_add", add), ("to_remove", remove)):
        if len(lst) > MAX_RECIPIENTS:
            raise constraint(f"{what} must hold at most {MAX_RECIPIENTS} entries")
    if add:
        to = list(dict.fromkeys(to + _targets(add, "to_add")))
    if remove:
        gone = set(_targets(remove, "to_remove"))
        to = [t for t in to if t not in gone]
    if len(to) > MAX_RECIPIENTS:
        raise constraint(f"a batch can have at most {MAX_RECIPIENTS} recipients")
    body = current.body if upd.body is None else _media(upd.body)
    udh = current.udh if upd.udh is None else upd.udh
    if upd.body is not None or upd.udh is not None:
        _check_body(current.type, body, udh)
    if current.type == "mt_binary":
        values.pop("parameters", None)
    b = replace(current, to=to, body=body, udh=udh, **values)
    if upd.send_at is not None or upd.expire_at is not None:
        send_at = _time(upd.send_at, "send_at") if upd.send_at is not None else b.send_at
        explicit = upd.expire_at is not None or b.expire_explicit
        expire_at = _time(upd.expire_at, "expire_at") if upd.expire_at is not None else (
            b.expire_at if explicit else None)
        b = replace(b, send_at=send_at, expire_at=_expiry(send_at, expire_at, now_ms), expire_explicit=explicit)
    return b


def to_doc(batch_id: str, b: Batch, created_at: int, modified_at: int, canceled: bool) -> dict[str, Any]:
    """The batch object of spec §3.2; absent values are omitted, never null."""
    d: dict[str, Any] = {"id": batch_id, "to": b.to}
    if b.sender is not None:
        d["from"] = b.sender
    d["canceled"] = canceled
    if b.parameters is not None and b.type != "mt_binary":
        d["parameters"] = b.parameters
    d["body"] = b.body
    if b.type == "mt_binary":
        d["udh"] = b.udh
    d["type"] = b.type
    d["created_at"] = dates.format(created_at)
    d["modified_at"] = dates.format(modified_at)
    d["delivery_report"] = b.delivery_report
    if b.send_at is not None:
        d["send_at"] = dates.format(b.send_at)
    d["expire_at"] = dates.format(b.expire_at)
    if b.callback_url is not None:
        d["callback_url"] = b.callback_url
    if b.client_reference is not None:
        d["client_reference"] = b.client_reference
    d["feedback_enabled"] = b.feedback_enabled
    if b.type == "mt_text":
        d["flash_message"] = bool(b.flash_message)
        if b.truncate_concat is not None:
            d["truncate_concat"] = b.truncate_concat
        if b.max_parts is not None:
            d["max_number_of_message_parts"] = b.max_parts
    elif b.flash_message is not None:
        d["flash_message"] = b.flash_message
    if b.type != "mt_media":
        if b.from_ton is not None:
            d["from_ton"] = b.from_ton
        if b.from_npi is not None:
            d["from_npi"] = b.from_npi
    elif b.strict_validation is not None:
        d["strict_validation"] = b.strict_validation
    return d


def from_doc(doc: dict[str, Any], expire_explicit: bool) -> Batch:
    """Inverse of to_doc, for updates."""
    return Batch(
        type=doc["type"], to=list(doc["to"]), body=doc["body"], sender=doc.get("from"),
        udh=doc.get("udh"), delivery_report=doc["delivery_report"],
        send_at=dates.parse(doc["send_at"]) if "send_at" in doc else None,
        expire_at=dates.parse(doc["expire_at"]), expire_explicit=expire_explicit,
        callback_url=doc.get("callback_url"), client_reference=doc.get("client_reference"),
        feedback_enabled=doc.get("feedback_enabled", False), flash_message=doc.get("flash_message"),
        truncate_concat=doc.get("truncate_concat"), max_parts=doc.get("max_number_of_message_parts"),
        from_ton=doc.get("from_ton"), from_npi=doc.get("from_npi"), parameters=doc.get("parameters"),
        strict_validation=doc.get("strict_validation"),
    )
