"""Webhooks: where an app's callbacks go.

As in the Conversation API reference (Webhooks,
https://developers.sinch.com/docs/conversation/api-reference/conversation/tag/Webhooks/):
`target` is required, at most 742 characters, and may not be a `conversation-api.*.sinch.com`
host; an app has at most 5 webhooks; `UNSPECIFIED_TRIGGER` "will cause errors". The
reference's default `target_type` is DISMISS, which silently drops every callback; a webhook
created without one is HTTP here, since a client that creates a webhook wants its callbacks
(and neither SDK sends `target_type` unless asked to).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET, UnsetType

from ..errors import InvalidRequest
from . import fields as f
from .types import TRIGGERS, WebhookTargetType

MAX_TARGET = 742
MAX_WEBHOOKS_PER_APP = 5
MAX_SCOPE = 1024
MAX_RESPONSE_TYPE = 64
_FORBIDDEN_HOST = re.compile(r"conversation-api\..+\.sinch\.com", re.I)
READ_ONLY = ("id", "app_id")  # the owning app is fixed at creation


class ClientCredentials(msgspec.Struct):
    """OAuth2 client credentials Sinch uses to get a bearer token for the target."""

    client_id: str
    client_secret: str
    endpoint: str
    scope: str = ""
    response_type: str = ""
    # "If not set or unrecognized, BASIC is used by default" (the reference's field text).
    token_request_type: str = "BASIC"


class Webhook(msgspec.Struct):
    id: str = ""
    app_id: str = ""
    target: str = ""
    target_type: WebhookTargetType = "HTTP"
    secret: str = ""
    triggers: list[str] = []
    client_credentials: ClientCredentials | UnsetType = UNSET


# A reset of client_credentials removes it (None is dropped before decoding).
DEFAULTS: dict[str, Any] = {**msgspec.to_builtins(Webhook()), "client_credentials": None}
WRITABLE = tuple(k for k in DEFAULTS if k not in READ_ONLY)


def _normalise(data: dict[str, Any]) -> Webhook:
    w = f.convert(f.strip_nulls(data), Webhook)
    if not w.target.strip():
        raise InvalidRequest("target is required")
    w.target = w.target.strip()
    f.check_url(w.target, "target", MAX_TARGET)
    if _FORBIDDEN_HOST.fullmatch(urlsplit(w.target).hostname or ""):
        raise InvalidRequest("target: conversation-api.*.sinch.com hosts are not allowed")
    if not w.triggers:
        raise InvalidRequest("triggers must contain at least one trigger")
    for i, t in enumerate(w.triggers):
        if t == "UNSPECIFIED_TRIGGER":
            raise InvalidRequest(f"triggers[{i}]: UNSPECIFIED_TRIGGER is not a trigger")
        if t not in TRIGGERS:
            raise InvalidRequest(f"triggers[{i}]: unknown trigger {t!r}")
    w.triggers = list(dict.fromkeys(w.triggers))
    cc = w.client_credentials
    if isinstance(cc, ClientCredentials):
        for name in ("client_id", "client_secret", "endpoint"):
            if not getattr(cc, name).strip():
                raise InvalidRequest(f"client_credentials.{name} is required")
        f.check_url(cc.endpoint, "client_credentials.endpoint")
        f.check_length(cc.scope, MAX_SCOPE, "client_credentials.scope")
        f.check_length(cc.response_type, MAX_RESPONSE_TYPE, "client_credentials.response_type")
        if cc.token_request_type not in ("BASIC", "FORM"):
            cc.token_request_type = "BASIC"
    return w


def decode_webhook_create(raw: bytes) -> Webhook:
    """A create request as a Webhook without id; `app_id` must be an id (the caller checks it
    names an app of the project, and the per-app limit)."""
    data = f.decode_object(raw)
    data.pop("id", None)
    w = _normalise(data)
    f.check_ulid(w.app_id, "app_id")
    return w


def new_webhook(req: Webhook, webhook_id: str) -> Webhook:
    return msgspec.structs.replace(req, id=webhook_id)


def apply_webhook_update(webhook: Webhook, body: dict[str, Any], update_mask: list[str] | None) -> Webhook:
    """`webhook` after `PATCH /webhooks/{id}`. Clearing `target` or `triggers` is a 400."""
    merged = f.apply_patch(
        msgspec.to_builtins(webhook), body, update_mask, fields=WRITABLE, read_only=READ_ONLY, defaults=DEFAULTS
    )
    return msgspec.structs.replace(_normalise(merged), id=webhook.id, app_id=webhook.app_id)


def sends(webhook: Webhook, trigger: str) -> bool:
    """Whether a callback for `trigger` goes to this webhook (DISMISS targets get nothing)."""
    return webhook.target_type == "HTTP" and trigger in webhook.triggers
