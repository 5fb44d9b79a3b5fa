"""The Conversation Batch API's rules: the send request, scheduling, metadata, fan-out.

A batch's status lifecycle, its status reads and the cancel request are `batch_lifecycle.py`'s.

Sinch's Batch API (https://developers.sinch.com/docs/conversation/api-reference/batch-api)
sends one AppMessage to 1..1000 recipients with per-recipient `${name}` parameters. A
request is checked here in full before it is accepted (a 400 names the field); problems that
belong to one recipient at processing time (an unknown contact, a channel that cannot carry
the content) are that recipient's FAILED receipt instead, as for `messages:send`.

`send_after` may lie at most 7 days ahead; a time less than a minute ahead (or past) is kept
to the second, a later one is moved up to the next five-minute mark, and the response
carries the effective time. A batch with no (or a past) `send_after` runs at once and cannot
be cancelled (the cancel request is `batch_lifecycle.py`'s).

The AppMessage and Recipient rules belong to `messages.py`. `decode_batch` takes them as
parameters, `check_message(raw)` and `check_recipient(raw)` on the decoded JSON (raising
InvalidRequest); by default they convert to `messages.AppMessage`/`Recipient` and call
`validate_app_message`/`validate_recipient`. The recipient's form (contact_id xor
identified_by) is checked here as well, since the processing-mode check relies on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from ..errors import InvalidRequest
from ..sms import dates
from . import fields as f
from .messages import MAX_CHANNEL_IDENTITIES
from .types import CHANNELS, Channel, MessageContentType, MessageQueue, MetadataUpdateStrategy, ProcessingStrategy

MAX_RECIPIENTS = 1000
MAX_CORRELATION_ID = 128
MAX_CHANNEL_PROPERTY = 1024
# messages:send limits, applied to each recipient's merged (and serialised) metadata.
MAX_MESSAGE_METADATA = 1024
MAX_CONVERSATION_METADATA = 2048
MAX_AHEAD_MS = 7 * 24 * 3600 * 1000
KEEP_EXACT_MS = 60_000
FIVE_MINUTES_MS = 300_000
TTL_SECONDS = (3, 315_576_000_000)
BATCH_ID_KEY = "_batch_id"
_TTL = re.compile(r"[0-9]+s")
_ID_PLACEHOLDER = "0" * 26  # a batch id's length, to size metadata before the id exists
_OPAQUE = ("message_metadata", "conversation_metadata")
_CHANNEL_SET = frozenset(CHANNELS)

Check = Callable[[Any], object]


class RecipientAndParam(msgspec.Struct):
    recipient: dict[str, Any]
    parameters: dict[str, str] = {}
    message_metadata: dict[str, Any] = {}
    conversation_metadata: dict[str, Any] = {}


class _Wire(msgspec.Struct):
    app_id: str
    message: dict[str, Any]
    recipient_and_params: list[RecipientAndParam]
    processing_strategy: ProcessingStrategy = "DEFAULT"
    batch_metadata: dict[str, str] = {}
    message_metadata: dict[str, Any] = {}
    conversation_metadata: dict[str, Any] = {}
    send_after: str | UnsetType = UNSET  # nulls are dropped before decoding, so UNSET is "absent"
    channel_priority_order: list[Channel] = []
    ttl: str | UnsetType = UNSET
    channel_properties: dict[str, str] = {}
    correlation_id: str = ""
    callback_url: str = ""
    # messages:send fields not documented for batches: accepted and passed on to each message.
    queue: MessageQueue | UnsetType = UNSET
    message_content_type: MessageContentType | UnsetType = UNSET
    conversation_metadata_update_strategy: MetadataUpdateStrategy | UnsetType = UNSET


class BatchRequest(msgspec.Struct, kw_only=True):
    """A checked batch, storable as JSON. Times are epoch milliseconds."""

    app_id: str
    message: dict[str, Any]
    recipient_and_params: list[RecipientAndParam]
    processing_strategy: ProcessingStrategy = "DEFAULT"
    batch_metadata: dict[str, str] = {}
    message_metadata: dict[str, Any] = {}
    conversation_metadata: dict[str, Any] = {}
    requested_send_after: int | None = None
    send_after: int | None = None  # the effective schedule; None = now
    channel_priority_order: list[Channel] = []
    ttl_seconds: int | None = None
    channel_properties: dict[str, str] = {}
    correlation_id: str = ""
    callback_url: str = ""
    queue: MessageQueue | None = None
    message_content_type: MessageContentType | None = None
    conversation_metadata_update_strategy: MetadataUpdateStrategy | None = None


def _default_check_message(raw: Any) -> object:
    from .messages import AppMessage, validate_app_message

    msg = f.convert(raw, AppMessage, "message")
    validate_app_message(msg)
    return msg


def _default_check_recipient(raw: Any) -> object:
    from .messages import Recipient, validate_recipient

    r = f.convert(raw, Recipient, "recipient")
    validate_recipient(r)
    return r


def decode_batch(
    raw: bytes, now_ms: int, *, check_message: Check | None = None, check_recipient: Check | None = None
) -> BatchRequest:
    """`POST /v1/projects/{project_id}/messages` body, checked; every problem is a 400.

    The usual body (no `null` in it: nothing to drop) is decoded straight into `_Wire`, which
    is several times faster than decoding to Python values and converting; any body that does
    not decode so takes the general path, which names the problem."""
    w = _typed(raw)
    if w is None:
        w = _general(raw)
    else:
        _check_count(w.recipient_and_params)
    _check_head(w, check_message)
    for i, rp in enumerate(w.recipient_and_params):
        if check_recipient is None and _usual_recipient(rp.recipient):
            continue
        try:
            _check_recipient_shape(rp.recipient)
            (check_recipient or _default_check_recipient)(rp.recipient)
        except InvalidRequest as e:
            raise InvalidRequest(f"recipient_and_params[{i}]: {e.text}") from None
    requested, ttl = _check_tail(w)
    kept = {k: getattr(w, k) for k in w.__struct_fields__ if k not in ("send_after", "ttl")}
    kept = {k: None if v is UNSET else v for k, v in kept.items()}
    return BatchRequest(
        **kept, requested_send_after=requested, send_after=effective_send_after(requested, now_ms), ttl_seconds=ttl
    )


class Accepted(msgspec.Struct, frozen=True):
    """What accepting a batch needs of its request: the checks against the app, the response
    and the stored row. The request body itself is stored as sent, and the fan-out decodes it
    again in full (`decode_batch`), so nothing here is all there is of a batch."""

    app_id: str
    processing_strategy: ProcessingStrategy
    channel_priority_order: list[Channel]
    channel_properties: dict[str, str]
    batch_metadata: dict[str, str]
    requested_send_after: int | None
    send_after: int | None  # the effective schedule; None = now
    first_contact_id: int | None  # the index of the first recipient named by contact_id


def accept_batch(raw: bytes, now_ms: int) -> Accepted:
    """The same checks as `decode_batch`, with the same 400s, at half the cost for the usual
    body: its recipients are decoded into small typed structs (`_Lean`) that msgspec checks
    as it decodes (kind, channel names, no other keys, 1..20 identities), instead of dicts
    walked in Python, and no BatchRequest is built. A body that does not decode so, or whose
    recipients are not all of the usual form, is decoded by `decode_batch`, which names any
    problem (a test checks that both agree)."""
    w = _lean(raw)
    if w is None:
        b = decode_batch(raw, now_ms)
        first = next((i for i, rp in enumerate(b.recipient_and_params) if "contact_id" in rp.recipient), None)
        return Accepted(
            b.app_id,
            b.processing_strategy,
            b.channel_priority_order,
            b.channel_properties,
            b.batch_metadata,
            b.requested_send_after,
            b.send_after,
            first,
        )
    _check_head(w)
    requested, _ = _check_tail(w)
    first = next((i for i, rp in enumerate(w.recipient_and_params) if rp.recipient.contact_id is not None), None)
    return Accepted(
        w.app_id,
        w.processing_strategy,
        w.channel_priority_order,
        w.channel_properties,
        w.batch_metadata,
        requested,
        effective_send_after(requested, now_ms),
        first,
    )


def _check_head(w: _Wire | _LeanWire, check_message: Check | None = None) -> None:
    f.check_ulid(w.app_id, "app_id")
    (check_message or _default_check_message)(w.message)


def _check_tail(w: _Wire | _LeanWire) -> tuple[int | None, int | None]:
    """The checks after the recipients'; (requested send_after, ttl seconds)."""
    requested = None
    if isinstance(w.send_after, str):
        try:
            requested = dates.parse(w.send_after)
        except ValueError:
            raise InvalidRequest(f"send_after is not an RFC 3339 date-time: {w.send_after!r}") from None
    ttl = parse_ttl(w.ttl if isinstance(w.ttl, str) else None)
    for key, value in w.channel_properties.items():
        f.check_length(value, MAX_CHANNEL_PROPERTY, f"channel_properties.{key}")
    f.check_length(w.correlation_id, MAX_CORRELATION_ID, "correlation_id")
    if w.callback_url:
        f.check_url(w.callback_url, "callback_url")
    _check_metadata_sizes(w)
    return requested, ttl


# The usual recipient (`_usual_recipient`) as structs: unknown keys refused, so a recipient with
# anything else does not decode and takes the general path. gc=False: decoded JSON holds no
# reference cycles, and untracked objects cost the collector nothing (1000 recipients make
# ~5000 of them per request).
class _LeanIdentity(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    channel: Channel
    identity: str


class _LeanIdentifiedBy(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    channel_identities: Annotated[list[_LeanIdentity], msgspec.Meta(min_length=1, max_length=MAX_CHANNEL_IDENTITIES)]


class _LeanRecipient(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    contact_id: str | None = None
    identified_by: _LeanIdentifiedBy | None = None


class _LeanRecipientAndParam(msgspec.Struct, gc=False):
    recipient: _LeanRecipient
    parameters: dict[str, str] = {}
    message_metadata: dict[str, Any] | None = None  # None, not {}: no empty dict per recipient
    conversation_metadata: dict[str, Any] | None = None


class _LeanWire(_Wire, gc=False):
    recipient_and_params: list[_LeanRecipientAndParam]  # type: ignore[assignment]


_LEAN_DECODER = msgspec.json.Decoder(_LeanWire)


def _lean(raw: bytes) -> _LeanWire | None:
    """The body as `_LeanWire` when it holds no `null` and every recipient has the usual form."""
    if b"null" in raw:
        return None
    try:
        w = _LEAN_DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not 0 < len(w.recipient_and_params) <= MAX_RECIPIENTS:
        return None
    for rp in w.recipient_and_params:
        r = rp.recipient
        by = r.identified_by
        if by is None:
            if r.contact_id is None or not r.contact_id.strip():
                return None
        elif r.contact_id is not None:
            return None
        else:
            for ci in by.channel_identities:
                if not ci.identity.strip():
                    return None
    return w


_WIRE_DECODER = msgspec.json.Decoder(_Wire)


def _typed(raw: bytes) -> _Wire | None:
    if b"null" in raw:
        return None
    try:
        return _WIRE_DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None


def _general(raw: bytes) -> _Wire:
    data = f.decode_object(raw)
    for name in ("app_id", "message", "recipient_and_params"):
        if data.get(name) is None:
            raise InvalidRequest(f"{name} is required")
    rps = data["recipient_and_params"]
    if isinstance(rps, list):
        _check_count(rps)
    return f.convert(f.strip_nulls(data, _OPAQUE), _Wire)


def _check_count(rps: list) -> None:
    if not rps:
        raise InvalidRequest("recipient_and_params must contain at least one recipient")
    if len(rps) > MAX_RECIPIENTS:
        raise InvalidRequest(f"recipient_and_params holds {len(rps)} recipients; at most {MAX_RECIPIENTS}")


def _check_recipient_shape(recipient: dict[str, Any]) -> None:
    """The recipient's form, which the processing-mode check relies on: exactly one of
    `contact_id` and `identified_by`, the latter with at least one known channel identity."""
    forms = [k for k in ("contact_id", "identified_by") if k in recipient]
    if len(forms) != 1:
        raise InvalidRequest("recipient must have exactly one of contact_id and identified_by")
    if forms[0] == "contact_id":
        if not isinstance(recipient["contact_id"], str) or not recipient["contact_id"].strip():
            raise InvalidRequest("recipient.contact_id must be a non-empty string")
        return
    ids = recipient["identified_by"].get("channel_identities") if isinstance(recipient["identified_by"], dict) else None
    if not isinstance(ids, list) or not ids:
        raise InvalidRequest("recipient.identified_by.channel_identities must contain at least one identity")
    for j, ci in enumerate(ids):
        where = f"recipient.identified_by.channel_identities[{j}]"
        if not isinstance(ci, dict):
            raise InvalidRequest(f"{where} must be an object")
        if ci.get("channel") not in CHANNELS:
            raise InvalidRequest(f"{where}.channel: invalid value {ci.get('channel')!r}")
        if not isinstance(ci.get("identity"), str) or not ci["identity"].strip():
            raise InvalidRequest(f"{where}.identity is required")


def _usual_recipient(recipient: dict[str, Any]) -> bool:
    """True for a valid recipient of the usual form, `{"contact_id": id}` or `{"identified_by":
    {"channel_identities": [{"channel", "identity"}, ...]}}` (1 to MAX_CHANNEL_IDENTITIES
    entries, no other key), for which `_check_recipient_shape` and the full
    `messages.validate_recipient` would find nothing: those are skipped for it (they are most
    of the time of a 1000-recipient request). False sends a recipient through both."""
    if len(recipient) != 1:
        return False
    by = recipient.get("identified_by")
    if by is None:
        cid = recipient.get("contact_id")
        return isinstance(cid, str) and bool(cid.strip())
    if type(by) is not dict or len(by) != 1:
        return False
    ids = by.get("channel_identities")
    if type(ids) is not list or not 0 < len(ids) <= MAX_CHANNEL_IDENTITIES:
        return False
    for ci in ids:
        if type(ci) is not dict or len(ci) != 2:
            return False
        channel, identity = ci.get("channel"), ci.get("identity")
        if type(channel) is not str or channel not in _CHANNEL_SET or type(identity) is not str or not identity.strip():
            return False
    return True


def _check_metadata_sizes(w: _Wire | _LeanWire) -> None:
    """Each recipient's merged metadata within the messages:send limits. Recipients without
    metadata of their own all have the batch's, measured once."""
    for name, limit in (
        ("message_metadata", MAX_MESSAGE_METADATA),
        ("conversation_metadata", MAX_CONVERSATION_METADATA),
    ):
        top = getattr(w, name)
        shared: int | None = None
        for i, rp in enumerate(w.recipient_and_params):
            own = getattr(rp, name)
            if own:
                size = len(msgspec.json.encode(merge_metadata(top, own, _ID_PLACEHOLDER)).decode())
            else:
                if shared is None:
                    shared = len(msgspec.json.encode(merge_metadata(top, None, _ID_PLACEHOLDER)).decode())
                size = shared
            if size > limit:
                raise InvalidRequest(
                    f"recipient_and_params[{i}]: {name} merged with the batch's is {size} "
                    f"characters as JSON; at most {limit}"
                )


def parse_ttl(value: str | None) -> int | None:
    """`"<seconds>s"`, 3 to 315,576,000,000 seconds (the messages:send `ttl`)."""
    if value is None:
        return None
    if not _TTL.fullmatch(value):
        raise InvalidRequest(f'ttl must look like "30s", got {value!r}')
    seconds = int(value[:-1])
    f.check_range(seconds, *TTL_SECONDS, "ttl (seconds)")
    return seconds


def check_against_app(batch: Accepted, app_channels: list[str], app_processing_mode: str) -> str:
    """The checks that need the sending app; returns the effective processing mode. Every
    `channel_priority_order` channel must be configured on the app, and DISPATCH (the app's
    mode, or forced by DISPATCH_ONLY) stores no contacts, so recipients must be identities."""
    for i, ch in enumerate(batch.channel_priority_order):
        if ch not in app_channels:
            raise InvalidRequest(f"channel_priority_order[{i}]: channel {ch} is not configured on app {batch.app_id}")
    mode = "DISPATCH" if batch.processing_strategy == "DISPATCH_ONLY" else app_processing_mode
    if mode == "DISPATCH" and batch.first_contact_id is not None:
        raise InvalidRequest(
            f"recipient_and_params[{batch.first_contact_id}].recipient: contact_id cannot be used in "
            "DISPATCH processing mode; use identified_by"
        )
    return mode


def effective_send_after(requested_ms: int | None, now_ms: int) -> int | None:
    """When a batch asked for `requested_ms` runs: None (now) without one; a 400 beyond 7 days
    (checked on the requested value); truncated to the second when under a minute ahead (or
    past); otherwise the ceiling to a five-minute mark, which leaves a value on a mark alone."""
    if requested_ms is None:
        return None
    if requested_ms > now_ms + MAX_AHEAD_MS:
        raise InvalidRequest("send_after must be at most 7 days from now")
    if requested_ms - now_ms < KEEP_EXACT_MS:
        return requested_ms - requested_ms % 1000
    return -(-requested_ms // FIVE_MINUTES_MS) * FIVE_MINUTES_MS


def format_time(ms: int) -> str:
    """`2026-03-01T12:05:00Z` (second precision)."""
    return dates.format(ms - ms % 1000)[:19] + "Z"


def response(batch_id: str, batch: Accepted | BatchRequest, accepted_ms: int) -> dict[str, str]:
    """The send's 200 body: the effective `send_after`, or the acceptance time for an
    immediate batch (clients deserialise it as non-nullable)."""
    when = batch.send_after if batch.send_after is not None else accepted_ms
    return {"batch_id": batch_id, "send_after": format_time(when)}


def merge_metadata(
    top: Mapping[str, Any] | None, per_recipient: Mapping[str, Any] | None, batch_id: str
) -> dict[str, Any]:
    """Shallow merge, the recipient's keys winning, `_batch_id` always ours."""
    return {**(top or {}), **(per_recipient or {}), BATCH_ID_KEY: batch_id}


class Generated(msgspec.Struct, frozen=True):
    """One recipient's message, as `messages:send` would have been asked for it."""

    index: int
    recipient: dict[str, Any]
    message: dict[str, Any]
    message_metadata: str  # JSON text: receipts carry it as their `metadata`
    conversation_metadata: dict[str, Any]


def generated_messages(
    batch: BatchRequest, batch_id: str, *, substitute: Callable[[Any, Mapping[str, str]], Any] | None = None
) -> Iterator[Generated]:
    """The fan-out: each recipient's message with its parameters substituted and its metadata
    merged (no substitution in metadata, properties or callback_url)."""
    if substitute is None:
        from .params import substitute as default

        substitute = default
    for i, rp in enumerate(batch.recipient_and_params):
        msg_md = merge_metadata(batch.message_metadata, rp.message_metadata, batch_id)
        yield Generated(
            index=i,
            recipient=rp.recipient,
            message=substitute(batch.message, rp.parameters),
            message_metadata=msgspec.json.encode(msg_md).decode(),
            conversation_metadata=merge_metadata(batch.conversation_metadata, rp.conversation_metadata, batch_id),
        )
