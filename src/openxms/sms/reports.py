"""Delivery report objects, for the pull endpoints and the callbacks alike
(https://developers.sinch.com/docs/sms/api-reference/sms/tag/Delivery-reports/)."""

from __future__ import annotations

from typing import Any

import msgspec

from . import dates
from .objects import BatchDeliveryReport, RecipientDeliveryReport, Status, StatusCount


def _mms(batch_type: str) -> bool:
    return batch_type == "mt_media"


def batch_delivery_report(
    batch_id: str,
    batch_type: str,
    total: int,
    statuses: list[tuple[int, Status, int, list[str]]],
    client_reference: str | None,
    full: bool,
) -> BatchDeliveryReport:
    """`statuses`: (code, status, count, recipients); recipients are listed only for `full`."""
    return BatchDeliveryReport(
        type="delivery_report_mms" if _mms(batch_type) else "delivery_report_sms",
        batch_id=batch_id,
        total_message_count=total,
        statuses=[StatusCount(code, status, count, rec if full else None) for code, status, count, rec in statuses],
        client_reference=client_reference,
    )


def recipient_delivery_report(
    batch_id: str,
    batch_type: str,
    recipient: str,
    code: int,
    status: Status,
    at: int,
    operator_status_at: int | None,
    client_reference: str | None,
    parts: int | None = None,
) -> RecipientDeliveryReport:
    return RecipientDeliveryReport(
        type="recipient_delivery_report_mms" if _mms(batch_type) else "recipient_delivery_report_sms",
        batch_id=batch_id,
        recipient=recipient,
        code=code,
        status=status,
        at=dates.format(at),
        operator_status_at=dates.format(operator_status_at) if operator_status_at is not None else None,
        client_reference=client_reference,
        number_of_message_parts=parts or None,
    )


def recipient_report_of(r: Any) -> RecipientDeliveryReport:
    """The report of a recipient row that has batch_id, batch_type, msisdn, code, status,
    status_at, operator_status_at, client_reference and parts."""
    return recipient_delivery_report(
        r.batch_id,
        r.batch_type or "mt_text",
        r.msisdn,
        r.code,
        r.status,
        r.status_at,
        r.operator_status_at,
        r.client_reference,
        r.parts,
    )


# The same objects as plain dicts, for callers that serialise with `json` (the callback outbox in
# engine/status.py); built from the Structs above, so there is still one field list.


def batch_report(*args: Any, **kw: Any) -> dict[str, Any]:
    return msgspec.to_builtins(batch_delivery_report(*args, **kw))


def recipient_report(*args: Any, **kw: Any) -> dict[str, Any]:
    return msgspec.to_builtins(recipient_delivery_report(*args, **kw))
