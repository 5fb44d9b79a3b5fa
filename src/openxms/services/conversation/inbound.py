"""A handset's SMS to one of our numbers, as the Conversation API sees it: MESSAGE_INBOUND.

Runs inside the inbound transaction (an `InboundService` hook), after the SMS API stored the MO
for its plan. The app it belongs to: the app of the last Conversation message sent to this
handset from this number (`store/replies.py` records it for every connector), else the first
app whose SMS channel is that plan. The callback carries, in its `message_metadata`, the
conversation metadata of that last message (a batch message's includes `_batch_id`), so a
reply can be tied to what it answers. We send it whatever the app's
`conversation_metadata_report_view` says: with the default (NONE) Sinch would omit it, and the
Batch API's promise that replies can be mapped back to their batch would not hold.
In CONVERSATION mode the message joins the contact's active conversation (both made if need be).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from ...conversation import receipts
from ...conversation.contacts import Contact, ContactIdentity
from ...conversation.conversations import Conversation
from ...conversation.types import ProcessingMode
from ...engine import conversation as events
from ...ids import IdFactory
from ...store import replies
from ...store.conversation import messages as store
from ...store.conversation import routing
from ...store.db import Tx


class ConversationInbound:
    def __init__(self, ids: IdFactory) -> None:
        self.ids = ids

    def __call__(self, tx: Tx, account_id: str, sender: str, recipient: str, body: str, now: int) -> None:
        route = replies.last(tx, sender, recipient)
        last = None
        if route is not None and route.account_id == account_id:
            last = store.by_recipients(tx, [route.recipient_id]).get(route.recipient_id)
        app = routing.app(tx, last.project_id, last.app_id) if last is not None else None
        if app is None:
            bound = routing.apps_of_plan(tx, account_id)
            app = bound[0] if bound else None
        if app is None:
            return
        mode: ProcessingMode = app.doc.get("processing_mode") or "DISPATCH"
        contact_id = conversation_id = ""
        metadata: dict[str, Any] | None = None
        if last is not None and last.conversation_metadata:
            metadata = json.loads(last.conversation_metadata)
        if mode == "CONVERSATION":
            contact_id, conversation_id, metadata = self._conversation(tx, app, sender, now, metadata)
        message_id = self.ids.new()
        store.insert(
            tx,
            [
                store.Message(
                    message_id,
                    app.project_id,
                    app.id,
                    "TO_APP",
                    conversation_id,
                    contact_id,
                    "SMS",
                    sender,
                    recipient,
                    now,
                    None,
                    last.batch_id if last is not None else None,
                    None,
                    "",
                    None if metadata is None else json.dumps(metadata),
                    last.correlation_id if last is not None else "",
                    None,
                    mode,
                    json.dumps({"contact_message": {"text_message": {"text": body}}}),
                )
            ],
        )
        to = events.targets(routing.webhooks(tx, [app.id]).get(app.id, ()), "MESSAGE_INBOUND", None, app.doc)
        if to:
            payload = receipts.inbound_event(
                app_id=app.id,
                project_id=app.project_id,
                message_id=message_id,
                text=body,
                channel_identity={"channel": "SMS", "identity": sender},
                sender_id=recipient,
                accepted_ms=now,
                event_ms=now,
                conversation_id=conversation_id,
                contact_id=contact_id,
                processing_mode=mode,
                conversation_metadata=metadata,
                correlation_id=last.correlation_id if last is not None else "",
            )
            events.enqueue(tx, app.project_id, payload, to, now, message_id)

    def _conversation(
        self, tx: Tx, app: routing.AppRow, identity: str, now: int, metadata: dict[str, Any] | None
    ) -> tuple[str, str, dict[str, Any] | None]:
        contact_id = routing.contact_of(tx, app.project_id, "SMS", identity)
        if contact_id is None:
            contact_id = self.ids.new()
            contact = Contact(
                id=contact_id, channel_identities=[ContactIdentity("SMS", identity)], channel_priority=["SMS"]
            )
            routing.add_contact(tx, app.project_id, contact_id, msgspec.to_builtins(contact), now)
        conv = routing.active_conversation(tx, app.id, contact_id)
        if conv is None:
            cid = self.ids.new()
            doc = msgspec.to_builtins(
                Conversation(
                    id=cid,
                    app_id=app.id,
                    contact_id=contact_id,
                    active=True,
                    active_channel="SMS",
                    metadata_json=metadata or {},
                )
            )
            routing.add_conversation(tx, app.project_id, cid, app.id, contact_id, doc, now)
            routing.save_conversation(tx, cid, doc, last_received=now)
            return contact_id, cid, metadata
        routing.save_conversation(tx, conv.id, conv.doc, last_received=now)
        return contact_id, conv.id, conv.doc.get("metadata_json") or metadata
