"""Conversation apps: the stored/returned object, create and update rules.

Fields, limits and defaults as in the Conversation API reference (Apps,
https://developers.sinch.com/docs/conversation/api-reference/conversation/tag/App/). Every
documented field is returned, with its default when unset: the Python SDK parses integers
strictly (`"180"` is refused), needs `channel` in each credential, both `claimed_identity`
and `token` in a `static_bearer`, and `status` in a credential's `state`.

Integers that are 0 count as unset, as for any proto3 server (which cannot tell 0 from
absent): `retention_policy.ttl_days: 0` means the default 180 days.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ..errors import InvalidRequest
from . import fields as f
from .types import (
    Channel,
    ChannelIntegrationStatus,
    ConversationMetadataReportView,
    ProcessingMode,
    RetentionPolicyType,
)

# The credential object each channel takes (the SDK's own mapping, sinch 2.3.0
# `conversation/models/v1/internal/mappers/app_mappers.py`); LINE takes either of two.
CREDENTIAL_KEYS: dict[str, tuple[str, ...]] = {
    "SMS": ("static_bearer",),
    "RCS": ("static_bearer",),
    "WHATSAPP": ("static_bearer",),
    "VIBERBM": ("static_bearer",),
    "MESSENGER": ("static_token",),
    "MMS": ("mms_credentials",),
    "INSTAGRAM": ("instagram_credentials",),
    "TELEGRAM": ("telegram_credentials",),
    "KAKAOTALK": ("kakaotalk_credentials",),
    "KAKAOTALKCHAT": ("kakaotalkchat_credentials",),
    "WECHAT": ("wechat_credentials",),
    "APPLEBC": ("applebc_credentials",),
    "LINE": ("line_credentials", "line_enterprise_credentials"),
}
_ALL_CREDENTIAL_KEYS = tuple(dict.fromkeys(k for keys in CREDENTIAL_KEYS.values() for k in keys))
_OPAQUE = frozenset(k for keys in CREDENTIAL_KEYS.values() for k in keys) - {"static_bearer"}
_CREDENTIAL_READ_ONLY = ("state", "channel_known_id")
READ_ONLY = ("id", "rate_limits", "queue_stats")
# Channels openxms delivers itself; the others are stored and reported PENDING.
ACTIVE_CHANNELS = frozenset({"SMS"})
MAX_CALLBACK_SECRET = 256


class StaticBearer(msgspec.Struct):
    """For SMS: `claimed_identity` is the SMS service plan id, `token` its API token."""

    claimed_identity: str
    token: str


class ChannelState(msgspec.Struct):
    status: ChannelIntegrationStatus = "PENDING"
    description: str = ""


class ChannelCredential(msgspec.Struct):
    channel: Channel
    static_bearer: StaticBearer | UnsetType = UNSET
    # Other channels' credentials are kept as given (openxms does not deliver on them).
    static_token: dict[str, Any] | UnsetType = UNSET
    mms_credentials: dict[str, Any] | UnsetType = UNSET
    instagram_credentials: dict[str, Any] | UnsetType = UNSET
    telegram_credentials: dict[str, Any] | UnsetType = UNSET
    kakaotalk_credentials: dict[str, Any] | UnsetType = UNSET
    kakaotalkchat_credentials: dict[str, Any] | UnsetType = UNSET
    line_credentials: dict[str, Any] | UnsetType = UNSET
    line_enterprise_credentials: dict[str, Any] | UnsetType = UNSET
    wechat_credentials: dict[str, Any] | UnsetType = UNSET
    applebc_credentials: dict[str, Any] | UnsetType = UNSET
    callback_secret: str = ""
    state: ChannelState = msgspec.field(default_factory=ChannelState)
    channel_known_id: str = ""
    credential_ordinal_number: int = 0


class RetentionPolicy(msgspec.Struct):
    retention_type: RetentionPolicyType = "MESSAGE_EXPIRE_POLICY"
    ttl_days: int = 180


class DispatchRetentionPolicy(msgspec.Struct):
    retention_type: Literal["MESSAGE_EXPIRE_POLICY"] = "MESSAGE_EXPIRE_POLICY"  # the only type for dispatch
    ttl_days: int = 0


class SmartConversation(msgspec.Struct):
    enabled: bool = False


class CallbackSettings(msgspec.Struct):
    secret_for_overridden_callback_urls: str = ""


class MessageRetrySettings(msgspec.Struct):
    retry_duration: int = 3600


class DeliveryReportBasedFallback(msgspec.Struct):
    enabled: bool = False
    delivery_report_waiting_time: int = 0


class RateLimits(msgspec.Struct):
    inbound: int = 25
    outbound: int = 25
    webhooks: int = 25


class QueueStats(msgspec.Struct):
    outbound_size: int = 0
    outbound_limit: int = 500_000


class App(msgspec.Struct):
    id: str = ""
    display_name: str = ""
    channel_credentials: list[ChannelCredential] = []
    processing_mode: ProcessingMode = "DISPATCH"
    conversation_metadata_report_view: ConversationMetadataReportView = "NONE"
    rate_limits: RateLimits = msgspec.field(default_factory=RateLimits)
    retention_policy: RetentionPolicy = msgspec.field(default_factory=RetentionPolicy)
    dispatch_retention_policy: DispatchRetentionPolicy = msgspec.field(default_factory=DispatchRetentionPolicy)
    smart_conversation: SmartConversation = msgspec.field(default_factory=SmartConversation)
    queue_stats: QueueStats = msgspec.field(default_factory=QueueStats)
    callback_settings: CallbackSettings = msgspec.field(default_factory=CallbackSettings)
    delivery_report_based_fallback: DeliveryReportBasedFallback = msgspec.field(
        default_factory=DeliveryReportBasedFallback
    )
    message_retry_settings: MessageRetrySettings = msgspec.field(default_factory=MessageRetrySettings)


DEFAULTS: dict[str, Any] = msgspec.to_builtins(App())
WRITABLE = tuple(k for k in DEFAULTS if k not in READ_ONLY)


def _normalise(data: dict[str, Any]) -> App:
    data = f.strip_nulls(data, _OPAQUE)
    creds = data.get("channel_credentials")
    if isinstance(creds, list):
        data["channel_credentials"] = [
            {k: v for k, v in c.items() if k not in _CREDENTIAL_READ_ONLY} if isinstance(c, dict) else c for c in creds
        ]
    app = f.convert(data, App)
    seen: set[tuple[str, int]] = set()
    for i, c in enumerate(app.channel_credentials):
        _check_credential(c, f"channel_credentials[{i}]")
        key = (c.channel, c.credential_ordinal_number)
        if key in seen:
            raise InvalidRequest(f"channel_credentials[{i}]: channel {c.channel} is configured twice")
        seen.add(key)
    rp = app.retention_policy
    if rp.ttl_days == 0:
        rp.ttl_days = 180
    elif rp.retention_type != "PERSIST_RETENTION_POLICY":
        f.check_range(rp.ttl_days, 1, 3650, "retention_policy.ttl_days")
    f.check_range(app.dispatch_retention_policy.ttl_days, 0, 7, "dispatch_retention_policy.ttl_days")
    mrs = app.message_retry_settings
    if mrs.retry_duration == 0:
        mrs.retry_duration = 3600
    f.check_range(mrs.retry_duration, 30, 3600, "message_retry_settings.retry_duration")
    wait = app.delivery_report_based_fallback.delivery_report_waiting_time
    if wait != 0:
        f.check_range(wait, 10, 259200, "delivery_report_based_fallback.delivery_report_waiting_time")
    return app


def _check_credential(c: ChannelCredential, where: str) -> None:
    present = [k for k in _ALL_CREDENTIAL_KEYS if getattr(c, k) is not UNSET]
    allowed = CREDENTIAL_KEYS[c.channel]
    if not present:
        raise InvalidRequest(f"{where}.{allowed[0]} is required for channel {c.channel}")
    if len(present) > 1:
        raise InvalidRequest(f"{where}: exactly one credential object is allowed, got {', '.join(present)}")
    if present[0] not in allowed:
        raise InvalidRequest(f"{where}: channel {c.channel} takes {' or '.join(allowed)}, not {present[0]}")
    if isinstance(c.static_bearer, StaticBearer):
        for name in ("claimed_identity", "token"):
            if not getattr(c.static_bearer, name).strip():
                raise InvalidRequest(f"{where}.static_bearer.{name} must not be empty")
    f.check_length(c.callback_secret, MAX_CALLBACK_SECRET, f"{where}.callback_secret")
    f.check_range(c.credential_ordinal_number, 0, 255, f"{where}.credential_ordinal_number")


def _with_states(app: App, active_channels: Collection[str]) -> App:
    creds = [
        msgspec.structs.replace(c, state=ChannelState("ACTIVE" if c.channel in active_channels else "PENDING"))
        for c in app.channel_credentials
    ]
    return msgspec.structs.replace(app, channel_credentials=creds)


def decode_app_create(raw: bytes) -> App:
    """A create request as an App without id; 400 naming the field for anything invalid."""
    data = f.decode_object(raw)
    for k in READ_ONLY:
        data.pop(k, None)
    if not isinstance(data.get("display_name"), str) or not data["display_name"].strip():
        raise InvalidRequest("display_name is required")
    if data.get("channel_credentials") is None:
        raise InvalidRequest("channel_credentials is required")
    return _normalise(data)


def new_app(req: App, app_id: str, *, active_channels: Collection[str] = ACTIVE_CHANNELS) -> App:
    app = msgspec.structs.replace(req, id=app_id, rate_limits=RateLimits(), queue_stats=QueueStats())
    return _with_states(app, active_channels)


def apply_app_update(
    app: App, body: dict[str, Any], update_mask: list[str] | None, *, active_channels: Collection[str] = ACTIVE_CHANNELS
) -> App:
    """`app` after `PATCH /apps/{id}` with the decoded `body` (fields.decode_object) and mask.
    The whole `channel_credentials` list is replaced when written, as the reference says."""
    merged = f.apply_patch(
        msgspec.to_builtins(app), body, update_mask, fields=WRITABLE, read_only=READ_ONLY, defaults=DEFAULTS
    )
    out = msgspec.structs.replace(
        _normalise(merged), id=app.id, rate_limits=app.rate_limits, queue_stats=app.queue_stats
    )
    return _with_states(out, active_channels)


def channels(app: App) -> list[str]:
    """The app's channels in priority order (the order of its credentials)."""
    return list(dict.fromkeys(c.channel for c in app.channel_credentials))


def sms_credentials(app: App) -> StaticBearer | None:
    """The SMS channel's `static_bearer` (service plan and token), or None."""
    for c in app.channel_credentials:
        if c.channel == "SMS" and isinstance(c.static_bearer, StaticBearer):
            return c.static_bearer
    return None
