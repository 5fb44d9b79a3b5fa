"""Conversations: the stored/returned object, create and update.

As in the Conversation API reference (Conversations,
https://developers.sinch.com/docs/conversation/api-reference/conversation/tag/Conversation/):
a create needs `app_id` and `contact_id` (any `id` is ignored); `metadata` (deprecated) holds
up to 1024 characters, `metadata_json` any JSON object, `correlation_id` up to 128
characters; `last_received` is the epoch while the conversation has no messages. A PATCH
writes `metadata_json` whole (`REPLACE`, the default) or as a JSON merge patch (`MERGE_PATCH`,
RFC 7386).

Being active is decided by sending, receiving and `:stop`, not written by PATCH (there is at
most one active conversation per app and contact, which the store guards); an explicitly
created conversation is active unless the request says otherwise.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..errors import InvalidRequest
from . import fields as f
from .types import CHANNELS

MAX_METADATA = 1024
MAX_CORRELATION_ID = 128
EPOCH = "1970-01-01T00:00:00Z"
NO_CHANNEL = "CHANNEL_UNSPECIFIED"
READ_ONLY = ("id", "app_id", "contact_id", "active", "last_received")
STRATEGIES = ("REPLACE", "MERGE_PATCH")


class Conversation(msgspec.Struct):
    id: str = ""
    app_id: str = ""
    contact_id: str = ""
    active: bool = False
    active_channel: str = NO_CHANNEL
    metadata: str = ""
    metadata_json: dict[str, Any] = {}
    correlation_id: str = ""
    last_received: str = EPOCH


DEFAULTS: dict[str, Any] = msgspec.to_builtins(Conversation())
WRITABLE = tuple(k for k in DEFAULTS if k not in READ_ONLY)


def _normalise(data: dict[str, Any]) -> Conversation:
    c = f.convert(f.strip_nulls(data, opaque=("metadata_json",)), Conversation)
    if c.active_channel not in CHANNELS and c.active_channel != NO_CHANNEL:
        raise InvalidRequest(f"active_channel: invalid value {c.active_channel!r}")
    f.check_length(c.metadata, MAX_METADATA, "metadata")
    f.check_length(c.correlation_id, MAX_CORRELATION_ID, "correlation_id")
    return c


def decode_conversation_create(raw: bytes) -> Conversation:
    data = f.decode_object(raw)
    for k in ("id", "last_received"):
        data.pop(k, None)
    data.setdefault("active", True)
    if data["active"] is None:
        data["active"] = True
    c = _normalise(data)
    f.check_ulid(c.app_id, "app_id")
    f.check_ulid(c.contact_id, "contact_id")
    return c


def new_conversation(req: Conversation, conversation_id: str) -> Conversation:
    return msgspec.structs.replace(req, id=conversation_id, last_received=EPOCH)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def parse_strategy(value: str | None) -> str:
    """`metadata_update_strategy` (Node always sends it; absent means REPLACE)."""
    if value is None or not value.strip():
        return "REPLACE"
    v = value.strip().upper()
    if v not in STRATEGIES:
        raise InvalidRequest(f"metadata_update_strategy: invalid value {value!r}")
    return v


def apply_conversation_update(
    conversation: Conversation, body: dict[str, Any], update_mask: list[str] | None, strategy: str = "REPLACE"
) -> Conversation:
    if strategy == "MERGE_PATCH" and isinstance(body.get("metadata_json"), dict):
        body = {**body, "metadata_json": merge_patch(conversation.metadata_json, body["metadata_json"])}
    merged = f.apply_patch(
        msgspec.to_builtins(conversation), body, update_mask, fields=WRITABLE, read_only=READ_ONLY, defaults=DEFAULTS
    )
    out = _normalise(merged)
    return msgspec.structs.replace(out, **{k: getattr(conversation, k) for k in READ_ONLY})
