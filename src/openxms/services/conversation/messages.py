"""Conversation messages: `messages:send` on the SMS channel, and reading them back.

A send is checked at request time (400s: `conversation/send.py`), then resolved inside one
write: the app of the project (404), its service plan, the recipient's SMS identity (a contact
in CONVERSATION mode, or the identities given), the rendered SMS text. What belongs to the
one recipient (an unknown contact, no SMS identity, a template that does not render) is not a
request error: the message is stored and a FAILED receipt queued at once, as Sinch does.
Otherwise the message is queued on its plan as one SMS (`store/conversation/messages.py`);
the engine reports what happens to it (`engine/conversation.py`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

import msgspec

from ...clock import Clock
from ...config import Account
from ...conversation import receipts
from ...conversation.contacts import Contact, ContactIdentity
from ...conversation.conversations import Conversation
from ...conversation.messages import AppMessage, Recipient
from ...conversation.render import Templates, render_sms
from ...conversation.send import SendMessageRequest, check_against_app, decode_send
from ...conversation.types import Reason
from ...engine import conversation as events
from ...engine.wakeups import Wakeups
from ...errors import InvalidRequest, NotFound
from ...ids import IdFactory
from ...sms import dates, msisdn
from ...store.conversation import messages as store
from ...store.conversation import routing
from ...store.db import Database, Tx

DEFAULT_TTL_MS = 3 * 24 * 3600 * 1000  # no ttl: the SMS API's longest validity (3 days)
_encode = msgspec.json.encode


def app_channels(doc: Mapping[str, Any]) -> list[str]:
    return [c["channel"] for c in doc.get("channel_credentials") or () if c.get("channel")]


class Resolved(msgspec.Struct):
    """One message, decided: where it goes, or why it cannot."""

    message_id: str
    project_id: str
    app_id: str
    plan_id: str | None
    mode: str
    identity: str  # SMS identity (digits), or what we were given
    contact_id: str = ""
    conversation_id: str = ""
    text: str | None = None
    reason: Reason | None = None


class Messaging:
    """The steps of sending, inside a write transaction: shared by `messages:send` and the
    Batch API's fan-out (which runs in the engine's scheduler)."""

    def __init__(self, ids: IdFactory, accounts: Mapping[str, Account], templates: Templates | None = None) -> None:
        self.ids = ids
        self.templates = templates
        self.owners = {n: a.id for a in accounts.values() for n in a.numbers}  # configured numbers' plans

    def check_sender(self, app: routing.AppRow, sender: str | None) -> None:
        if sender is not None and self.owners.get(sender, app.plan_id) != app.plan_id:
            raise InvalidRequest(f"channel_properties.SMS_SENDER {sender} is a number of another service plan")

    def resolve(
        self,
        tx: Tx | None,
        app: routing.AppRow,
        req: Any,
        recipient: Recipient,
        message: AppMessage,
        message_id: str,
        mode: str,
        now: int,
        channels: list[str] | None = None,
    ) -> Resolved:
        """Where one message goes, or the Reason it fails (never an exception). `channels`:
        the app's (`app_channels`), when the caller has them already (a batch's fan-out).
        `tx` None: DISPATCH mode with `identified_by` recipients, which reads nothing."""
        r = Resolved(message_id, app.project_id, app.id, app.plan_id, mode, "")
        identity, contact_id, reason = self._identity(
            tx, app, req, recipient, app_channels(app.doc) if channels is None else channels
        )
        r.identity, r.contact_id = identity, contact_id
        if reason is None and app.plan_id is None:
            reason = Reason("CHANNEL_CONFIGURATION_MISSING", "the app has no SMS channel credential")
        if reason is None:
            rendered = render_sms(message, self.templates)
            if isinstance(rendered, Reason):
                reason = rendered
            else:
                r.text = rendered
        if mode == "CONVERSATION" and reason is None:
            assert tx is not None, "CONVERSATION mode reads and makes contacts and conversations"
            r.contact_id, r.conversation_id = self._conversation(tx, app, identity, contact_id, req, now)
        r.reason = reason
        return r

    @staticmethod
    def _identity(
        tx: Tx | None, app: routing.AppRow, req: Any, recipient: Recipient, channels: list[str]
    ) -> tuple[str, str, Reason | None]:
        """The recipient's SMS identity. Channels are tried in order (the send's
        `channel_priority_order`, else the contact's priority or the identities' order, then the
        app's channels); SMS is the only one with an adapter, so the others are passed over and
        what matters is whether SMS is among them and the recipient has an SMS identity."""
        if recipient.contact_id is not None:
            assert tx is not None, "a contact recipient is read in the write"
            contact = routing.contact(tx, app.project_id, recipient.contact_id)
            if contact is None:
                return "", recipient.contact_id, Reason("CONTACT_NOT_FOUND", f"no contact {recipient.contact_id}")
            contact_id = recipient.contact_id
            first = req.channel_priority_order or contact.get("channel_priority") or channels
            found = next(
                (i["identity"] for i in contact.get("channel_identities") or () if i["channel"] == "SMS"), None
            )
        else:
            assert recipient.identified_by is not None
            given = recipient.identified_by.channel_identities
            contact_id = ""
            first = req.channel_priority_order or [i.channel for i in given]
            found = next((i.identity for i in given if i.channel == "SMS"), None)
        if found is not None and ("SMS" in first or "SMS" in channels):
            if "SMS" not in channels:
                return found, contact_id, Reason("CHANNEL_CONFIGURATION_MISSING", "the app has no SMS channel")
            number = msisdn.normalize(found)
            if number is None:
                return (
                    found,
                    contact_id,
                    Reason("RECIPIENT_INVALID_CHANNEL_IDENTITY", f"{found!r} is not a phone number"),
                )
            return number, contact_id, None
        if contact_id:
            return "", contact_id, Reason("NO_CHANNEL_IDENTITY_FOR_CONTACT", "the contact has no SMS identity")
        if found is not None:
            return "", contact_id, Reason("CHANNEL_CONFIGURATION_MISSING", "the app has no SMS channel")
        return "", contact_id, Reason("NO_CHANNELS_LEFT", "no channel openxms can deliver on (SMS) was given")

    def _conversation(
        self, tx: Tx, app: routing.AppRow, identity: str, contact_id: str, req: Any, now: int
    ) -> tuple[str, str]:
        """CONVERSATION mode: the contact (made for an unknown identity) and its active
        conversation with the app (made if there is none); the send's conversation metadata
        replaces the conversation's."""
        if not contact_id:
            contact_id = routing.contact_of(tx, app.project_id, "SMS", identity) or ""
            if not contact_id:
                contact_id = self.ids.new()
                contact = Contact(
                    id=contact_id, channel_identities=[ContactIdentity("SMS", identity)], channel_priority=["SMS"]
                )
                routing.add_contact(tx, app.project_id, contact_id, msgspec.to_builtins(contact), now)
        conv = routing.active_conversation(tx, app.id, contact_id)
        metadata = getattr(req, "conversation_metadata", None)
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
                    correlation_id=getattr(req, "correlation_id", "") or "",
                )
            )
            routing.add_conversation(tx, app.project_id, cid, app.id, contact_id, doc, now)
            return contact_id, cid
        if metadata is not None:
            doc = {**conv.doc, "metadata_json": metadata}
            routing.save_conversation(tx, conv.id, doc)
        return contact_id, conv.id

    def store(self, tx: Tx, items: list[tuple[Resolved, Any]], now: int, apps: Mapping[str, routing.AppRow]) -> None:
        """Store the messages; queue the SMS of the sendable ones (in order), a FAILED receipt
        for the others."""
        self.write(tx, items, self.rows(items, now), apps)

    @staticmethod
    def rows(items: list[tuple[Resolved, Any]], now: int) -> Rows:
        """What storing `items` writes, made without the database: the carrier SMS of each
        sendable message and every message's row (its `recipient_id` is filled in by `write`)."""
        carriers = []
        messages = []
        for r, req in items:
            if r.reason is None and r.plan_id is not None and r.text is not None:
                ttl = getattr(req, "ttl_seconds", None)
                sender = msisdn.normalize_sender(req.sms.sender) if req.sms.sender is not None else None
                carriers.append(
                    store.carrier(
                        r.message_id,
                        r.plan_id,
                        r.identity,
                        sender,
                        r.text,
                        bool(req.sms.flash),
                        req.sms.max_parts,
                        now + (ttl * 1000 if ttl else DEFAULT_TTL_MS),
                        now,
                    )
                )
            message = req.message if isinstance(req.message, AppMessage) else msgspec.convert(req.message, AppMessage)
            conv_md = getattr(req, "conversation_metadata", None)
            messages.append(
                store.Message(
                    r.message_id,
                    r.project_id,
                    r.app_id,
                    "TO_CONTACT",
                    r.conversation_id,
                    r.contact_id,
                    "SMS",
                    r.identity,
                    "",
                    now,
                    None,
                    getattr(req, "batch_id", None),
                    "FAILED" if r.reason is not None else None,
                    req.message_metadata or "",
                    None if conv_md is None else _encode(conv_md).decode(),
                    req.correlation_id or "",
                    req.callback_url or None,
                    r.mode,
                    _encode({"app_message": message}).decode(),
                )
            )
        return Rows(carriers, messages)

    @staticmethod
    def write(tx: Tx, items: list[tuple[Resolved, Any]], rows: Rows, apps: Mapping[str, routing.AppRow]) -> None:
        """Write what `rows` made for `items` (one message row per item, in order; items may
        have different accept times), and queue the FAILED receipts."""
        recipient_ids = store.queue_sms(tx, rows.carriers)
        if recipient_ids:
            messages = [m._replace(recipient_id=recipient_ids.get(m.id)) for m in rows.messages]
        else:
            messages = rows.messages
        pairs = zip(items, rows.messages, strict=True)
        failed = [(r, req, m.accept_time) for (r, req), m in pairs if r.reason is not None]
        hooks = routing.webhooks(tx, {r.app_id for r, _, _ in failed}) if failed else {}
        for r, req, now in failed:
            assert r.reason is not None
            to = events.targets(
                hooks.get(r.app_id, ()), "MESSAGE_DELIVERY", req.callback_url or None, apps[r.app_id].doc
            )
            if to:
                payload = receipts.delivery_event(
                    app_id=r.app_id,
                    project_id=r.project_id,
                    message_id=r.message_id,
                    status="FAILED",
                    reason=r.reason,
                    channel_identity={"channel": "SMS", "identity": r.identity},
                    accepted_ms=now,
                    event_ms=now,
                    conversation_id=r.conversation_id,
                    contact_id=r.contact_id,
                    metadata=req.message_metadata or "",
                    processing_mode=r.mode,  # type: ignore[arg-type]
                    correlation_id=req.correlation_id or "",
                )
                events.enqueue(tx, r.project_id, payload, to, now, r.message_id)
        store.insert(tx, messages)


class Rows(NamedTuple):
    carriers: list[store.Carrier]
    messages: list[store.Message]


class Prepared(NamedTuple):
    """A send decided before its write, from a cached copy of the app (`MessageService.send`)."""

    app: routing.AppRow
    resolved: Resolved
    rows: Rows


APP_CACHE_SIZE = 4096  # apps kept per process; past it the cache starts again (apps are few)


class MessageService:
    """`messages:send`, get, list, delete.

    A send to an app in DISPATCH mode is decided in the event loop, as the SMS API decides a
    batch before its write: the app comes from a per-process cache, and the recipient, the
    rendered text and every row are made without the database (DISPATCH reads no contact or
    conversation). The write then checks, in its transaction, that the app is still stored
    exactly as cached (`routing.app_unchanged`: one primary-key lookup) and only inserts. If it
    changed (another request or node updated or deleted it), the send is decided again inside
    the transaction from the stored app, as every CONVERSATION-mode send is, so a stale copy
    never decides anything. Prepared sends are written with `Database.write_grouped`: those
    queued together check each app once and insert their rows in one statement per table. The
    writer's CPU per send fell from ~52 to ~21 us (an SMS API send: ~20), which matters because
    the one writer thread is shared by every request and the engine (docs/benchmarks.md, 4)."""

    def __init__(self, db: Database, clock: Clock, messaging: Messaging, wakeups: Wakeups) -> None:
        self.db, self.clock, self.messaging, self.wakeups = db, clock, messaging, wakeups
        self.apps: dict[tuple[str, str], routing.AppRow] = {}

    async def send(self, project_id: str, raw: bytes) -> dict[str, str]:
        req = decode_send(raw)
        now = self.clock.now_ms()
        if req.sms.sender is not None:
            req = msgspec.structs.replace(
                req, sms=msgspec.structs.replace(req.sms, sender=msisdn.normalize_sender(req.sms.sender))
            )
        message_id = self.messaging.ids.new()
        key = (project_id, req.app_id)
        cached = self.apps.get(key)
        prepared = None if cached is None else self._prepare(cached, req, message_id, now)
        try:
            if prepared is not None:
                plan, app = await self.db.write_grouped(self._send_group, (project_id, req, message_id, now, prepared))
            else:
                plan, app = await self.db.write(self._send, project_id, req, message_id, now)
        except NotFound:
            self.apps.pop(key, None)
            raise
        if app is not cached:
            if len(self.apps) >= APP_CACHE_SIZE:
                self.apps.clear()
            self.apps[key] = app
        if plan is not None:
            self.wakeups.queue_changed(plan)
        self.wakeups.callbacks_changed()
        return {"message_id": message_id, "accepted_time": dates.format(now)}

    def _prepare(self, app: routing.AppRow, req: SendMessageRequest, message_id: str, now: int) -> Prepared | None:
        """The send decided from a cached app, or None where only the write may decide it (a
        CONVERSATION-mode send, or a check failing: the cached copy may be stale, so the
        stored app must confirm the error; a contact recipient, read in the write)."""
        if req.recipient.contact_id is not None:
            return None
        try:
            channels = app_channels(app.doc)
            mode = check_against_app(req, channels, app.doc.get("processing_mode") or "DISPATCH")
            if mode != "DISPATCH":
                return None
            self.messaging.check_sender(app, req.sms.sender)
        except InvalidRequest:
            return None
        r = self.messaging.resolve(None, app, req, req.recipient, req.message, message_id, mode, now, channels)
        return Prepared(app, r, self.messaging.rows([(r, req)], now))

    def _send_group(
        self, tx: Tx, sends: list[tuple[str, SendMessageRequest, str, int, Prepared]]
    ) -> list[tuple[str | None, routing.AppRow]]:
        """Write prepared sends queued together (`Database.write_grouped`): each app's stored
        copy checked once, then all the rows in one INSERT per table. A send whose app changed
        is decided again from the stored app (`_send`)."""
        out: list[tuple[str | None, routing.AppRow]] = []
        unchanged: dict[tuple[str, str], bool] = {}
        items: list[tuple[Resolved, Any]] = []
        carriers: list[store.Carrier] = []
        messages: list[store.Message] = []
        apps: dict[str, routing.AppRow] = {}
        for project_id, req, message_id, now, p in sends:
            key = (p.app.project_id, p.app.id)
            ok = unchanged.get(key)
            if ok is None:
                ok = unchanged[key] = routing.app_unchanged(tx, p.app)
            if not ok:
                out.append(self._send(tx, project_id, req, message_id, now))
                continue
            items.append((p.resolved, req))
            carriers += p.rows.carriers
            messages += p.rows.messages
            apps[p.app.id] = p.app
            out.append(((p.resolved.plan_id if p.resolved.reason is None else None), p.app))
        if items:
            self.messaging.write(tx, items, Rows(carriers, messages), apps)
        return out

    def _send(
        self, tx: Tx, project_id: str, req: SendMessageRequest, message_id: str, now: int
    ) -> tuple[str | None, routing.AppRow]:
        app = routing.app(tx, project_id, req.app_id)
        if app is None:
            raise NotFound(f"app {req.app_id} not found in project {project_id}")
        channels = app_channels(app.doc)
        mode = check_against_app(req, channels, app.doc.get("processing_mode") or "DISPATCH")
        self.messaging.check_sender(app, req.sms.sender)
        r = self.messaging.resolve(tx, app, req, req.recipient, req.message, message_id, mode, now, channels)
        self.messaging.store(tx, [(r, req)], now, {app.id: app})
        return (r.plan_id if r.reason is None else None), app

    # reading ------------------------------------------------------------------------------
    async def get(self, project_id: str, message_id: str) -> dict[str, Any]:
        m = await self.db.read(store.get, project_id, message_id)
        if m is None:
            raise NotFound(f"message {message_id} not found")
        return to_object(m)

    async def delete(self, project_id: str, message_id: str) -> None:
        if not await self.db.write(store.delete, project_id, message_id):
            raise NotFound(f"message {message_id} not found")

    async def query(
        self, f: store.ListFilter, size: int, before: tuple[int, str] | None
    ) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
        rows = await self.db.read(store.list_page, f, size + 1, before)
        more = len(rows) > size
        rows = rows[:size]
        return [to_object(m) for m in rows], ((rows[-1].accept_time, rows[-1].id) if more and rows else None)


def to_object(m: store.Message) -> dict[str, Any]:
    """The ConversationMessage object (every documented field; "" when empty)."""
    content = json.loads(m.doc)
    return {
        "id": m.id,
        "direction": m.direction,
        **content,
        "channel_identity": {"channel": m.channel, "identity": m.identity, "app_id": ""},
        "conversation_id": m.conversation_id,
        "contact_id": m.contact_id,
        "metadata": m.metadata,
        "accept_time": dates.format(m.accept_time),
        "sender_id": m.sender_id,
        "processing_mode": m.processing_mode,
        "injected": False,
    }
