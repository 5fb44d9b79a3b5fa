"""The objects the API returns, declared once: the code builds and encodes these Structs, and
`http/openapi.py` takes its response schemas from them.

Shapes follow the Sinch SMS REST API reference
(https://developers.sinch.com/docs/sms/api-reference/sms/): an absent value is omitted, never
`null` (`omit_defaults` with `None` defaults; fields Sinch always sends have no default).
`kw_only` lets required and optional fields interleave, so keys come out in the order Sinch
writes them. msgspec writes datetimes as plain strings, so timestamps are `Timestamp` (a
string with `format: date-time` in the schema) and are formatted by `sms/dates.py`.

List envelopes (`BatchList`, ...) may hold stored documents as `msgspec.Raw` items: batch and
inbound documents are kept as JSON text and served as they are.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

Timestamp = Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
Status = Literal[
    "Queued", "Dispatched", "Aborted", "Cancelled", "Rejected", "Deleted", "Delivered", "Failed", "Expired", "Unknown"
]
BatchType = Literal["mt_text", "mt_binary", "mt_media"]
ReportMode = Literal["none", "summary", "full", "per_recipient", "per_recipient_final"]
InboundType = Literal["mo_text", "mo_binary", "mo_media"]
PageSize = Annotated[int, Meta(description="number of items in this page")]
Parameters = dict[str, dict[str, str]]


class MediaBody(Struct, omit_defaults=True):
    """The body of an `mt_media` batch, in requests and responses alike."""

    url: str
    message: str | None = None
    subject: str | None = None


class Batch(Struct, omit_defaults=True, kw_only=True):
    id: str
    to: list[str]
    from_: str | None = field(default=None, name="from")
    canceled: bool
    parameters: Parameters | None = None
    body: str | MediaBody
    udh: str | None = None
    type: BatchType
    created_at: Timestamp
    modified_at: Timestamp
    delivery_report: ReportMode
    send_at: Timestamp | None = None
    expire_at: Timestamp
    callback_url: str | None = None
    client_reference: str | None = None
    feedback_enabled: bool
    flash_message: bool | None = None
    truncate_concat: bool | None = None
    max_number_of_message_parts: int | None = None
    from_ton: int | None = None
    from_npi: int | None = None
    strict_validation: bool | None = None


class BatchList(Struct):
    count: int
    page: int
    page_size: PageSize
    batches: list[Batch]


class DryRunRecipient(Struct):
    recipient: str
    body: str
    number_of_parts: int
    encoding: Literal["text", "unicode"]  # encoding.Encoding


class DryRun(Struct, omit_defaults=True):
    number_of_recipients: int
    number_of_messages: int
    per_recipient: list[DryRunRecipient] | None = None


class StatusCount(Struct, omit_defaults=True):
    code: int
    status: Status
    count: int
    recipients: list[str] | None = None  # only in `full` reports


class BatchDeliveryReport(Struct, omit_defaults=True):
    type: Literal["delivery_report_sms", "delivery_report_mms"]
    batch_id: str
    total_message_count: int
    statuses: list[StatusCount]
    client_reference: str | None = None


class RecipientDeliveryReport(Struct, omit_defaults=True):
    type: Literal["recipient_delivery_report_sms", "recipient_delivery_report_mms"]
    batch_id: str
    recipient: str
    code: int
    status: Status
    at: Timestamp
    operator_status_at: Timestamp | None = None
    client_reference: str | None = None
    number_of_message_parts: int | None = None


class DeliveryReportList(Struct):
    count: int
    page: int
    page_size: PageSize
    delivery_reports: list[RecipientDeliveryReport]


class Keyword(Struct, omit_defaults=True):
    first_word: str
    second_word: str | None = None


class AutoUpdate(Struct, omit_defaults=True):
    to: str
    add: Keyword | None = None
    remove: Keyword | None = None


class Group(Struct, omit_defaults=True, kw_only=True):
    id: str
    name: str | None = None
    size: int
    created_at: Timestamp
    modified_at: Timestamp
    child_groups: list[str]
    auto_update: AutoUpdate | None = None


class GroupList(Struct):
    count: int
    page: int
    page_size: PageSize
    groups: list[Group]


class InboundMessage(Struct, omit_defaults=True, kw_only=True):
    type: InboundType
    id: str
    from_: str = field(name="from")
    to: str
    body: str
    udh: str | None = None  # mo_binary only
    received_at: Timestamp
    sent_at: Timestamp | None = None
    operator_id: str | None = None
    client_reference: str | None = None


class InboundList(Struct):
    count: int
    page: int
    page_size: PageSize
    inbounds: list[InboundMessage]


class Token(Struct):
    """`POST /oauth2/token` (RFC 6749 section 5.1)."""

    access_token: str
    expires_in: int
    scope: str
    token_type: str
