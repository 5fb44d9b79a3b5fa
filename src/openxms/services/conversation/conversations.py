"""Conversations: create, list (and the recent ones with their last message), read, update,
stop, delete.

A conversation is between an app and a contact of the project (404 for either unknown).
There is at most one active conversation per app and contact (the reference's
Conversation text,
https://developers.sinch.com/docs/conversation/api-reference/conversation/tag/Conversation/):
creating a second active one is 409 ALREADY_EXISTS, and the message path joins the active
one. `:stop` ends it (later traffic starts a new one); stopping an inactive conversation
succeeds and changes nothing. `active` and `last_received` are the store's columns (the
message path moves them), whatever the stored document says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ...clock import Clock
from ...conversation import query as q
from ...conversation.conversations import (
    EPOCH,
    Conversation,
    apply_conversation_update,
    decode_conversation_create,
    new_conversation,
)
from ...conversation.types import CHANNELS
from ...errors import Conflict, InvalidRequest, NotFound
from ...ids import IdFactory
from ...sms import dates
from ...store.conversation import contacts as contact_store
from ...store.conversation import conversations as store
from ...store.db import Database, Tx
from .apps import get_app, request_body
from .messages import to_object as message_object

_ORDERS = ("DESC", "ASC")
MAX_OFFSET = 2**31 - 1  # a forged token must not overflow the databases' OFFSET


def _offset(token: str | None, scope: str) -> int:
    offset = q.decode_offset(token, scope)
    if offset > MAX_OFFSET:
        raise InvalidRequest("page_token is not valid")
    return offset


def _object(row: store.ConversationRow) -> Conversation:
    c = msgspec.json.decode(row.doc, type=Conversation)
    return msgspec.structs.replace(
        c, active=row.active, last_received=dates.format(row.last_received) if row.last_received else EPOCH
    )


def _doc(c: Conversation) -> str:
    return msgspec.json.encode(c).decode()


def _get(tx: Tx, project_id: str, conversation_id: str, *, for_update: bool = False) -> store.ConversationRow:
    row = store.get(tx, project_id, conversation_id, for_update=for_update)
    if row is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return row


def conversation_query(project_id: str, params: Mapping[str, str]) -> store.ConversationQuery:
    """`GET /conversations` filters: `app_id` or `contact_id` (at least one), `only_active`,
    `active_channel`."""
    app_id = (params.get("app_id") or "").strip() or None
    contact_id = (params.get("contact_id") or "").strip() or None
    if app_id is None and contact_id is None:
        raise InvalidRequest("app_id or contact_id is required")
    return store.ConversationQuery(
        project_id,
        app_id,
        contact_id,
        q.parse_bool(params.get("only_active"), "only_active"),
        q.parse_enum(params.get("active_channel"), CHANNELS, "active_channel"),
    )


class ConversationService:
    def __init__(self, db: Database, clock: Clock, ids: IdFactory) -> None:
        self.db, self.clock, self.ids = db, clock, ids

    async def create(self, project_id: str, raw: bytes) -> Conversation:
        request_body(raw)
        conversation = new_conversation(decode_conversation_create(raw), self.ids.new())
        await self.db.write(self._create, project_id, conversation, self.clock.now_ms())
        return conversation

    @staticmethod
    def _create(tx: Tx, project_id: str, c: Conversation, now: int) -> None:
        get_app(tx, project_id, c.app_id, for_update=True)
        if contact_store.get(tx, project_id, c.contact_id) is None:
            raise NotFound(f"contact {c.contact_id} not found")
        if c.active:
            current = store.active_of(tx, c.app_id, c.contact_id)
            if current is not None:
                raise Conflict(
                    f"conversation {current.id} is already active between app {c.app_id} and contact "
                    f"{c.contact_id}: stop it first, or create this one with active false"
                )
        store.insert(tx, store.ConversationRow(c.id, project_id, c.app_id, c.contact_id, c.active, now, 0, _doc(c)))

    async def get(self, project_id: str, conversation_id: str) -> Conversation:
        return _object(await self.db.read(_get, project_id, conversation_id))

    async def query(
        self, query: store.ConversationQuery, page_size: str | None, page_token: str | None
    ) -> tuple[list[Conversation], str, int]:
        """(page, next_page_token, total_size)."""
        size = q.page_size(page_size, q.CONVERSATIONS_PAGE)
        scope = repr(query)
        offset = _offset(page_token, scope)
        total, rows = await self.db.read(store.list_page, query, offset, size)
        return [_object(r) for r in rows], q.next_offset_token(offset, len(rows), size, scope, total), total

    async def recent(
        self, project_id: str, params: Mapping[str, str]
    ) -> tuple[list[tuple[Conversation, dict[str, Any] | None]], str, int]:
        """`GET /conversations:recent`: the app's conversations, the one with the newest message
        first (`order=DESC`, the default) or last, each with that message."""
        app_id = (params.get("app_id") or "").strip()
        if not app_id:
            raise InvalidRequest("app_id is required")
        query = store.ConversationQuery(
            project_id, app_id, None, q.parse_bool(params.get("only_active"), "only_active")
        )
        order = q.parse_enum((params.get("order") or "").upper() or None, _ORDERS, "order", "DESC")
        size = q.page_size(params.get("page_size"), q.RECENT_CONVERSATIONS_PAGE)
        scope = f"recent|{query!r}|{order}"
        offset = _offset(params.get("page_token"), scope)
        total, rows, last = await self.db.read(self._recent, query, order == "DESC", offset, size)
        items = [(_object(r), message_object(last[r.id]) if r.id in last else None) for r in rows]
        return items, q.next_offset_token(offset, len(rows), size, scope, total), total

    @staticmethod
    def _recent(tx: Tx, query: store.ConversationQuery, newest_first: bool, offset: int, size: int):
        total, rows = store.recent_page(tx, query, newest_first, offset, size)
        return total, rows, store.last_messages(tx, [r.id for r in rows])

    async def update(
        self, project_id: str, conversation_id: str, raw: bytes, update_mask: list[str] | None, strategy: str
    ) -> Conversation:
        body = request_body(raw)
        return await self.db.write(self._update, project_id, conversation_id, body, update_mask, strategy)

    @staticmethod
    def _update(
        tx: Tx,
        project_id: str,
        conversation_id: str,
        body: dict[str, Any],
        update_mask: list[str] | None,
        strategy: str,
    ) -> Conversation:
        row = _get(tx, project_id, conversation_id, for_update=True)
        c = apply_conversation_update(_object(row), body, update_mask, strategy)
        store.update(tx, conversation_id, row.active, _doc(c))
        return c

    async def stop(self, project_id: str, conversation_id: str) -> None:
        await self.db.write(self._stop, project_id, conversation_id)

    @staticmethod
    def _stop(tx: Tx, project_id: str, conversation_id: str) -> None:
        row = _get(tx, project_id, conversation_id, for_update=True)
        if row.active:
            c = msgspec.structs.replace(msgspec.json.decode(row.doc, type=Conversation), active=False)
            store.update(tx, conversation_id, False, _doc(c))

    async def delete(self, project_id: str, conversation_id: str) -> None:
        if not await self.db.write(store.delete, project_id, conversation_id):
            raise NotFound(f"conversation {conversation_id} not found")
