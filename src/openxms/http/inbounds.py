"""Routes: inbound (MO) messages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..sms.objects import InboundList, InboundMessage
from ..store.inbounds import ListFilter
from .context import account, ctx
from .responses import DATES, PAGE, json_response, page_params, q_numbers, q_time, raw
from .spec import SMS, op, query, route

DAY_MS = 24 * 3600 * 1000


@op(
    SMS,
    "List inbound messages",
    tag="inbounds",
    response=InboundList,
    params=[*PAGE, *DATES, query("to", description="comma-separated recipients"), query("client_reference")],
)
async def list_inbounds(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    page, size = page_params(request)
    start = q_time(request, "start_date")
    f = ListFilter(
        account_id=acc.id,
        start=start if start is not None else c.clock.now_ms() - DAY_MS,
        end=q_time(request, "end_date"),
        recipients=q_numbers(request, "to") or None,
        client_reference=request.query_params.get("client_reference") or None,
    )
    count, docs = await c.inbounds.query(f, page, size)
    return json_response(InboundList(count, page, len(docs), raw(docs)))


@op(SMS, "Get an inbound message", tag="inbounds", response=InboundMessage)
async def get_inbound(request: Request) -> Response:
    acc = account(request)
    return json_response(await ctx(request).inbounds.get(acc.id, request.path_params["inbound_id"]))


routes = [
    route("GET", "/inbounds", list_inbounds),
    route("GET", "/inbounds/{inbound_id}", get_inbound),
]
