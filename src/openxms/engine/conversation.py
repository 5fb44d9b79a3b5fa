"""Conversation API callbacks caused by the engine: a status change of a recipient row that
carries a Conversation message becomes a MESSAGE_DELIVERY receipt (and, when it is handed to
the channel, MESSAGE_SUBMIT), queued in the outbox in the same transaction as the change
(`status.apply` calls `on_changes`), like the SMS API's delivery reports.

Where a callback goes (Sinch's callback reference,
https://developers.sinch.com/docs/conversation/callbacks/): the message's `callback_url`
when the send gave one (signed with the app's `callback_settings.secret_for_overridden_callback_urls`),
else every webhook of the app whose `triggers` hold the trigger and whose `target_type` is
HTTP (each signed with its own `secret`). Unsigned when there is no secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..conversation import receipts
from ..store import outbox
from ..store.conversation import messages as message_store
from ..store.conversation import routing
from ..store.db import Tx

KIND = "conversation"  # outbox.kind of every Conversation callback


def targets(
    webhooks: Iterable[Mapping[str, Any]], trigger: str, callback_url: str | None, app_doc: Mapping[str, Any] | None
) -> list[tuple[str, str]]:
    """(url, secret) for one callback of `trigger`."""
    if callback_url:
        secret = ((app_doc or {}).get("callback_settings") or {}).get("secret_for_overridden_callback_urls") or ""
        return [(callback_url, secret)]
    return [
        (w["target"], w.get("secret") or "")
        for w in webhooks
        if (w.get("target_type") or "HTTP") == "HTTP" and trigger in (w.get("triggers") or ())
    ]


def enqueue(
    tx: Tx, project_id: str, payload: Mapping[str, Any], to: list[tuple[str, str]], now: int, message_id: str
) -> None:
    """Queue one callback to each of `to`, about the message `message_id` (the web UI lists the
    callbacks of a message: a Conversation message's id is its carrier batch's)."""
    body = receipts.encode(payload).decode()
    outbox.enqueue_signed(tx, [(project_id, KIND, url, body, secret) for url, secret in to], now, message_id)


def _identity(m: message_store.Message) -> dict[str, str]:
    return {"channel": m.channel, "identity": m.identity, "app_id": ""}


def on_changes(tx: Tx, changes: list[Any], now: int) -> None:
    """`changes` are engine/status.py Changes that really happened, of recipient rows of
    Conversation carrier batches."""
    messages = message_store.by_recipients(tx, [c.recipient_id for c in changes], with_doc=False)
    if not messages:
        return
    app_ids = {m.app_id for m in messages.values()}
    apps = routing.apps(tx, app_ids)
    hooks = routing.webhooks(tx, app_ids)
    submitted: dict[str, str] | None = None  # the sent messages' docs, read once if a MESSAGE_SUBMIT goes out
    statuses: list[tuple[str, str]] = []
    for c in changes:
        m = messages.get(c.recipient_id)
        if m is None:
            continue
        outcome = receipts.from_sms(c.status, c.code)
        if outcome is None:
            continue
        statuses.append((m.id, outcome.status))
        app = apps.get(m.app_id)
        app_doc = app.doc if app is not None else None
        app_hooks = hooks.get(m.app_id, ())
        submit_to = targets(app_hooks, "MESSAGE_SUBMIT", None, app_doc) if outcome.status == "QUEUED_ON_CHANNEL" else []
        to = targets(app_hooks, "MESSAGE_DELIVERY", m.callback_url, app_doc)
        if not submit_to and not to:
            continue  # nobody listens: the status is all there is to record
        common: dict[str, Any] = dict(
            app_id=m.app_id,
            project_id=m.project_id,
            message_id=m.id,
            channel_identity=_identity(m),
            accepted_ms=now,
            event_ms=c.operator_status_at or now,
            conversation_id=m.conversation_id,
            contact_id=m.contact_id,
            metadata=m.metadata,
            processing_mode=m.processing_mode,
            correlation_id=m.correlation_id,
        )
        if submit_to:
            if submitted is None:
                submitted = message_store.docs(tx, [x.id for x in messages.values()])
            sent = json.loads(submitted.get(m.id) or "{}").get("app_message") or {}
            enqueue(tx, m.project_id, receipts.submit_event(submitted_message=sent, **common), submit_to, now, m.id)
        if to:
            payload = receipts.delivery_event(status=outcome.status, reason=outcome.reason, **common)
            enqueue(tx, m.project_id, payload, to, now, m.id)
    message_store.set_status(tx, statuses)
