"""Delivery report objects (spec §4.3, §4.4), for the pull endpoints and the callbacks alike."""

from __future__ import annotations

from typing import Any

from . import dates


def _mms(batch_type: str) -> bool:
    return batch_type == "mt_media"


def batch_report(batch_id: str, batch_type: str, total: int, statuses: list[tuple[int, str, int, list[str]]],
                 client_reference: str | None, full: bool) -> dict[str, Any]:
    """`statuses`: (code, status, count, recipients); recipients are listed only for `full`."""
    out: dict[str, Any] = {
        "type": "delivery_report_mms" if _mms(batch_type) else "delivery_report_sms",
        "batch_id": batch_id,
        "total_message_count": total,
        "statuses": [
            {"code": code, "status": status, "count": count, **({"recipients": rec} if full else {})}
            for code, status, count, rec in statuses
        ],
    }
    if client_reference is not None:
        out["client_reference"] = client_reference
    return out


def recipient_report(batch_id: str, batch_type: str, recipient: str, code: int, status: str, at: int,
                     operator_status_at: int | None, client_reference: str | None,
                     parts: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "recipient_delivery_report_mms" if _mms(batch_type) else "recipient_delivery_report_sms",
        "batch_id": batch_id,
        "recipient": recipient,
        "code": code,
        "status": status,
        "at": dates.format(at),
    }
    if operator_status_at is not None:
        out["operator_status_at"] = dates.format(operator_status_at)
    if client_reference is not None:
        out["client_reference"] = client_reference
    if parts:
        out["number_of_message_parts"] = parts
    return out
