"""Routes: /v1/projects/{project_id}/conversations... of the Conversation API (parse, call, render)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...conversation.conversations import Conversation, parse_strategy
from ...services.conversation.conversations import conversation_query
from ..context import ctx, project
from ..responses import json_response
from ..spec import CONVERSATION, op, query, route
from .apps import UPDATE_MASK, body, update_mask
from .messages import ConversationMessage

TAG = "conversations"


class ConversationList(msgspec.Struct):
    conversations: list[Conversation]
    next_page_token: str
    total_size: int


class RecentConversation(msgspec.Struct, omit_defaults=True):
    conversation: Conversation
    last_message: ConversationMessage | None = None  # absent while the conversation has no message


class RecentConversationList(msgspec.Struct):
    conversations: list[RecentConversation]
    next_page_token: str
    total_size: int


@op(
    CONVERSATION,
    "Create a conversation",
    tag=TAG,
    body=Conversation,
    response=Conversation,
    errors=[(409, "an active conversation between this app and contact exists")],
)
async def create(request: Request) -> Response:
    """`app_id` and `contact_id` are required (any `id` is ignored); active unless `active` is false."""
    p = project(request)
    return json_response(await ctx(request).conversation_conversations.create(p.id, await body(request)))


@op(
    CONVERSATION,
    "List conversations",
    tag=TAG,
    response=ConversationList,
    params=[
        query("app_id"),
        query("contact_id", description="app_id or contact_id (or both) is required"),
        query("only_active", "boolean"),
        query("active_channel"),
        query("page_size", "integer", "default 10, at most 20 (more is read as 20)"),
        query("page_token"),
    ],
)
async def list_conversations(request: Request) -> Response:
    """Oldest first."""
    p = project(request)
    qp = request.query_params
    items, token, total = await ctx(request).conversation_conversations.query(
        conversation_query(p.id, qp), qp.get("page_size"), qp.get("page_token")
    )
    return json_response(ConversationList(items, token, total))


@op(
    CONVERSATION,
    "List recent conversations",
    tag=TAG,
    response=RecentConversationList,
    params=[
        query("app_id", description="required"),
        query("only_active", "boolean"),
        query("order", description="DESC (default): the newest last message first; ASC"),
        query("page_size", "integer", "default 10, at most 50 (more is read as 50)"),
        query("page_token"),
    ],
)
async def recent(request: Request) -> Response:
    """Each conversation with its newest message (either direction); conversations without
    messages come after (DESC) or before (ASC) the others."""
    p = project(request)
    items, token, total = await ctx(request).conversation_conversations.recent(p.id, request.query_params)
    # The message as GET /messages/{id} writes it (the same function renders both).
    return json_response(
        {
            "conversations": [{"conversation": c, **({"last_message": m} if m is not None else {})} for c, m in items],
            "next_page_token": token,
            "total_size": total,
        }
    )


@op(CONVERSATION, "Get a conversation", tag=TAG, response=Conversation)
async def get_conversation(request: Request) -> Response:
    p = project(request)
    return json_response(
        await ctx(request).conversation_conversations.get(p.id, request.path_params["conversation_id"])
    )


@op(
    CONVERSATION,
    "Update a conversation",
    tag=TAG,
    body=Conversation,
    response=Conversation,
    params=[
        UPDATE_MASK,
        query("metadata_update_strategy", description="REPLACE (default) or MERGE_PATCH (RFC 7386), for metadata_json"),
    ],
)
async def update(request: Request) -> Response:
    """`active`, `app_id`, `contact_id` and `last_received` are not written (`:stop` ends a conversation)."""
    p = project(request)
    raw = await body(request)
    strategy = parse_strategy(request.query_params.get("metadata_update_strategy"))
    return json_response(
        await ctx(request).conversation_conversations.update(
            p.id, request.path_params["conversation_id"], raw, update_mask(request), strategy
        )
    )


@op(CONVERSATION, "Delete a conversation", tag=TAG)
async def delete(request: Request) -> Response:
    """With its messages."""
    p = project(request)
    await ctx(request).conversation_conversations.delete(p.id, request.path_params["conversation_id"])
    return json_response({})


@op(CONVERSATION, "Stop a conversation", tag=TAG)
async def stop(request: Request) -> Response:
    """The conversation is no longer active: later traffic between its app and contact starts a
    new one. Stopping an inactive conversation changes nothing."""
    p = project(request)
    await ctx(request).conversation_conversations.stop(p.id, request.path_params["conversation_id"])
    return json_response({})


routes = [
    route("POST", "/conversations", create),
    route("GET", "/conversations", list_conversations),
    route("GET", "/conversations:recent", recent),
    route("POST", "/conversations/{conversation_id}:stop", stop),
    route("GET", "/conversations/{conversation_id}", get_conversation),
    route("PATCH", "/conversations/{conversation_id}", update),
    route("DELETE", "/conversations/{conversation_id}", delete),
]
