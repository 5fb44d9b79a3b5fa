"""Routes: /xms/v1/{account}/groups..."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .context import account, ctx
from .responses import json_response, page_params, page_response, read_body


async def create(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    return json_response(await c.groups.create(acc.id, await read_body(request, c.settings.max_body_bytes)), 201)


async def list_groups(request: Request) -> Response:
    acc = account(request)
    page, size = page_params(request)
    count, docs = await ctx(request).groups.list(acc.id, page, size)
    return page_response("groups", count, page, [msgspec.json.encode(d) for d in docs])


async def get_group(request: Request) -> Response:
    acc = account(request)
    return json_response(await ctx(request).groups.get(acc.id, request.path_params["group_id"]))


async def update(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    return json_response(await c.groups.update(acc.id, request.path_params["group_id"], raw))


async def replace(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    return json_response(await c.groups.replace(acc.id, request.path_params["group_id"], raw))


async def delete(request: Request) -> Response:
    acc = account(request)
    await ctx(request).groups.delete(acc.id, request.path_params["group_id"])
    return Response(status_code=200)


async def members(request: Request) -> Response:
    acc = account(request)
    return json_response(await ctx(request).groups.members(acc.id, request.path_params["group_id"]))


routes = [
    Route("/groups", create, methods=["POST"]),
    Route("/groups", list_groups, methods=["GET"]),
    Route("/groups/{group_id}", get_group, methods=["GET"]),
    Route("/groups/{group_id}", update, methods=["POST"]),
    Route("/groups/{group_id}", replace, methods=["PUT"]),
    Route("/groups/{group_id}", delete, methods=["DELETE"]),
    Route("/groups/{group_id}/members", members, methods=["GET"]),
]
