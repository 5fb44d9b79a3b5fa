"""Routes: /v1/projects/{project_id}/apps... of the Conversation API (parse, call, render)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...conversation import query as q
from ...conversation.apps import App
from ..context import ctx, project
from ..responses import json_response, read_body
from ..spec import CONVERSATION, op, query, route

TAG = "conversation apps"
UPDATE_MASK = query(
    "update_mask",
    description="comma-separated top-level fields to write (`a,b`); a listed field "
    "absent or null in the body is reset. Without it every field in the "
    "body is written, null clearing it",
)


class AppList(msgspec.Struct):
    apps: list[App]


def update_mask(request: Request) -> list[str] | None:
    """`?update_mask=a,b` (Python and Node), the parameter repeated, or gRPC-gateway's
    `update_mask.paths=a` form."""
    qp = request.query_params
    return q.parse_update_mask(qp.getlist("update_mask") or qp.getlist("update_mask.paths") or None)


async def body(request: Request) -> bytes:
    return await read_body(request, ctx(request).settings.max_body_bytes)


@op(CONVERSATION, "Create an app", tag=TAG, body=App, response=App)
async def create(request: Request) -> Response:
    """`display_name` and `channel_credentials` are required. An SMS credential is
    `static_bearer {claimed_identity: <service plan id>, token: <its API token>}`: the app's
    messages go through that plan (400 for an unknown plan or a wrong token)."""
    p = project(request)
    return json_response(await ctx(request).conversation_apps.create(p.id, await body(request)))


@op(CONVERSATION, "List apps", tag=TAG, response=AppList)
async def list_apps(request: Request) -> Response:
    """Every app of the project, oldest first (no paging, as in Sinch's API)."""
    p = project(request)
    return json_response(AppList(await ctx(request).conversation_apps.query(p.id)))


@op(CONVERSATION, "Get an app", tag=TAG, response=App)
async def get_app(request: Request) -> Response:
    p = project(request)
    return json_response(await ctx(request).conversation_apps.get(p.id, request.path_params["app_id"]))


@op(CONVERSATION, "Update an app", tag=TAG, body=App, response=App, params=[UPDATE_MASK])
async def update(request: Request) -> Response:
    """A written `channel_credentials` replaces the whole list."""
    p = project(request)
    raw = await body(request)
    return json_response(
        await ctx(request).conversation_apps.update(p.id, request.path_params["app_id"], raw, update_mask(request))
    )


@op(CONVERSATION, "Delete an app", tag=TAG)
async def delete(request: Request) -> Response:
    """With its webhooks, conversations and messages; contacts are the project's and stay."""
    p = project(request)
    await ctx(request).conversation_apps.delete(p.id, request.path_params["app_id"])
    return json_response({})


routes = [
    route("POST", "/apps", create),
    route("GET", "/apps", list_apps),
    route("GET", "/apps/{app_id}", get_app),
    route("PATCH", "/apps/{app_id}", update),
    route("DELETE", "/apps/{app_id}", delete),
]
