"""Routes: the Conversation Batch API under /conversationbatch/v1/projects/{project_id}/messages.

Sinch serves it on its own host, where `GET /messages/{id}` means "batch status"; on our one
port that would collide with the Conversation API's "get message", hence the prefix (a
client's batch base URL is `http://host:port/conversationbatch`). OAuth bearer tokens only.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...conversation import batches as rules
from ...errors import Unauthorized
from ..context import ctx, project
from ..responses import json_response, read_body
from ..spec import CONVERSATION_BATCH, op, query, route


class ConversationBatchRequest(rules._Wire):
    """The body of a batch send (for the API document)."""


class BatchSent(msgspec.Struct):
    batch_id: str
    send_after: str


class BatchStatus(msgspec.Struct):
    batch_id: str
    meta_data: dict[str, str]
    status: str  # SCHEDULED | READY | PROCESSED | CANCELLED
    send_after: str


def _bearer(request: Request):
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        raise Unauthorized(
            "the Batch API takes an OAuth2 bearer token (POST /oauth2/token)", headers={"WWW-Authenticate": "Bearer"}
        )
    return project(request)


@op(CONVERSATION_BATCH, "Send a batch", body=ConversationBatchRequest, response=BatchSent)
async def send(request: Request) -> Response:
    """One message to 1..1000 recipients with per-recipient parameters; `send_after` is rounded
    as Sinch does and the effective value returned."""
    p = _bearer(request)
    c = ctx(request)
    return json_response(await c.conversation_batches.send(p.id, await read_body(request, c.settings.max_body_bytes)))


@op(CONVERSATION_BATCH, "Batch status", response=BatchStatus)
async def status(request: Request) -> Response:
    p = _bearer(request)
    return json_response(await ctx(request).conversation_batches.get(p.id, request.path_params["batch_id"]))


@op(
    CONVERSATION_BATCH,
    "Batch statuses by metadata",
    response=list[BatchStatus],
    params=[query("metadataKey", description="required"), query("metadataValue", description="required")],
)
async def by_metadata(request: Request) -> Response:
    p = _bearer(request)
    return json_response(await ctx(request).conversation_batches.by_metadata(p.id, request.query_params))


@op(
    CONVERSATION_BATCH,
    "Cancel scheduled batches",
    response=dict,
    params=[query("batch_id"), query("metadataKey"), query("metadataValue")],
)
async def cancel(request: Request) -> Response:
    """By `batch_id`, or every batch whose metadata has the key and value. Always 200 `{}`:
    Sinch cancels asynchronously and never says whether it did."""
    p = _bearer(request)
    c = ctx(request)
    await c.conversation_batches.cancel(p.id, await read_body(request, c.settings.max_body_bytes), request.query_params)
    return json_response({})


routes = [
    route("POST", "/messages", send),
    route("GET", "/messages", by_metadata),
    route("GET", "/messages/{batch_id}", status),
    route("DELETE", "/messages", cancel),
]
