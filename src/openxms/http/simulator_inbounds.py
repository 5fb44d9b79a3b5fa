"""`/simulator/inbounds` and `/simulator/groups`: the SMS API's inbound messages (MO) and groups of
every plan, for the web UI's Inbounds and Groups views (no auth, like the rest of `/simulator`:
bind to loopback). Each item carries the object exactly as the SMS API returns it
(`GET /xms/v1/{plan}/inbounds/{id}`, `GET /xms/v1/{plan}/groups/{id}`) beside its plan.

Lists are newest first, keyset-paged: `next` is passed back as `after`.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

import msgspec
from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import Response

from ..errors import InvalidFormat, NotFound
from ..sms import groups as group_rules
from ..sms import msisdn
from ..sms.objects import Group, InboundMessage
from ..store import groups, inbounds
from .context import ctx
from .responses import ID, json_response, number_cursor, paged, paging, q_list, q_page, time_id_cursor
from .spec import SIMULATOR, op, path, query, route

Cursor = Annotated[str | None, Meta(description="pass as `after` for the next page; null: no more")]


class SimInbound(Struct):
    service_plan_id: str
    inbound: InboundMessage  # as GET /xms/v1/{plan}/inbounds/{id} returns it


class SimInbounds(Struct):
    inbounds: list[SimInbound]
    next: Cursor


class SimGroup(Struct):
    service_plan_id: str
    group: Group  # as GET /xms/v1/{plan}/groups/{id} returns it (with its size and auto_update)


class SimGroups(Struct):
    groups: list[SimGroup]
    next: Cursor


class SimGroupDetail(SimGroup):
    members: list[str]  # a page of its members, in number order
    next: Cursor  # of the members


def _path_id(request: Request, name: str) -> str:
    raw = request.path_params[name]
    if not ID.fullmatch(raw):
        raise InvalidFormat(f"{name} is not an id")
    return raw


def _number(request: Request) -> str | None:
    raw = request.query_params.get("number", "").strip()
    if not raw:
        return None
    if len(raw) > 64:
        raise InvalidFormat("number is longer than 64 characters")
    return msisdn.normalize(raw) or msisdn.normalize_sender(raw)


def _inbound(r: Any) -> SimInbound:
    return SimInbound(r.account_id, cast(Any, msgspec.Raw(r.doc)))  # the stored document, as served


@op(
    SIMULATOR,
    "Inbound messages (MO) of every plan, newest first",
    response=SimInbounds,
    errors=[400],
    params=[
        query("service_plan_id", description="only these plans' (comma-separated)"),
        query("number", description="only from or to this number (a handset, or a plan's number)"),
        *paging(50, 500, "string"),
    ],
)
async def list_inbounds(request: Request) -> Response:
    limit, before = q_page(request, 50, 500, time_id_cursor)
    rows = await ctx(request).db.read(
        inbounds.browse, q_list(request, "service_plan_id"), _number(request), before, limit + 1
    )
    page, nxt = paged(rows, limit, lambda r: f"{r.received_at}:{r.id}")
    return json_response(SimInbounds([_inbound(r) for r in page], nxt))


@op(
    SIMULATOR,
    "One inbound message, as the SMS API returns it",
    response=SimInbound,
    errors=[400, 404],
    params=[path("inbound_id", "the inbound's id")],
)
async def get_inbound(request: Request) -> Response:
    inbound_id = _path_id(request, "inbound_id")
    r = await ctx(request).db.read(inbounds.find, inbound_id)
    if r is None:
        raise NotFound(f"no inbound {inbound_id}")
    return json_response(_inbound(r))


def _group(row: groups.GroupRow, size: int) -> Group:
    return group_rules.to_object(
        row.id, row.name, size, row.created_at, row.modified_at, row.child_groups, row.auto_update
    )


@op(
    SIMULATOR,
    "Groups of every plan, newest first, with their sizes",
    response=SimGroups,
    errors=[400],
    params=[query("service_plan_id", description="only these plans' (comma-separated)"), *paging(50, 500, "string")],
)
async def list_groups(request: Request) -> Response:
    limit, before = q_page(request, 50, 500, time_id_cursor)
    rows = await ctx(request).db.read(groups.browse, q_list(request, "service_plan_id"), before, limit + 1)
    page, nxt = paged(rows, limit, lambda r: f"{r[0].created_at}:{r[0].id}")
    return json_response(SimGroups([SimGroup(g.account_id, _group(g, n)) for g, n in page], nxt))


@op(
    SIMULATOR,
    "One group as the SMS API returns it, and a page of its members",
    response=SimGroupDetail,
    errors=[400, 404],
    params=[path("group_id", "the group's id"), *paging(100, 1000, "string")],
)
async def get_group(request: Request) -> Response:
    """Members are in number order; `after` is the last number of the previous page."""
    group_id = _path_id(request, "group_id")
    limit, after = q_page(request, 100, 1000, number_cursor)
    found = await ctx(request).db.read(groups.find, group_id, after, limit + 1)
    if found is None:
        raise NotFound(f"no group {group_id}")
    row, size, members = found
    page, nxt = paged(members, limit, lambda m: m)
    return json_response(SimGroupDetail(row.account_id, _group(row, size), page, nxt))


routes = [
    route("GET", "/inbounds", list_inbounds),
    route("GET", "/inbounds/{inbound_id}", get_inbound),
    route("GET", "/groups", list_groups),
    route("GET", "/groups/{group_id}", get_group),
]
