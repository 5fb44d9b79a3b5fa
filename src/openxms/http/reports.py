"""Routes: delivery reports."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..services.reports import parse_codes, parse_statuses
from ..store.reports import ReportFilter
from .context import account, ctx
from .responses import json_response, page_params, page_response, q_list, q_time

DAY_MS = 24 * 3600 * 1000


async def batch_report(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    kind = (request.query_params.get("type") or "summary").lower()
    return json_response(await c.reports.batch(acc.id, request.path_params["batch_id"], kind,
                                               parse_statuses(q_list(request, "status")),
                                               parse_codes(q_list(request, "code"))))


async def recipient_report(request: Request) -> Response:
    acc = account(request)
    return json_response(await ctx(request).reports.recipient(acc.id, request.path_params["batch_id"],
                                                              request.path_params["recipient"]))


async def list_reports(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    page, size = page_params(request)
    start = q_time(request, "start_date")
    f = ReportFilter(account_id=acc.id, start=start if start is not None else c.clock.now_ms() - DAY_MS,
                     end=q_time(request, "end_date"), statuses=parse_statuses(q_list(request, "status")),
                     codes=parse_codes(q_list(request, "code")),
                     client_reference=request.query_params.get("client_reference") or None)
    count, docs = await c.reports.list(f, page, size)
    return page_response("delivery_reports", count, page, docs)


routes = [
    Route("/batches/{batch_id}/delivery_report", batch_report, methods=["GET"]),
    Route("/batches/{batch_id}/delivery_report/{recipient:path}", recipient_report, methods=["GET"]),
    Route("/delivery_reports", list_reports, methods=["GET"]),
]
