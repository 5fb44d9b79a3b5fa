"""The Conversation Batch API: one message to 1..1000 recipients, per-recipient parameters and
metadata, `send_after` scheduling, cancel, status (rules: `conversation/batches.py`; status and
cancel: `conversation/batch_lifecycle.py`).

Accepting checks the request in full (`rules.accept_batch`), stores its body as sent (one row,
plus its metadata for lookups) and answers at once; the fan-out happens in the engine's
scheduler (`fan_out`, given to it at start-up): when a batch is due, its body is decoded again
(`rules.decode_batch`) and each recipient becomes an ordinary Conversation message (its own id, receipts
and replies), all of one batch in one transaction, in recipient order, on the app's plan
queue. A kill -9 during fan-out leaves the batch due and nothing of it queued, so it is fanned
out exactly once after the restart. The batch goes SCHEDULED -> READY -> PROCESSED in that
transaction (READY is what an immediate batch shows until then), or SCHEDULED -> CANCELLED.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import msgspec

from ...clock import Clock
from ...conversation import batch_lifecycle as lifecycle
from ...conversation import batches as rules
from ...conversation.messages import AppMessage, Recipient
from ...conversation.params import json_substituter
from ...conversation.send import SmsProperties, channel_properties
from ...conversation.types import Channel
from ...engine.wakeups import Wakeups
from ...errors import NotFound
from ...ids import IdFactory
from ...sms import msisdn
from ...store.conversation import batches as store
from ...store.conversation import routing
from ...store.db import Database, Tx
from .messages import Messaging, app_channels

log = logging.getLogger("openxms.conversation.batches")
_request = msgspec.json.Decoder(rules.BatchRequest)


class Item(msgspec.Struct):
    """One generated message, shaped like a `messages:send` request for MessageService."""

    message: AppMessage
    recipient: Recipient
    sms: SmsProperties
    message_metadata: str
    conversation_metadata: dict[str, Any] | None
    correlation_id: str
    callback_url: str
    channel_priority_order: list[Channel]
    ttl_seconds: int | None
    batch_id: str


class BatchService:
    """Send, status, status by metadata, cancel."""

    def __init__(self, db: Database, clock: Clock, ids: IdFactory, messaging: Messaging, wakeups: Wakeups) -> None:
        self.db, self.clock, self.ids, self.messaging, self.wakeups = db, clock, ids, messaging, wakeups

    async def send(self, project_id: str, raw: bytes) -> dict[str, str]:
        now = self.clock.now_ms()
        batch = rules.accept_batch(raw, now)
        channel_properties(batch.channel_properties)  # the SMS properties' values, as messages:send checks them
        batch_id = self.ids.new()
        # Stored as sent (read_body checked it is UTF-8): the fan-out decodes it again in full.
        await self.db.write(self._send, project_id, batch, raw.decode(), batch_id, now)
        self.wakeups.schedule_changed()
        return rules.response(batch_id, batch, now)

    def _send(self, tx: Tx, project_id: str, batch: rules.Accepted, body: str, batch_id: str, now: int) -> None:
        app = routing.app(tx, project_id, batch.app_id)
        if app is None:
            raise NotFound(f"app {batch.app_id} not found in project {project_id}")
        sender = channel_properties(batch.channel_properties).sender
        self.messaging.check_sender(app, msisdn.normalize_sender(sender) if sender else None)
        rules.check_against_app(batch, app_channels(app.doc), app.doc.get("processing_mode") or "DISPATCH")
        when = batch.send_after if batch.send_after is not None else now - now % 1000
        store.insert(
            tx,
            store.BatchRow(
                batch_id,
                project_id,
                app.id,
                lifecycle.initial_status(batch.send_after, now),
                when,
                now,
                dict(batch.batch_metadata),
                body,
                "body",
            ),
        )

    async def get(self, project_id: str, batch_id: str) -> dict[str, Any]:
        b = await self.db.read(store.get, project_id, batch_id)
        if b is None:
            raise NotFound(f"batch {batch_id} not found")
        return lifecycle.status_object(b.id, b.metadata, b.status, b.send_after)

    async def by_metadata(self, project_id: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        key, value = lifecycle.metadata_query(params)
        rows = await self.db.read(store.by_metadata, project_id, key, value)
        return [lifecycle.status_object(b.id, b.metadata, b.status, b.send_after) for b in rows]

    async def cancel(self, project_id: str, raw: bytes, params: Mapping[str, str]) -> None:
        """Always succeeds (Sinch cancels asynchronously and answers 200 whatever happens)."""
        selector = lifecycle.parse_cancel(raw, params)
        if selector is None:
            return
        await self.db.write(
            store.cancel, project_id, self.clock.now_ms(), selector.batch_id, selector.key, selector.value
        )


_APP_MESSAGE = msgspec.json.Decoder(AppMessage)


def _stored_request(b: store.BatchRow) -> rules.BatchRequest:
    """The batch's request, checked: the body as sent decoded again (with the acceptance time,
    which gives the same effective send_after), or, in rows older than that, the checked request."""
    if b.request_form == "body":
        return rules.decode_batch(b.request.encode(), b.created_at)
    return _request.decode(b.request)


def _unused(tree: Any, parameters: Mapping[str, str]) -> None:
    """generated_messages' substitution, when the fan-out renders the message itself."""
    return None


class FanOut:
    """The scheduler's part (engine/scheduler.py `due_work`): due batches become messages."""

    def __init__(self, ids: IdFactory, messaging: Messaging) -> None:
        self.ids, self.messages = ids, messaging

    def run(self, tx: Tx, now: int) -> list[str] | None:
        """Fan out the oldest due batch; None when none is due, else the plans that got messages."""
        b = store.claim_due(tx, now)
        if b is None:
            return None
        app = routing.app(tx, b.project_id, b.app_id)
        if app is None:  # the app was deleted meanwhile: nothing to send through
            store.set_status(tx, b.id, _processed(b.status))
            return []
        # One bad stored batch must not wedge the scheduler: its fan-out runs in a savepoint, and
        # if it fails the batch ends PROCESSED with nothing sent (logged), the others go on.
        tx.execute("SAVEPOINT fan_out")
        try:
            plans = self._fan_out(tx, b, _stored_request(b), app, now)
        except Exception:  # noqa: BLE001
            log.exception(
                "fanning out batch %s failed; it is marked PROCESSED with nothing sent",
                b.id,
                extra={"batch_id": b.id},
            )
            tx.execute("ROLLBACK TO SAVEPOINT fan_out")
            plans = []
        tx.execute("RELEASE SAVEPOINT fan_out")
        store.set_status(tx, b.id, _processed(b.status))
        return plans

    def _fan_out(
        self, tx: Tx, b: store.BatchRow, batch: rules.BatchRequest, app: routing.AppRow, now: int
    ) -> list[str]:
        mode = (
            "DISPATCH"
            if batch.processing_strategy == "DISPATCH_ONLY"
            else (app.doc.get("processing_mode") or "DISPATCH")
        )
        sms = channel_properties(batch.channel_properties)
        if sms.sender is not None:
            sms = msgspec.structs.replace(sms, sender=msisdn.normalize_sender(sms.sender))
        channels = app_channels(app.doc)
        order = list(batch.channel_priority_order)  # shared by the items: nothing changes it
        # The message's text made per recipient by one pass over its JSON, decoded straight
        # into an AppMessage (params.json_substituter: the same result as substituting the tree
        # and converting it, at a fraction of the cost); the tree way where that cannot hold.
        render = json_substituter(batch.message)
        rps = batch.recipient_and_params
        items = []
        for g in rules.generated_messages(batch, b.id, substitute=_unused if render is not None else None):
            if render is not None:
                message = _APP_MESSAGE.decode(render(rps[g.index].parameters))
            else:
                message = msgspec.convert(g.message, AppMessage)
            item = Item(
                message=message,
                recipient=msgspec.convert(g.recipient, Recipient),
                sms=sms,
                message_metadata=g.message_metadata,
                conversation_metadata=g.conversation_metadata,
                correlation_id=batch.correlation_id,
                callback_url=batch.callback_url,
                channel_priority_order=order,
                ttl_seconds=batch.ttl_seconds,
                batch_id=b.id,
            )
            resolved = self.messages.resolve(
                tx, app, item, item.recipient, item.message, self.ids.new(), mode, now, channels
            )
            items.append((resolved, item))
        self.messages.store(tx, items, now, {app.id: app})
        return [app.plan_id] if app.plan_id and any(r.reason is None for r, _ in items) else []

    @staticmethod
    def next_due(tx: Tx) -> int | None:
        return store.next_due(tx)


def _processed(status: str) -> str:
    """The status of a claimed batch once fanned out: a SCHEDULED one whose time has come is
    READY first, then PROCESSED, as the lifecycle has it (InvalidTransition for any other)."""
    due = status if status == "READY" else lifecycle.transition(status, "READY")
    return lifecycle.transition(due, "PROCESSED")
