"""A Conversation batch after acceptance: its status lifecycle, the status reads and cancel.

Sinch's Batch API (https://developers.sinch.com/docs/conversation/api-reference/batch-api):
a batch is SCHEDULED until its `send_after`, READY when due, PROCESSED once fanned out, or
CANCELLED (only while SCHEDULED and not yet due). Cancelling always answers 200 because it
runs asynchronously, so the cancel body parser never fails. The send request and the fan-out
are `batches.py`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import InvalidRequest
from .batches import format_time

# --- status ---------------------------------------------------------------------------------

TRANSITIONS: dict[str, frozenset[str]] = {
    "SCHEDULED": frozenset({"READY", "CANCELLED"}),
    "READY": frozenset({"PROCESSED"}),
    "PROCESSED": frozenset(),
    "CANCELLED": frozenset(),
}


class InvalidTransition(ValueError):
    pass


def initial_status(send_after_ms: int | None, now_ms: int) -> str:
    """SCHEDULED while the effective send_after is in the future, else READY."""
    return "SCHEDULED" if send_after_ms is not None and send_after_ms > now_ms else "READY"


def can_transition(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def transition(current: str, new: str) -> str:
    """`new` if the lifecycle allows `current -> new`, else InvalidTransition."""
    if not can_transition(current, new):
        raise InvalidTransition(f"a {current} batch cannot become {new}")
    return new


def status_object(batch_id: str, batch_metadata: Mapping[str, str], status: str, send_after_ms: int) -> dict[str, Any]:
    """`GET .../messages/{batch_id}`: note Sinch's spelling `meta_data`."""
    return {
        "batch_id": batch_id,
        "meta_data": dict(batch_metadata),
        "status": status,
        "send_after": format_time(send_after_ms),
    }


def metadata_query(params: Mapping[str, str]) -> tuple[str, str]:
    """`GET .../messages?metadataKey=&metadataValue=` (both required; snake_case accepted)."""
    key = params.get("metadataKey", params.get("metadata_key"))
    value = params.get("metadataValue", params.get("metadata_value"))
    if not key:
        raise InvalidRequest("metadataKey is required")
    if value is None:
        raise InvalidRequest("metadataValue is required")
    return key, value


# --- cancel ---------------------------------------------------------------------------------


class CancelSelector(msgspec.Struct, frozen=True):
    """Which batches a cancel names: one id, or every batch whose metadata has key == value.
    Which of them may still be cancelled (SCHEDULED, `send_after` not reached) is decided by
    the store's UPDATE, in the same statement that cancels them (store/conversation/batches.py,
    `cancel`), so a batch falling due meanwhile is never both sent and cancelled."""

    batch_id: str | None = None
    key: str | None = None
    value: str | None = None


def parse_cancel(raw: bytes | None, params: Mapping[str, str] | None = None) -> CancelSelector | None:
    """`DELETE .../messages`: `{"batch_id"}`, or a metadata pair as `metadata_key`/`metadata_value`
    or `metadataKey`/`metadataValue` (body or query), or `{"batch_metadata": {K: V}}` with one
    pair. The field names for cancel-by-metadata are not published, hence the leniency. None
    (nothing to cancel) for anything else; this never raises. A batch id wins over metadata."""
    try:
        body = msgspec.json.decode(raw) if raw and raw.strip() else {}
    except (msgspec.DecodeError, TypeError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    params = params or {}
    for source in (body, params):
        bid = source.get("batch_id")
        if isinstance(bid, str) and bid.strip():
            return CancelSelector(batch_id=bid.strip())
    for source in (body, params):
        for k_name, v_name in (("metadata_key", "metadata_value"), ("metadataKey", "metadataValue")):
            key, value = source.get(k_name), source.get(v_name)
            if isinstance(key, str) and key and isinstance(value, str):
                return CancelSelector(key=key, value=value)
    md = body.get("batch_metadata")
    if isinstance(md, dict) and len(md) == 1:
        ((key, value),) = md.items()
        if key and isinstance(value, str):
            return CancelSelector(key=key, value=value)
    return None
