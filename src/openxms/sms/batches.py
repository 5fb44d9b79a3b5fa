"""Batch requests: decoding, validation, and the batch object Sinch returns.

Decoding is msgspec (wrong JSON types -> `syntax_invalid_json`); every rule Sinch documents
is checked here by hand so the error says which field and why, with Sinch's codes:
`syntax_constraint_violation` for missing/too many/out of range, and
`syntax_invalid_parameter_format` for a malformed number, URL, time or enum value.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, cast

import httpx
import msgspec

from ..errors import ConstraintViolation, InvalidFormat, InvalidJson
from . import dates, msisdn, objects
from . import parameters as params
from .objects import MediaBody, Parameters

TYPES = ("mt_text", "mt_binary", "mt_media")
DELIVERY_REPORTS = ("none", "summary", "full", "per_recipient", "per_recipient_final")
MAX_RECIPIENTS = 1000
MAX_TEXT = 2000
MAX_BINARY_BYTES = 140
MAX_URL = 2048
MAX_CLIENT_REFERENCE = 2048
MAX_SENDER = 32
MAX_EXPIRY_MS = 3 * 24 * 3600 * 1000  # "default and max is 3 days after send_at"


class _Fields(msgspec.Struct, omit_defaults=True):
    """Fields shared by send/replace/dry-run and update bodies. Everything is optional at the
    decoding level: Sinch reports a missing required field as a constraint violation, not as
    malformed JSON, so `validate` checks them by hand."""

    body: str | MediaBody | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    # The enums are documented (the schema), and checked by `validate` with Sinch's texts.
    type: Annotated[str, msgspec.Meta(extra_json_schema={"enum": list(TYPES)})] | None = None
    udh: str | None = None
    delivery_report: Annotated[str, msgspec.Meta(extra_json_schema={"enum": list(DELIVERY_REPORTS)})] | None = None
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
        raise InvalidJson(f"request does not conform to the schema: {e}") from None
    except msgspec.DecodeError as e:
        raise InvalidJson(f"request body is not valid JSON: {e}") from None


def decode_batch(raw: bytes) -> BatchRequest:
    return _decode(_batch_decoder, raw)


def decode_update(raw: bytes) -> UpdateRequest:
    return _decode(_update_decoder, raw)


@dataclass(frozen=True)
class Batch:
    """A validated batch definition (what is stored; ids and timestamps are the store's)."""

    type: objects.BatchType
    to: list[str]  # normalised MSISDNs and group ids, in order, deduplicated
    body: Any  # str for text/binary (binary: base64), dict for media
    sender: str | None = None
    udh: str | None = None
    delivery_report: objects.ReportMode = "none"
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
        return msisdn.split_targets(self.to)[1]

    @property
    def numbers(self) -> list[str]:
        return msisdn.split_targets(self.to)[0]


def _targets(values: list[str], what: str) -> list[str]:
    targets, bad = msisdn.normalize_targets(values)
    if bad:
        raise InvalidFormat(f"{what} contains an invalid phone number or group id: {bad[0]!r}")
    return list(dict.fromkeys(targets))


def _time(value: str, what: str) -> int:
    try:
        return dates.parse(value)
    except (ValueError, OverflowError):
        raise InvalidFormat(f"{what} is not a valid ISO-8601 timestamp: {value!r}") from None


def callback_url(value: str, what: str = "callback_url") -> str:
    """A callback URL, checked with the parser that will send to it (httpx): a URL it would
    refuse later (a bad port, a bad IPv6 host, control characters, a host that is not valid
    IDNA) is refused now, so it can never reach the callback sender."""
    if len(value) > MAX_URL:
        raise ConstraintViolation(f"{what} is longer than {MAX_URL} characters")
    try:
        url = httpx.URL(value)
        ok = url.scheme in ("http", "https") and bool(url.host) and (url.port is None or 0 < url.port < 65536)
    except Exception:  # noqa: BLE001 - httpx.InvalidURL, idna's UnicodeError subclasses, ...
        ok = False
    if not ok:
        raise InvalidFormat(f"{what} must be an http or https URL, got {value!r}")
    return value


def _check_body(kind: str, body: Any, udh: str | None) -> None:
    if kind == "mt_text":
        if not isinstance(body, str):
            raise InvalidJson("body of an mt_text batch must be a string")
        if len(body) > MAX_TEXT:
            raise ConstraintViolation(f"body is longer than {MAX_TEXT} characters")
    elif kind == "mt_binary":
        if not isinstance(body, str):
            raise InvalidJson("body of an mt_binary batch must be a base64 string")
        if udh is None:
            raise ConstraintViolation("udh is required for mt_binary batches")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidFormat("body of an mt_binary batch is not valid base64") from None
        try:
            header = bytes.fromhex(udh)
        except ValueError:
            raise InvalidFormat(f"udh is not a hex string: {udh!r}") from None
        if len(raw) + len(header) > MAX_BINARY_BYTES:
            raise ConstraintViolation(f"body and udh together exceed {MAX_BINARY_BYTES} bytes")
    else:
        if not isinstance(body, dict) or not body.get("url"):
            raise InvalidJson("body of an mt_media batch must be an object with a url")


def _media(body: Any) -> Any:
    return msgspec.structs.asdict(body) if isinstance(body, MediaBody) else body


def _numbers(req: Any) -> dict[str, Any]:
    """Range checks shared by send, replace and update."""
    out: dict[str, Any] = {}
    if req.max_number_of_message_parts is not None:
        if req.max_number_of_message_parts < 1:
            raise ConstraintViolation("max_number_of_message_parts must be at least 1")
        out["max_parts"] = req.max_number_of_message_parts
    if req.from_ton is not None:
        if not 0 <= req.from_ton <= 6:
            raise ConstraintViolation("from_ton must be between 0 and 6")
        out["from_ton"] = req.from_ton
    if req.from_npi is not None:
        if not 0 <= req.from_npi <= 18:
            raise ConstraintViolation("from_npi must be between 0 and 18")
        out["from_npi"] = req.from_npi
    if req.delivery_report is not None:
        if req.delivery_report not in DELIVERY_REPORTS:
            raise InvalidFormat(f"delivery_report must be one of {', '.join(DELIVERY_REPORTS)}")
        out["delivery_report"] = req.delivery_report
    if req.callback_url is not None:
        out["callback_url"] = callback_url(req.callback_url)
    if req.client_reference is not None:
        if len(req.client_reference) > MAX_CLIENT_REFERENCE:
            raise ConstraintViolation(f"client_reference is longer than {MAX_CLIENT_REFERENCE} characters")
        out["client_reference"] = req.client_reference
    if req.from_ is not None:
        if not req.from_.strip() or len(req.from_) > MAX_SENDER:
            raise InvalidFormat(f"from must be 1 to {MAX_SENDER} characters")
        out["sender"] = msisdn.normalize_sender(req.from_)
    if req.parameters is not None:
        reason = params.validate(req.parameters)
        if reason:
            raise ConstraintViolation(reason)
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
        raise ConstraintViolation("expire_at must be after send_at")
    if expire_at > base + MAX_EXPIRY_MS:
        raise ConstraintViolation("expire_at must be at most 3 days after send_at")
    return expire_at


def validate(req: BatchRequest, now_ms: int) -> Batch:
    """A send / replace / dry-run request -> Batch, or an ApiError."""
    kind = req.type or "mt_text"
    if kind not in TYPES:
        raise InvalidFormat(f"type must be one of {', '.join(TYPES)}")
    if req.to is None:
        raise ConstraintViolation("to is required")
    if not req.to:
        raise ConstraintViolation("to must hold at least one recipient")
    if len(req.to) > MAX_RECIPIENTS:
        raise ConstraintViolation(f"to must hold at most {MAX_RECIPIENTS} recipients, got {len(req.to)}")
    if req.body is None:
        raise ConstraintViolation("body is required")
    body = _media(req.body)
    _check_body(kind, body, req.udh)
    values = _numbers(req)
    if kind == "mt_binary":
        values.pop("parameters", None)  # "not applicable to mt_binary"
    send_at = _time(req.send_at, "send_at") if req.send_at is not None else None
    expire_at = _time(req.expire_at, "expire_at") if req.expire_at is not None else None
    return Batch(
        type=cast(objects.BatchType, kind),  # one of TYPES: checked above
        to=_targets(req.to, "to"),
        body=body,
        udh=req.udh,
        send_at=send_at,
        expire_at=_expiry(send_at, expire_at, now_ms),
        expire_explicit=expire_at is not None,
        **values,
    )


def apply_update(current: Batch, upd: UpdateRequest, now_ms: int) -> Batch:
    """Merge an update into the stored definition (the stored type is authoritative)."""
    values = _numbers(upd)
    to = list(current.to)
    add = (upd.to_add or []) + (upd.toAdd or [])
    remove = (upd.to_remove or []) + (upd.toRemove or [])
    for what, lst in (("to_add", add), ("to_remove", remove)):
        if len(lst) > MAX_RECIPIENTS:
            raise ConstraintViolation(f"{what} must hold at most {MAX_RECIPIENTS} entries")
    if add:
        to = list(dict.fromkeys(to + _targets(add, "to_add")))
    if remove:
        gone = set(_targets(remove, "to_remove"))
        to = [t for t in to if t not in gone]
    if len(to) > MAX_RECIPIENTS:
        raise ConstraintViolation(f"a batch can have at most {MAX_RECIPIENTS} recipients")
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
        expire_at = (
            _time(upd.expire_at, "expire_at") if upd.expire_at is not None else (b.expire_at if explicit else None)
        )
        b = replace(b, send_at=send_at, expire_at=_expiry(send_at, expire_at, now_ms), expire_explicit=explicit)
    return b


def to_doc(batch_id: str, b: Batch, created_at: int, modified_at: int, canceled: bool) -> objects.Batch:
    """The batch object returned and stored; fields that do not apply to the type are left out
    (https://developers.sinch.com/docs/sms/api-reference/sms/tag/Batches/)."""
    text, media = b.type == "mt_text", b.type == "mt_media"
    return objects.Batch(
        id=batch_id,
        to=b.to,
        from_=b.sender,
        canceled=canceled,
        parameters=b.parameters if b.type != "mt_binary" else None,
        body=MediaBody(b.body["url"], b.body.get("message"), b.body.get("subject")) if media else b.body,
        udh=b.udh if b.type == "mt_binary" else None,
        type=b.type,
        created_at=dates.format(created_at),
        modified_at=dates.format(modified_at),
        delivery_report=b.delivery_report,
        send_at=dates.format(b.send_at) if b.send_at is not None else None,
        expire_at=dates.format(b.expire_at),
        callback_url=b.callback_url,
        client_reference=b.client_reference,
        feedback_enabled=b.feedback_enabled,
        flash_message=bool(b.flash_message) if text else b.flash_message,
        truncate_concat=b.truncate_concat if text else None,
        max_number_of_message_parts=b.max_parts if text else None,
        from_ton=b.from_ton if not media else None,
        from_npi=b.from_npi if not media else None,
        strict_validation=b.strict_validation if media else None,
    )


_doc_decoder = msgspec.json.Decoder(objects.Batch)


def decode_doc(doc: str | bytes) -> objects.Batch:
    """A stored batch document."""
    return _doc_decoder.decode(doc)


def from_doc(doc: objects.Batch, expire_explicit: bool) -> Batch:
    """Inverse of to_doc, for updates."""
    return Batch(
        type=doc.type,
        to=list(doc.to),
        body=_media(doc.body),
        sender=doc.from_,
        udh=doc.udh,
        delivery_report=doc.delivery_report,
        send_at=dates.parse(doc.send_at) if doc.send_at is not None else None,
        expire_at=dates.parse(doc.expire_at),
        expire_explicit=expire_explicit,
        callback_url=doc.callback_url,
        client_reference=doc.client_reference,
        feedback_enabled=doc.feedback_enabled,
        flash_message=doc.flash_message,
        truncate_concat=doc.truncate_concat,
        max_parts=doc.max_number_of_message_parts,
        from_ton=doc.from_ton,
        from_npi=doc.from_npi,
        parameters=doc.parameters,
        strict_validation=doc.strict_validation,
    )


def send_body(b: Batch) -> BatchRequest:
    """A send body (`POST /batches`, or a dry run) that makes this batch again: what the client
    gave, normalised (numbers as MSISDNs, the sender as stored), with the fields left at their
    defaults left out (an implicit `expire_at`, `delivery_report` none, false flags)."""
    return BatchRequest(
        to=list(b.to),
        body=msgspec.convert(b.body, MediaBody) if isinstance(b.body, dict) else b.body,
        from_=b.sender,
        type=b.type,
        udh=b.udh,
        delivery_report=None if b.delivery_report == "none" else b.delivery_report,
        send_at=dates.format(b.send_at) if b.send_at is not None else None,
        expire_at=dates.format(b.expire_at) if b.expire_explicit else None,
        callback_url=b.callback_url,
        client_reference=b.client_reference,
        feedback_enabled=b.feedback_enabled or None,
        flash_message=b.flash_message or None,
        truncate_concat=b.truncate_concat or None,
        max_number_of_message_parts=b.max_parts,
        from_ton=b.from_ton,
        from_npi=b.from_npi,
        parameters=b.parameters,
        strict_validation=b.strict_validation or None,
    )
