"""Routes: /v1/projects/{project_id}/webhooks... and /apps/{app_id}/webhooks of the
Conversation API (parse, call, render)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...conversation.webhooks import Webhook
from ..context import ctx, project
from ..responses import json_response
from ..spec import CONVERSATION, op, route
from .apps import UPDATE_MASK, body, update_mask

TAG = "conversation webhooks"


class WebhookList(msgspec.Struct):
    webhooks: list[Webhook]


@op(CONVERSATION, "Create a webhook", tag=TAG, body=Webhook, response=Webhook)
async def create(request: Request) -> Response:
    """`app_id`, `target` and `triggers` are required; an app has at most 5 webhooks (400
    beyond). Without `target_type` the webhook is HTTP (callbacks are sent)."""
    p = project(request)
    return json_response(await ctx(request).conversation_webhooks.create(p.id, await body(request)))


@op(CONVERSATION, "List an app's webhooks", tag=TAG, response=WebhookList)
async def list_webhooks(request: Request) -> Response:
    """Oldest first; no paging, as in Sinch's API."""
    p = project(request)
    return json_response(
        WebhookList(await ctx(request).conversation_webhooks.of_app(p.id, request.path_params["app_id"]))
    )


@op(CONVERSATION, "Get a webhook", tag=TAG, response=Webhook)
async def get_webhook(request: Request) -> Response:
    p = project(request)
    return json_response(await ctx(request).conversation_webhooks.get(p.id, request.path_params["webhook_id"]))


@op(CONVERSATION, "Update a webhook", tag=TAG, body=Webhook, response=Webhook, params=[UPDATE_MASK])
async def update(request: Request) -> Response:
    """`app_id` cannot change."""
    p = project(request)
    raw = await body(request)
    return json_response(
        await ctx(request).conversation_webhooks.update(
            p.id, request.path_params["webhook_id"], raw, update_mask(request)
        )
    )


@op(CONVERSATION, "Delete a webhook", tag=TAG)
async def delete(request: Request) -> Response:
    p = project(request)
    await ctx(request).conversation_webhooks.delete(p.id, request.path_params["webhook_id"])
    return json_response({})


routes = [
    route("POST", "/webhooks", create),
    route("GET", "/apps/{app_id}/webhooks", list_webhooks),
    route("GET", "/webhooks/{webhook_id}", get_webhook),
    route("PATCH", "/webhooks/{webhook_id}", update),
    route("DELETE", "/webhooks/{webhook_id}", delete),
]
