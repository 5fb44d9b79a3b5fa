"""Routes: /v1/projects/{project_id}/messages... of the Conversation API (parse, call, render)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...conversation import query as q
from ...conversation import send as rules
from ...errors import InvalidRequest
from ...store.conversation.messages import ListFilter
from ..context import ctx, project
from ..responses import json_response, read_body
from ..spec import CONVERSATION, op, query, route

PAGE = (10, 1000)  # default and largest page_size of ListMessages


class SendMessageRequest(rules._Wire):
    """The body of messages:send (for the API document)."""


class SendMessageResponse(msgspec.Struct):
    message_id: str
    accepted_time: str


class ConversationMessage(msgspec.Struct):
    """A message (`app_message` or `contact_message`, with its identity and times)."""

    id: str
    direction: str
    channel_identity: dict[str, str]
    conversation_id: str
    contact_id: str
    metadata: str
    accept_time: str
    sender_id: str
    processing_mode: str
    injected: bool
    app_message: dict[str, Any] | None = None
    contact_message: dict[str, Any] | None = None


class ListMessagesResponse(msgspec.Struct):
    messages: list[ConversationMessage]
    next_page_token: str


@op(CONVERSATION, "Send a message", body=SendMessageRequest, response=SendMessageResponse, tag="conversation")
async def send(request: Request) -> Response:
    """One AppMessage to one recipient, on the SMS channel. Problems of the recipient (unknown
    contact, no SMS identity, a template that does not render) become a FAILED receipt."""
    p = project(request)
    c = ctx(request)
    return json_response(await c.conversation_messages.send(p.id, await read_body(request, c.settings.max_body_bytes)))


@op(
    CONVERSATION,
    "Get a message",
    response=ConversationMessage,
    tag="conversation",
    params=[query("messages_source", description="CONVERSATION_SOURCE (default) or DISPATCH_SOURCE")],
)
async def get_message(request: Request) -> Response:
    p = project(request)
    return json_response(await ctx(request).conversation_messages.get(p.id, request.path_params["message_id"]))


@op(CONVERSATION, "Delete a message", tag="conversation", params=[query("messages_source")])
async def delete_message(request: Request) -> Response:
    p = project(request)
    await ctx(request).conversation_messages.delete(p.id, request.path_params["message_id"])
    return json_response({})


_FILTERS = (
    "app_id",
    "conversation_id",
    "contact_id",
    "channel_identity",
    "channel",
    "direction",
    "start_time",
    "end_time",
    "only_recipient_originated",
    "view",
    "messages_source",
)


@op(
    CONVERSATION,
    "List messages",
    response=ListMessagesResponse,
    tag="conversation",
    params=[query(n, format="date-time") if n.endswith("_time") else query(n) for n in _FILTERS]
    + [query("page_size", "integer", "default 10, at most 1000"), query("page_token")],
)
async def list_messages(request: Request) -> Response:
    """Newest first (by accept_time). Filters combine; `next_page_token` is "" on the last page."""
    p = project(request)
    qp = request.query_params
    start, end = q.parse_time(qp.get("start_time"), "start_time"), q.parse_time(qp.get("end_time"), "end_time")
    if start is not None and end is not None and start >= end:
        raise InvalidRequest("start_time must be before end_time")
    direction = q.parse_enum(qp.get("direction"), ("TO_APP", "TO_CONTACT"), "direction")
    if q.parse_bool(qp.get("only_recipient_originated"), "only_recipient_originated"):
        direction = "TO_APP"
    f = ListFilter(
        p.id,
        app_id=qp.get("app_id") or None,
        conversation_id=qp.get("conversation_id") or None,
        contact_id=qp.get("contact_id") or None,
        identity=q.query_identity(qp.get("channel_identity")) or None,
        channel=qp.get("channel") or None,
        direction=direction,
        start=start,
        end=end,
    )
    scope = repr(f)
    cursor = q.decode_page_token(qp.get("page_token"), scope)
    before = None
    if cursor is not None:
        at, _, last = str(cursor).partition(":")
        if not at.isdigit() or not last:
            raise InvalidRequest("page_token is not valid")
        before = (int(at), last)
    items, nxt = await ctx(request).conversation_messages.query(f, q.page_size(qp.get("page_size"), PAGE), before)
    token = q.encode_page_token(f"{nxt[0]}:{nxt[1]}", scope) if nxt else ""
    return json_response({"messages": items, "next_page_token": token})


routes = [
    route("POST", "/messages:send", send),
    route("GET", "/messages", list_messages),
    route("GET", "/messages/{message_id}", get_message),
    route("DELETE", "/messages/{message_id}", delete_message),
]
