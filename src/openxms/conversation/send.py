"""`POST /v1/projects/{project_id}/messages:send`: the request, checked and normalised.

Fields and limits as in the `SendMessageRequest` schema of Sinch's Conversation API reference
(https://developers.sinch.com/docs/conversation/api-reference/conversation/tag/Messages/):
`app_id`, `recipient` and `message` are required; `message_metadata` is a string of at most
1024 characters (receipts carry it as `metadata`); `conversation_metadata` a JSON object of at
most 2048 characters; `correlation_id` at most 128; each `channel_properties` value at most
1024; `ttl` is `"<seconds>s"` with 3 to 315,576,000,000 seconds. An integer `ttl` is taken
too: the Node SDK turns `ttl: 30` into `"30s"` but a hand-written client may not.

`channel_properties` keys "must point to a valid channel property key as defined by the enum
ChannelPropertyKeys". We know the SMS channel's keys
(https://developers.sinch.com/docs/conversation/channel-support/sms/properties), so an
unknown `SMS_*` key is a 400 (a typo would otherwise be ignored silently) and the values are
checked: `SMS_FLASH_MESSAGE` is `true`/`false` (any case, as Python's `str(True)` gives),
`SMS_MAX_NUMBER_OF_MESSAGE_PARTS` a positive integer, `SMS_SENDER` 1..32 characters (the SMS
API's sender limit). Other channels' keys are kept as given.

`decode_send` does every check that needs only the body; `check_against_app` the ones that
need the sending app.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

import msgspec

from ..errors import InvalidRequest
from ..sms import dates
from . import fields as f
from .messages import AppMessage, Recipient, validate_app_message, validate_recipient
from .types import Channel, MessageContentType, MessageQueue, MetadataUpdateStrategy, ProcessingMode, ProcessingStrategy

MAX_MESSAGE_METADATA = 1024
MAX_CONVERSATION_METADATA = 2048
MAX_CORRELATION_ID = 128
MAX_CHANNEL_PROPERTY = 1024
MAX_SENDER = 32
TTL_SECONDS = (3, 315_576_000_000)
_TTL = re.compile(r"[0-9]+s")
_POSITIVE = re.compile(r"[0-9]+")
SMS_PREFIX = "SMS_"


class SmsProperties(msgspec.Struct, frozen=True, omit_defaults=True):
    """The SMS channel's `channel_properties`, parsed; None = not given."""

    sender: str | None = None
    flash: bool | None = None
    max_parts: int | None = None


class SendMessageRequest(msgspec.Struct, kw_only=True):
    """A checked `messages:send` body (storable as JSON). `ttl_seconds` None = no ttl;
    `conversation_metadata` None = not given (the conversation keeps what it has), `{}` = set
    to empty."""

    app_id: str
    recipient: Recipient
    message: AppMessage
    callback_url: str = ""
    channel_priority_order: list[Channel] = []
    channel_properties: dict[str, str] = {}
    sms: SmsProperties = msgspec.field(default_factory=SmsProperties)
    message_metadata: str = ""
    conversation_metadata: dict[str, Any] | None = None
    queue: MessageQueue = "NORMAL_PRIORITY"
    ttl_seconds: int | None = None
    processing_strategy: ProcessingStrategy = "DEFAULT"
    correlation_id: str = ""
    conversation_metadata_update_strategy: MetadataUpdateStrategy = "REPLACE"
    message_content_type: MessageContentType = "CONTENT_UNKNOWN"


class _Wire(msgspec.Struct):
    app_id: str
    recipient: Recipient
    message: AppMessage
    callback_url: str | None = None
    channel_priority_order: list[Channel] | None = None
    channel_properties: dict[str, str] | None = None
    message_metadata: str | None = None
    conversation_metadata: dict[str, Any] | None = None
    queue: MessageQueue | None = None
    ttl: int | str | None = None
    processing_strategy: ProcessingStrategy | None = None
    correlation_id: str | None = None
    conversation_metadata_update_strategy: MetadataUpdateStrategy | None = None
    message_content_type: MessageContentType | None = None


def decode_send(raw: bytes | str) -> SendMessageRequest:
    """The `messages:send` body, checked; every problem is an InvalidRequest (400) naming the
    field. Explicit nulls are absent fields, except inside `conversation_metadata` (free JSON,
    where a null is a value, e.g. for a MERGE_PATCH)."""
    try:
        return _decode_send(raw)
    except RecursionError:
        # The decoder takes nesting up to about Python's recursion limit; the recursive walks
        # after it (null stripping, conversion) need more frames per level.
        raise InvalidRequest("request body is nested too deeply") from None


_WIRE_DECODER = msgspec.json.Decoder(_Wire)


def _wire(raw: bytes | str) -> _Wire:
    """The body as `_Wire`. The usual body (no `null` in it, so nothing to drop) decodes
    straight into the Struct, several times faster than decoding to Python values and
    converting; a body that does not decode so takes the general path, which names the
    problem."""
    if (b"null" not in raw) if isinstance(raw, bytes) else ("null" not in raw):
        try:
            return _WIRE_DECODER.decode(raw)
        except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
            pass
    data = f.decode_object(raw)
    for name in ("app_id", "recipient", "message"):
        if data.get(name) is None:
            raise InvalidRequest(f"{name} is required")
    return f.convert(f.strip_nulls(data, ("conversation_metadata",)), _Wire)


def _decode_send(raw: bytes | str) -> SendMessageRequest:
    w = _wire(raw)
    f.check_ulid(w.app_id, "app_id")
    validate_recipient(w.recipient)
    validate_app_message(w.message)
    if w.callback_url:
        f.check_url(w.callback_url, "callback_url")
    metadata = w.message_metadata or ""
    f.check_length(metadata, MAX_MESSAGE_METADATA, "message_metadata")
    if w.conversation_metadata is not None:
        size = len(msgspec.json.encode(w.conversation_metadata).decode())
        if size > MAX_CONVERSATION_METADATA:
            raise InvalidRequest(
                f"conversation_metadata is {size} characters as JSON; at most {MAX_CONVERSATION_METADATA}"
            )
    correlation_id = w.correlation_id or ""
    f.check_length(correlation_id, MAX_CORRELATION_ID, "correlation_id")
    properties = dict(w.channel_properties or {})
    return SendMessageRequest(
        app_id=w.app_id,
        recipient=w.recipient,
        message=w.message,
        callback_url=w.callback_url or "",
        channel_priority_order=list(w.channel_priority_order or ()),
        channel_properties=properties,
        sms=channel_properties(properties),
        message_metadata=metadata,
        conversation_metadata=w.conversation_metadata,
        queue=w.queue or "NORMAL_PRIORITY",
        ttl_seconds=parse_ttl(w.ttl),
        processing_strategy=w.processing_strategy or "DEFAULT",
        correlation_id=correlation_id,
        conversation_metadata_update_strategy=w.conversation_metadata_update_strategy or "REPLACE",
        message_content_type=w.message_content_type or "CONTENT_UNKNOWN",
    )


def parse_ttl(value: int | str | None, field: str = "ttl") -> int | None:
    """Seconds from `"<seconds>s"` or an integer, 3 to 315,576,000,000; None if absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidRequest(f'{field} must look like "30s", got {value!r}')
    if isinstance(value, str):
        if not _TTL.fullmatch(value):
            raise InvalidRequest(f'{field} must look like "30s", got {value!r}')
        value = int(value[:-1])
    f.check_range(value, *TTL_SECONDS, f"{field} (seconds)")
    return value


def channel_properties(properties: Mapping[str, str], where: str = "channel_properties") -> SmsProperties:
    """Check every value's length and the SMS channel's keys and values (module docstring);
    return the SMS ones parsed."""
    sms: dict[str, Any] = {}
    for key, value in properties.items():
        path = f"{where}.{key}"
        f.check_length(value, MAX_CHANNEL_PROPERTY, path)
        if not key.startswith(SMS_PREFIX):
            continue
        if key == "SMS_SENDER":
            if not value.strip():
                raise InvalidRequest(f"{path} must not be empty")
            f.check_length(value, MAX_SENDER, path)
            sms["sender"] = value.strip()
        elif key == "SMS_FLASH_MESSAGE":
            if value.strip().lower() not in ("true", "false"):
                raise InvalidRequest(f'{path} must be "true" or "false", got {value!r}')
            sms["flash"] = value.strip().lower() == "true"
        elif key == "SMS_MAX_NUMBER_OF_MESSAGE_PARTS":
            if not _POSITIVE.fullmatch(value.strip()) or int(value) < 1:
                raise InvalidRequest(f"{path} must be a positive integer, got {value!r}")
            sms["max_parts"] = int(value)
        else:
            raise InvalidRequest(
                f"{where}: unknown SMS channel property {key!r} (known: SMS_SENDER, "
                "SMS_FLASH_MESSAGE, SMS_MAX_NUMBER_OF_MESSAGE_PARTS)"
            )
    return SmsProperties(**sms)


def check_against_app(
    req: SendMessageRequest, app_channels: Collection[str], app_processing_mode: ProcessingMode
) -> ProcessingMode:
    """The checks that need the sending app; returns the effective processing mode.

    Every `channel_priority_order` channel must be configured on the app ("or the request
    will be rejected"). DISPATCH (the app's mode, or forced by DISPATCH_ONLY) stores no
    contacts, so the recipient must be `identified_by`. DISPATCH_ONLY on a CONVERSATION app
    does not support `conversation_metadata` or `correlation_id` (Sinch's ProcessingStrategy
    description), so they are refused rather than dropped."""
    for i, channel in enumerate(req.channel_priority_order):
        if channel not in app_channels:
            raise InvalidRequest(
                f"channel_priority_order[{i}]: channel {channel} is not configured on app {req.app_id}"
            )
    mode: ProcessingMode = "DISPATCH" if req.processing_strategy == "DISPATCH_ONLY" else app_processing_mode
    if mode == "DISPATCH" and req.recipient.contact_id is not None:
        raise InvalidRequest("recipient.contact_id cannot be used in DISPATCH processing mode; use identified_by")
    if req.processing_strategy == "DISPATCH_ONLY" and app_processing_mode == "CONVERSATION":
        for name in ("conversation_metadata", "correlation_id"):
            if getattr(req, name):
                raise InvalidRequest(
                    f"{name} is not supported with processing_strategy DISPATCH_ONLY on an app in CONVERSATION mode"
                )
    return mode


def response(message_id: str, accepted_ms: int) -> dict[str, str]:
    """The 200 body: `{"message_id", "accepted_time"}` (the Python SDK requires `message_id`)."""
    return {"message_id": message_id, "accepted_time": dates.format(accepted_ms)}
