"""Conversation API callbacks for the SMS channel: what an SMS outcome means as a delivery
receipt, and the MESSAGE_DELIVERY, MESSAGE_INBOUND and MESSAGE_SUBMIT bodies.

Payload shapes as in Sinch's callback reference
(https://developers.sinch.com/docs/conversation/callbacks/) and the `MessageDeliveryReceiptEvent`,
`MessageInboundEvent` and `MessageSubmitEvent` schemas: an envelope (`app_id`, `project_id`,
`accepted_time`, `event_time`, `message_metadata`, `correlation_id`) and exactly one
trigger key (both SDKs pick the event type by that key). Times are RFC 3339 UTC with
milliseconds and `Z`. Every documented field is sent, `""` when empty, as Sinch's examples
do; `reason` only on FAILED and SWITCHING_CHANNEL. The builders return plain dicts; `encode`
makes the bytes that are signed and posted (sign exactly those).

SMS outcome -> DeliveryStatus and ReasonCode (a recipient row's Sinch SMS status and code,
https://developers.sinch.com/docs/sms/api-reference/status-codes/; reason descriptions from
the ReasonCode enum of the Conversation API reference):

    Queued (400)        no receipt: still in our queue, not yet on the channel
    Dispatched (401)    QUEUED_ON_CHANNEL
    Delivered (0)       DELIVERED
    Expired             FAILED DELIVERY_TIMED_OUT, whatever the code
    Unknown             no receipt: the carrier never told (no DLR, or none we could read), so
                        the message stays QUEUED_ON_CHANNEL, which Sinch says SMS may do;
                        FAILED would be wrong as often as DELIVERED
    Cancelled (407)     FAILED UNKNOWN (no Conversation status for "cancelled")
    Rejected            FAILED CHANNEL_REJECT ("channel permanently rejecting a message")
    Failed, Deleted     FAILED RECIPIENT_NOT_REACHABLE
    Aborted             FAILED RECIPIENT_NOT_REACHABLE

refined by the code, for any failing status:

    402 unroutable                          RECIPIENT_NOT_REACHABLE
    403 internal error                      INTERNAL_ERROR
    404 temporary delivery failure          CHANNEL_FAILURE (transient)
    405 unmatched parameter, 411 too many
        parts                               BAD_REQUEST (the message cannot go as it is)
    406 internal expiry                     DELIVERY_TIMED_OUT (ttl passed before dispatch)
    408 internal reject                     CHANNEL_REJECT
    410 no originator, 412 unprovisioned
        region                              CHANNEL_BAD_CONFIGURATION: the app's SMS channel
                                            (its service plan) has no sender or cannot send
                                            there, which is configuration, not the recipient
    413 account blocked                     NO_PERMISSION
    414 bad media                           MEDIA_NOT_REACHABLE
    416 not supported                       UNSUPPORTED_OPERATION
    418 content not recognised              MEDIA_TYPE_UNSUPPORTED
    SMPP 9, 10, 100, 108, 150               RECIPIENT_INVALID_CHANNEL_IDENTITY (unsupported
        (number plan/type, unidentified     number plan or type, unidentified or unknown
        or unknown subscriber, bad address) subscriber, invalid address)
    SMPP 15, 16, 19, 60-67                  DELIVERY_REJECTED_DUE_TO_POLICY (screening)

(SMPP codes as in Sinch's SMPP error specification,
https://developers.sinch.com/docs/sms/smpp/error-codes.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..sms import dates
from ..sms import statuses as st
from .types import ChannelIdentity, DeliveryStatus, ProcessingMode, Reason

_NO_RECEIPT = frozenset({st.QUEUED, st.UNKNOWN})
_BY_STATUS: dict[str, str] = {
    st.EXPIRED: "DELIVERY_TIMED_OUT",
    st.CANCELLED: "UNKNOWN",
    st.REJECTED: "CHANNEL_REJECT",
    st.FAILED: "RECIPIENT_NOT_REACHABLE",
    st.DELETED: "RECIPIENT_NOT_REACHABLE",
    st.ABORTED: "RECIPIENT_NOT_REACHABLE",
}
# Sinch SMS REST codes: (reason, what the code means).
_BY_CODE: dict[int, tuple[str, str]] = {
    402: ("RECIPIENT_NOT_REACHABLE", "message unroutable"),
    403: ("INTERNAL_ERROR", "internal error"),
    404: ("CHANNEL_FAILURE", "temporary delivery failure"),
    405: ("BAD_REQUEST", "unmatched parameter"),
    406: ("DELIVERY_TIMED_OUT", "expired before it was dispatched"),
    407: ("UNKNOWN", "cancelled"),
    408: ("CHANNEL_REJECT", "rejected"),
    410: ("CHANNEL_BAD_CONFIGURATION", "no sender for this message"),
    411: ("BAD_REQUEST", "more parts than SMS_MAX_NUMBER_OF_MESSAGE_PARTS"),
    412: ("CHANNEL_BAD_CONFIGURATION", "region not provisioned"),
    413: ("NO_PERMISSION", "account blocked"),
    414: ("MEDIA_NOT_REACHABLE", "bad media"),
    415: ("CHANNEL_REJECT", "rejected"),
    416: ("UNSUPPORTED_OPERATION", "not supported"),
    417: ("RECIPIENT_NOT_REACHABLE", "destination unreachable"),
    418: ("MEDIA_TYPE_UNSUPPORTED", "content not recognised by the handset"),
}
INVALID_IDENTITY_CODES = frozenset({9, 10, 100, 108, 150})
POLICY_CODES = frozenset({15, 16, 19, *range(60, 68)})
FAILING = frozenset({"FAILED", "SWITCHING_CHANNEL"})


class Outcome(msgspec.Struct, frozen=True):
    """A receipt to send: a status, with a reason when it is FAILED."""

    status: DeliveryStatus
    reason: Reason | None = None


def from_sms(status: str, code: int | None) -> Outcome | None:
    """The receipt an SMS recipient's status and code call for; None when they call for none
    (module docstring). ValueError if `status` is not a Sinch SMS status."""
    s = st.canonical(status)
    if s is None:
        raise ValueError(f"not an SMS status: {status!r}")
    if s in _NO_RECEIPT:
        return None
    if s == st.DISPATCHED:
        return Outcome("QUEUED_ON_CHANNEL")
    if s == st.DELIVERED:
        return Outcome("DELIVERED")
    known = _BY_CODE.get(code) if code is not None else None
    if s == st.EXPIRED:  # whatever the carrier's code, the validity period ran out
        reason, meaning = "DELIVERY_TIMED_OUT", ""
    elif known is not None:
        reason, meaning = known
    elif code in INVALID_IDENTITY_CODES:
        reason, meaning = "RECIPIENT_INVALID_CHANNEL_IDENTITY", "invalid number"
    elif code in POLICY_CODES:
        reason, meaning = "DELIVERY_REJECTED_DUE_TO_POLICY", "blocked by screening"
    else:
        reason, meaning = _BY_STATUS[s], ""
    text = f"SMS {s}" + (f", code {code}" if code is not None else "") + (f" ({meaning})" if meaning else "")
    return Outcome("FAILED", Reason(reason, text))  # type: ignore[arg-type]


def encode(payload: Mapping[str, Any]) -> bytes:
    """The callback body as compact JSON bytes."""
    return msgspec.json.encode(payload)


def _identity(ci: ChannelIdentity | Mapping[str, str]) -> dict[str, str]:
    if isinstance(ci, ChannelIdentity):
        return {"channel": ci.channel, "identity": ci.identity, "app_id": ci.app_id}
    return {"channel": ci["channel"], "identity": ci["identity"], "app_id": ci.get("app_id") or ""}


def _envelope(
    app_id: str, project_id: str, accepted_ms: int, event_ms: int, message_metadata: str, correlation_id: str
) -> dict[str, Any]:
    return {
        "app_id": app_id,
        "project_id": project_id,
        "accepted_time": dates.format(accepted_ms),
        "event_time": dates.format(event_ms),
        "message_metadata": message_metadata,
        "correlation_id": correlation_id,
    }


def delivery_event(
    *,
    app_id: str,
    project_id: str,
    message_id: str,
    status: DeliveryStatus,
    channel_identity: ChannelIdentity | Mapping[str, str],
    accepted_ms: int,
    event_ms: int,
    reason: Reason | None = None,
    conversation_id: str = "",
    contact_id: str = "",
    metadata: str = "",
    processing_mode: ProcessingMode = "DISPATCH",
    message_metadata: str = "",
    correlation_id: str = "",
) -> dict[str, Any]:
    """MESSAGE_DELIVERY. `metadata` is the send's `message_metadata` string (a batch message's
    merged metadata JSON); the envelope's `message_metadata` is Sinch's own context (for SMS
    `{"sms_batch_id": ...}`), "" if none. `accepted_ms` is when we took the channel's report,
    `event_ms` the channel's time. A FAILED or SWITCHING_CHANNEL receipt without a reason gets
    UNKNOWN; any other status never carries one. In DISPATCH mode pass no conversation or
    contact id."""
    report: dict[str, Any] = {
        "message_id": message_id,
        "conversation_id": conversation_id,
        "status": status,
        "channel_identity": _identity(channel_identity),
        "contact_id": contact_id,
        "metadata": metadata,
        "processing_mode": processing_mode,
    }
    if status in FAILING:
        r = reason or Reason("UNKNOWN")
        report["reason"] = {"code": r.code, "description": r.description, "sub_code": r.sub_code}
    return {
        **_envelope(app_id, project_id, accepted_ms, event_ms, message_metadata, correlation_id),
        "message_delivery_report": report,
    }


def inbound_event(
    *,
    app_id: str,
    project_id: str,
    message_id: str,
    text: str,
    channel_identity: ChannelIdentity | Mapping[str, str],
    sender_id: str,
    accepted_ms: int,
    event_ms: int,
    conversation_id: str = "",
    contact_id: str = "",
    processing_mode: ProcessingMode = "DISPATCH",
    conversation_metadata: Mapping[str, Any] | None = None,
    correlation_id: str = "",
    metadata: str = "",
    injected: bool = False,
) -> dict[str, Any]:
    """MESSAGE_INBOUND for an SMS MO: `message.contact_message.text_message`, direction TO_APP,
    `sender_id` the number the contact wrote to. The envelope's `message_metadata` is the
    conversation (or, in DISPATCH, the identity's) metadata as a JSON string, "" when there
    is none; pass None when the app's `conversation_metadata_report_view` is NONE ("omit
    metadata"). `correlation_id` is the last one sent to this conversation or identity."""
    md = "" if conversation_metadata is None else msgspec.json.encode(conversation_metadata).decode()
    message = {
        "id": message_id,
        "direction": "TO_APP",
        "contact_message": {"text_message": {"text": text}},
        "channel_identity": _identity(channel_identity),
        "conversation_id": conversation_id,
        "contact_id": contact_id,
        "metadata": metadata,
        "accept_time": dates.format(accepted_ms),
        "sender_id": sender_id,
        "processing_mode": processing_mode,
        "injected": injected,
    }
    return {**_envelope(app_id, project_id, accepted_ms, event_ms, md, correlation_id), "message": message}


def submit_event(
    *,
    app_id: str,
    project_id: str,
    message_id: str,
    submitted_message: Any,
    channel_identity: ChannelIdentity | Mapping[str, str],
    accepted_ms: int,
    event_ms: int,
    conversation_id: str = "",
    contact_id: str = "",
    metadata: str = "",
    processing_mode: ProcessingMode = "DISPATCH",
    message_metadata: str = "",
    correlation_id: str = "",
) -> dict[str, Any]:
    """MESSAGE_SUBMIT, when the message is handed to the channel (before any receipt).
    `submitted_message` is the AppMessage as sent (a Struct or its JSON)."""
    sent = (
        msgspec.to_builtins(submitted_message) if isinstance(submitted_message, msgspec.Struct) else submitted_message
    )
    notification = {
        "message_id": message_id,
        "conversation_id": conversation_id,
        "channel_identity": _identity(channel_identity),
        "contact_id": contact_id,
        "submitted_message": sent,
        "metadata": metadata,
        "processing_mode": processing_mode,
    }
    return {
        **_envelope(app_id, project_id, accepted_ms, event_ms, message_metadata, correlation_id),
        "message_submit_notification": notification,
    }
