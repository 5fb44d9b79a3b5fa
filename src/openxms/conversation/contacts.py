"""Contacts: the stored/returned object, create, update, merge and the list filter.

As in the Conversation API reference (Contacts,
https://developers.sinch.com/docs/conversation/api-reference/conversation/tag/Contact/):
a create needs at least one channel identity and a `language` (both SDKs make `language`
mandatory too), `display_name` defaults to "Unknown", `metadata` holds up to 1024
characters. Unset strings are returned as `""`, as in Sinch's examples.

SMS identities are stored digits-only (Sinch's examples and receipts carry MSISDNs without
`+`), so a lookup by identity matches however the number was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import InvalidRequest
from ..sms import msisdn
from . import fields as f
from . import query as q
from .types import CHANNELS, LANGUAGES, Channel

MSISDN_CHANNELS = frozenset({"SMS"})
# Channels whose identities only mean something within one app (a page-scoped id).
APP_SCOPED_CHANNELS = frozenset({"MESSENGER", "INSTAGRAM", "LINE", "WECHAT"})
MAX_METADATA = 1024
DEFAULT_DISPLAY_NAME = "Unknown"
READ_ONLY = ("id",)


class ContactIdentity(msgspec.Struct):
    channel: Channel
    identity: str
    app_id: str = ""


class Contact(msgspec.Struct):
    id: str = ""
    channel_identities: list[ContactIdentity] = []
    channel_priority: list[Channel] = []
    display_name: str = DEFAULT_DISPLAY_NAME
    email: str = ""
    external_id: str = ""
    metadata: str = ""
    language: str = ""


DEFAULTS: dict[str, Any] = msgspec.to_builtins(Contact())
WRITABLE = tuple(k for k in DEFAULTS if k not in READ_ONLY)


def normalise_identity(channel: str, identity: str, where: str = "identity") -> str:
    """An SMS identity as digits only (400 if it is not a phone number); others stripped."""
    value = identity.strip()
    if not value:
        raise InvalidRequest(f"{where} must not be empty")
    if channel in MSISDN_CHANNELS:
        n = msisdn.normalize(value)
        if n is None:
            raise InvalidRequest(f"{where} is not a phone number: {identity!r}")
        return n
    return value


def _normalise(data: dict[str, Any]) -> Contact:
    c = f.convert(f.strip_nulls(data), Contact)
    if not c.channel_identities:
        raise InvalidRequest("channel_identities must contain at least one channel identity")
    seen: dict[tuple[str, str, str], ContactIdentity] = {}
    for i, ci in enumerate(c.channel_identities):
        where = f"channel_identities[{i}]"
        ident = ContactIdentity(
            ci.channel, normalise_identity(ci.channel, ci.identity, f"{where}.identity"), ci.app_id.strip()
        )
        if ci.channel in APP_SCOPED_CHANNELS and not ident.app_id:
            raise InvalidRequest(f"{where}.app_id is required for channel {ci.channel}")
        seen.setdefault((ident.channel, ident.identity, ident.app_id), ident)
    c.channel_identities = list(seen.values())
    c.channel_priority = list(dict.fromkeys(c.channel_priority))
    if not c.display_name.strip():
        c.display_name = DEFAULT_DISPLAY_NAME
    if c.language and c.language not in LANGUAGES:
        raise InvalidRequest(f"language: invalid value {c.language!r}")
    f.check_length(c.metadata, MAX_METADATA, "metadata")
    return c


def decode_contact_create(raw: bytes) -> Contact:
    """A create request as a Contact without id; 400 naming the field for anything invalid."""
    data = f.decode_object(raw)
    data.pop("id", None)
    if data.get("channel_identities") is None:
        raise InvalidRequest("channel_identities is required")
    if data.get("language") in (None, ""):
        raise InvalidRequest("language is required")
    return _normalise(data)


def new_contact(req: Contact, contact_id: str) -> Contact:
    return msgspec.structs.replace(req, id=contact_id)


def apply_contact_update(contact: Contact, body: dict[str, Any], update_mask: list[str] | None) -> Contact:
    """`contact` after `PATCH /contacts/{id}`. Clearing `channel_identities` is a 400 (a contact
    has at least one); clearing `display_name` gives "Unknown" again, `language` becomes `""`."""
    merged = f.apply_patch(
        msgspec.to_builtins(contact), body, update_mask, fields=WRITABLE, read_only=READ_ONLY, defaults=DEFAULTS
    )
    return msgspec.structs.replace(_normalise(merged), id=contact.id)


def merge_contacts(destination: Contact, source: Contact) -> Contact:
    """`POST /contacts/{destination}:merge`: the destination takes the source's identities on
    channels it has none on (at the end of its lists), and each optional field it lacks."""
    have = {ci.channel for ci in destination.channel_identities}
    moved = [ci for ci in source.channel_identities if ci.channel not in have]
    out = msgspec.structs.replace(
        destination,
        channel_identities=[*destination.channel_identities, *moved],
        channel_priority=list(dict.fromkeys([*destination.channel_priority, *(ci.channel for ci in moved)])),
    )
    if out.display_name == DEFAULT_DISPLAY_NAME:
        out.display_name = source.display_name
    for name in ("email", "external_id", "metadata", "language"):
        if not getattr(out, name):
            setattr(out, name, getattr(source, name))
    return out


class ContactFilter(msgspec.Struct, frozen=True):
    page_size: int
    page_token: str | None = None
    external_id: str | None = None
    channel: str | None = None
    identity: str | None = None

    def scope(self) -> str:
        """What a page token is bound to (everything but the size and the token)."""
        return f"{self.external_id}|{self.channel}|{self.identity}"


def contact_filter(params: Mapping[str, str]) -> ContactFilter:
    """`GET /contacts` query: `channel` and `identity` go together, `external_id` excludes both."""
    external_id = (params.get("external_id") or "").strip() or None
    channel = q.parse_enum(params.get("channel"), CHANNELS, "channel")
    raw_identity = params.get("identity")
    identity = q.query_identity(raw_identity) if raw_identity is not None and raw_identity.strip() else None
    if (channel is None) != (identity is None):
        raise InvalidRequest("channel and identity must be given together")
    if external_id is not None and channel is not None:
        raise InvalidRequest("external_id cannot be combined with channel and identity")
    return ContactFilter(
        page_size=q.page_size(params.get("page_size"), q.CONTACTS_PAGE),
        page_token=params.get("page_token") or None,
        external_id=external_id,
        channel=channel,
        identity=identity,
    )
