"""Contacts: create, list, read, update, delete, merge; identity conflicts; channel profiles.

A channel identity belongs to one contact of a project (`store/conversation/contacts.py`): a
create or update that would give a contact an identity another contact holds is refused with
409 ALREADY_EXISTS, naming the holder. So `contacts:identityConflicts` (Sinch's report of
identities shared by several contacts) always answers an empty list here.

Merge follows the reference's text for MergeContact
(https://developers.sinch.com/docs/conversation/api-reference/conversation/tag/Contact/): the
destination keeps its identities and takes the source's on channels it lacks (at the end of
its priority list), copies optional fields it has empty, and takes over the source's
conversations; where both had a conversation with the same app, the source's messages join
the destination's active conversation of that app. The source is deleted.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from ...clock import Clock
from ...conversation import fields as f
from ...conversation import query as q
from ...conversation.contacts import (
    Contact,
    ContactFilter,
    apply_contact_update,
    decode_contact_create,
    merge_contacts,
    new_contact,
)
from ...conversation.conversations import Conversation
from ...conversation.messages import Recipient, validate_recipient
from ...errors import ApiError, Conflict, InvalidRequest, NotFound
from ...ids import IdFactory
from ...store.conversation import contacts as store
from ...store.conversation import conversations as conversation_store
from ...store.db import Database, Tx
from .apps import get_app, request_body

# Channels Sinch serves profiles for (GetChannelProfileRequest.channel in the reference).
PROFILE_CHANNELS = ("MESSENGER", "INSTAGRAM", "VIBER", "LINE")


class MergeContactRequest(msgspec.Struct):
    source_id: str  # the contact that is merged into the destination, then deleted
    strategy: Literal["MERGE"] = "MERGE"  # the only ConversationMergeStrategy


class ChannelProfileRequest(msgspec.Struct):
    app_id: str
    recipient: Recipient
    channel: str


class ChannelProfile(msgspec.Struct):
    profile_name: str


class IdentityConflict(msgspec.Struct):
    identity: str
    channels: list[str]
    contact_ids: list[str]


def _object(row: store.ContactRow) -> Contact:
    return msgspec.json.decode(row.doc, type=Contact)


def _doc(c: Contact) -> str:
    return msgspec.json.encode(c).decode()


def _identities(c: Contact) -> list[store.Identity]:
    return [(ci.channel, ci.identity) for ci in c.channel_identities]


def _get(tx: Tx, project_id: str, contact_id: str, *, for_update: bool = False) -> store.ContactRow:
    row = store.get(tx, project_id, contact_id, for_update=for_update)
    if row is None:
        raise NotFound(f"contact {contact_id} not found")
    return row


def _refuse(tx: Tx, project_id: str, lost: list[store.Identity]) -> None:
    """409 for identities another contact holds (raised inside the write: nothing is kept)."""
    if lost:
        channel, identity = lost[0]
        holder = store.holders(tx, project_id, [lost[0]]).get(lost[0], "another contact")
        raise Conflict(f"channel identity {channel} {identity} already belongs to contact {holder}")


class ContactService:
    def __init__(self, db: Database, clock: Clock, ids: IdFactory) -> None:
        self.db, self.clock, self.ids = db, clock, ids

    async def create(self, project_id: str, raw: bytes) -> Contact:
        request_body(raw)
        contact = new_contact(decode_contact_create(raw), self.ids.new())
        await self.db.write(self._create, project_id, contact, self.clock.now_ms())
        return contact

    @staticmethod
    def _create(tx: Tx, project_id: str, c: Contact, now: int) -> None:
        _refuse(tx, project_id, store.claim(tx, project_id, c.id, _identities(c)))
        store.insert(tx, store.ContactRow(c.id, project_id, c.external_id or None, now, _doc(c)))

    async def query(self, project_id: str, flt: ContactFilter) -> tuple[list[Contact], str]:
        """One page and the next page's token ("" on the last)."""
        scope = flt.scope()
        cursor = q.decode_page_token(flt.page_token, scope)
        if cursor is not None and not isinstance(cursor, str):
            raise InvalidRequest("page_token is not valid")
        query = store.ContactQuery(project_id, flt.external_id, flt.channel, flt.identity)
        rows = await self.db.read(store.list_page, query, cursor, flt.page_size + 1)
        more = len(rows) > flt.page_size
        rows = rows[: flt.page_size]
        return [_object(r) for r in rows], (q.encode_page_token(rows[-1].id, scope) if more else "")

    async def get(self, project_id: str, contact_id: str) -> Contact:
        return _object(await self.db.read(_get, project_id, contact_id))

    async def update(self, project_id: str, contact_id: str, raw: bytes, update_mask: list[str] | None) -> Contact:
        body = request_body(raw)
        return await self.db.write(self._update, project_id, contact_id, body, update_mask)

    @staticmethod
    def _update(
        tx: Tx, project_id: str, contact_id: str, body: dict[str, Any], update_mask: list[str] | None
    ) -> Contact:
        contact = apply_contact_update(_object(_get(tx, project_id, contact_id, for_update=True)), body, update_mask)
        _refuse(tx, project_id, store.set_identities(tx, project_id, contact_id, _identities(contact)))
        store.update(tx, contact_id, contact.external_id or None, _doc(contact))
        return contact

    async def delete(self, project_id: str, contact_id: str) -> None:
        await self.db.write(self._delete, project_id, contact_id)

    @staticmethod
    def _delete(tx: Tx, project_id: str, contact_id: str) -> None:
        _get(tx, project_id, contact_id, for_update=True)
        store.delete(tx, project_id, contact_id)

    async def merge(self, project_id: str, destination_id: str, raw: bytes) -> Contact:
        req = f.convert(f.strip_nulls(request_body(raw)), MergeContactRequest)
        if not req.source_id.strip():
            raise InvalidRequest("source_id is required")
        if req.source_id == destination_id:
            raise InvalidRequest("source_id is the destination contact: a contact cannot be merged into itself")
        return await self.db.write(self._merge, project_id, destination_id, req.source_id)

    @staticmethod
    def _merge(tx: Tx, project_id: str, destination_id: str, source_id: str) -> Contact:
        destination = _object(_get(tx, project_id, destination_id, for_update=True))
        source = _object(_get(tx, project_id, source_id, for_update=True))
        merged = merge_contacts(destination, source)
        for conv in conversation_store.of_contact(tx, project_id, source_id):
            target = conversation_store.active_of(tx, conv.app_id, destination_id)
            if target is not None:
                conversation_store.move_messages(tx, project_id, conv.id, target.id, destination_id)
                conversation_store.delete(tx, project_id, conv.id)
            else:
                doc = msgspec.structs.replace(
                    msgspec.json.decode(conv.doc, type=Conversation), contact_id=destination_id
                )
                conversation_store.update(
                    tx, conv.id, conv.active, msgspec.json.encode(doc).decode(), contact_id=destination_id
                )
        conversation_store.set_messages_contact(tx, project_id, source_id, destination_id)
        store.delete(tx, project_id, source_id)  # its identities go first, so they can move
        _refuse(tx, project_id, store.set_identities(tx, project_id, destination_id, _identities(merged)))
        store.update(tx, destination_id, merged.external_id or None, _doc(merged))
        return merged

    async def identity_conflicts(
        self, project_id: str, page_size: str | None, page_token: str | None
    ) -> tuple[list[IdentityConflict], str]:
        q.page_size(page_size, q.IDENTITY_CONFLICTS_PAGE)
        q.decode_page_token(page_token, "identity_conflicts")
        return [], ""  # an identity has one contact at most (module docstring)

    async def channel_profile(self, project_id: str, raw: bytes) -> ChannelProfile:
        data = f.strip_nulls(request_body(raw))
        for name in ("app_id", "recipient", "channel"):
            if data.get(name) in (None, "", {}):
                raise InvalidRequest(f"{name} is required")
        req = f.convert(data, ChannelProfileRequest)
        f.check_ulid(req.app_id, "app_id")
        validate_recipient(req.recipient)
        if req.channel not in PROFILE_CHANNELS:
            raise InvalidRequest(f"channel: profiles exist for {', '.join(PROFILE_CHANNELS)} only, not {req.channel!r}")
        await self.db.read(get_app, project_id, req.app_id)
        # openxms delivers on SMS only: it has no connection to these channels to ask.
        raise ApiError(
            f"channel profiles on {req.channel} are not available: openxms serves the SMS channel only",
            code="unimplemented",
            status=501,
        )
