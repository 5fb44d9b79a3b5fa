"""Routes: delivery reports."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..services.reports import parse_codes, parse_statuses
from ..sms.objects import BatchDeliveryReport, DeliveryReportList, RecipientDeliveryReport
from ..store.reports import ReportFilter
from .context import account, ctx
from .responses import DATES, PAGE, json_response, page_params, q_list, q_time, raw
from .spec import SMS, op, path, query, route

DAY_MS = 24 * 3600 * 1000
TAG = "delivery reports"


@op(
    SMS,
    "Batch delivery report",
    tag=TAG,
    response=BatchDeliveryReport,
    params=[
        query("type", description="summary | full"),
        query("status", description="comma list, any case"),
        query("code", description="comma list of integers"),
    ],
)
async def batch_report(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    kind = (request.query_params.get("type") or "summary").lower()
    return json_response(
        await c.reports.batch(
            acc.id,
            request.path_params["batch_id"],
            kind,
            parse_statuses(q_list(request, "status")),
            parse_codes(q_list(request, "code")),
        )
    )


@op(
    SMS,
    "Recipient delivery report",
    tag=TAG,
    response=RecipientDeliveryReport,
    params=[path("recipient_msisdn", "the recipient's phone number, with or without `+`")],
)
async def recipient_report(request: Request) -> Response:
    acc = account(request)
    return json_response(
        await ctx(request).reports.recipient(
            acc.id, request.path_params["batch_id"], request.path_params["recipient_msisdn"]
        )
    )


@op(
    SMS,
    "List recipient delivery reports",
    tag=TAG,
    response=DeliveryReportList,
    params=[*PAGE, *DATES, query("status"), query("code"), query("client_reference")],
)
async def list_reports(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    page, size = page_params(request)
    start = q_time(request, "start_date")
    f = ReportFilter(
        account_id=acc.id,
        start=start if start is not None else c.clock.now_ms() - DAY_MS,
        end=q_time(request, "end_date"),
        statuses=parse_statuses(q_list(request, "status")),
        codes=parse_codes(q_list(request, "code")),
        client_reference=request.query_params.get("client_reference") or None,
    )
    count, docs = await c.reports.query(f, page, size)
    return json_response(DeliveryReportList(count, page, len(docs), raw(docs)))


routes = [
    route("GET", "/batches/{batch_id}/delivery_report", batch_report),
    route("GET", "/batches/{batch_id}/delivery_report/{recipient_msisdn:path}", recipient_report),
    route("GET", "/delivery_reports", list_reports),
]
