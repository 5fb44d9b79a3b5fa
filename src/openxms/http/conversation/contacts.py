"""Routes: /v1/projects/{project_id}/contacts... of the Conversation API (parse, call, render)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...conversation.contacts import Contact, contact_filter
from ...services.conversation.contacts import (
    ChannelProfile,
    ChannelProfileRequest,
    IdentityConflict,
    MergeContactRequest,
)
from ..context import ctx, project
from ..responses import json_response
from ..spec import CONVERSATION, op, query, route
from .apps import UPDATE_MASK, body, update_mask

TAG = "conversation contacts"
PAGE = (
    query("page_size", "integer", "default 10, at most 20 (more is read as 20)"),
    query("page_token", description="next_page_token of the previous page"),
)


class ContactList(msgspec.Struct):
    contacts: list[Contact]
    next_page_token: str


class IdentityConflictList(msgspec.Struct):
    conflicts: list[IdentityConflict]
    next_page_token: str


@op(
    CONVERSATION,
    "Create a contact",
    tag=TAG,
    body=Contact,
    response=Contact,
    errors=[(409, "a channel identity already belongs to another contact")],
)
async def create(request: Request) -> Response:
    """`channel_identities` (at least one) and `language` are required; SMS identities are
    stored as digits (`+` and formatting dropped)."""
    p = project(request)
    return json_response(await ctx(request).conversation_contacts.create(p.id, await body(request)))


@op(
    CONVERSATION,
    "List contacts",
    tag=TAG,
    response=ContactList,
    params=[
        *PAGE,
        query("external_id"),
        query("channel", description="with identity"),
        query("identity", description="with channel; a phone number in any format"),
    ],
)
async def list_contacts(request: Request) -> Response:
    """Oldest first. `channel` and `identity` go together; `external_id` excludes both."""
    p = project(request)
    contacts, token = await ctx(request).conversation_contacts.query(p.id, contact_filter(request.query_params))
    return json_response(ContactList(contacts, token))


@op(CONVERSATION, "Get a contact", tag=TAG, response=Contact)
async def get_contact(request: Request) -> Response:
    p = project(request)
    return json_response(await ctx(request).conversation_contacts.get(p.id, request.path_params["contact_id"]))


@op(
    CONVERSATION,
    "Update a contact",
    tag=TAG,
    body=Contact,
    response=Contact,
    params=[UPDATE_MASK],
    errors=[(409, "a channel identity already belongs to another contact")],
)
async def update(request: Request) -> Response:
    p = project(request)
    raw = await body(request)
    return json_response(
        await ctx(request).conversation_contacts.update(
            p.id, request.path_params["contact_id"], raw, update_mask(request)
        )
    )


@op(CONVERSATION, "Delete a contact", tag=TAG)
async def delete(request: Request) -> Response:
    """With its identities and its conversations (and their messages)."""
    p = project(request)
    await ctx(request).conversation_contacts.delete(p.id, request.path_params["contact_id"])
    return json_response({})


@op(CONVERSATION, "Merge two contacts", tag=TAG, body=MergeContactRequest, response=Contact)
async def merge(request: Request) -> Response:
    """The source (`source_id`) is merged into the destination (the path's contact) and deleted;
    the destination is returned."""
    p = project(request)
    raw = await body(request)
    return json_response(await ctx(request).conversation_contacts.merge(p.id, request.path_params["contact_id"], raw))


@op(CONVERSATION, "List identity conflicts", tag=TAG, response=IdentityConflictList, params=PAGE)
async def identity_conflicts(request: Request) -> Response:
    """Always empty: a channel identity belongs to one contact at most here."""
    p = project(request)
    qp = request.query_params
    conflicts, token = await ctx(request).conversation_contacts.identity_conflicts(
        p.id, qp.get("page_size"), qp.get("page_token")
    )
    return json_response(IdentityConflictList(conflicts, token))


@op(
    CONVERSATION,
    "Get a channel profile",
    tag=TAG,
    body=ChannelProfileRequest,
    response=ChannelProfile,
    errors=[(501, "openxms has no connection to the profile's channel")],
)
async def channel_profile(request: Request) -> Response:
    """Profiles exist on MESSENGER, INSTAGRAM, VIBER and LINE only (400 for SMS); openxms
    delivers on SMS only, so a valid request for one of those channels is 501."""
    p = project(request)
    return json_response(await ctx(request).conversation_contacts.channel_profile(p.id, await body(request)))


routes = [
    route("POST", "/contacts", create),
    route("GET", "/contacts", list_contacts),
    route("GET", "/contacts:identityConflicts", identity_conflicts),
    route("POST", "/contacts:getChannelProfile", channel_profile),
    route("POST", "/contacts/{contact_id}:merge", merge),
    route("GET", "/contacts/{contact_id}", get_contact),
    route("PATCH", "/contacts/{contact_id}", update),
    route("DELETE", "/contacts/{contact_id}", delete),
]
