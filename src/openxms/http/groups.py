"""Routes: /xms/v1/{service_plan_id}/groups..."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..sms.groups import GroupRequest, GroupUpdate
from ..sms.objects import Group, GroupList
from .context import account, ctx
from .responses import PAGE, json_response, page_params, read_body
from .spec import SMS, op, route

TAG = "groups"


@op(
    SMS,
    "Create a group",
    tag=TAG,
    status=201,
    body=GroupRequest,
    response=Group,
    errors=[(403, "unknown child group, or the name is taken")],
)
async def create(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    return json_response(await c.groups.create(acc.id, await read_body(request, c.settings.max_body_bytes)), 201)


@op(SMS, "List groups", tag=TAG, response=GroupList, params=PAGE)
async def list_groups(request: Request) -> Response:
    acc = account(request)
    page, size = page_params(request)
    count, groups = await ctx(request).groups.query(acc.id, page, size)
    return json_response(GroupList(count, page, len(groups), groups))


@op(SMS, "Get a group", tag=TAG, response=Group)
async def get_group(request: Request) -> Response:
    acc = account(request)
    return json_response(await ctx(request).groups.get(acc.id, request.path_params["group_id"]))


@op(
    SMS,
    "Update a group",
    tag=TAG,
    body=GroupUpdate,
    response=Group,
    errors=[(403, "unknown group in add_from_group / remove_from_group, or the name is taken")],
)
async def update(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    return json_response(await c.groups.update(acc.id, request.path_params["group_id"], raw))


@op(
    SMS,
    "Replace a group",
    tag=TAG,
    body=GroupRequest,
    response=Group,
    errors=[(403, "unknown child group, or the name is taken")],
)
async def replace(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    return json_response(await c.groups.replace(acc.id, request.path_params["group_id"], raw))


@op(SMS, "Delete a group", tag=TAG)
async def delete(request: Request) -> Response:
    acc = account(request)
    await ctx(request).groups.delete(acc.id, request.path_params["group_id"])
    return Response(status_code=200)


@op(SMS, "Group members", tag=TAG, response=list[str])
async def members(request: Request) -> Response:
    acc = account(request)
    return json_response(await ctx(request).groups.members(acc.id, request.path_params["group_id"]))


routes = [
    route("POST", "/groups", create),
    route("GET", "/groups", list_groups),
    route("GET", "/groups/{group_id}", get_group),
    route("POST", "/groups/{group_id}", update),
    route("PUT", "/groups/{group_id}", replace),
    route("DELETE", "/groups/{group_id}", delete),
    route("GET", "/groups/{group_id}/members", members),
]
