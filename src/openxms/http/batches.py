"""Routes: /xms/v1/{account}/batches... (parse, call the service, render)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..services.batches import FeedbackRequest
from ..sms.batches import BatchRequest, UpdateRequest
from ..sms.objects import Batch, BatchList, DryRun
from ..store.batches import ListFilter
from .context import account, ctx
from .responses import (
    DATES,
    PAGE,
    json_response,
    page_params,
    q_bool,
    q_int,
    q_numbers,
    q_senders,
    q_time,
    raw,
    read_body,
)
from .spec import SMS, header, op, query, route

DAY_MS = 24 * 3600 * 1000


@op(
    SMS,
    "Send a batch",
    tag="batches",
    status=201,
    body=BatchRequest,
    response=Batch,
    params=[
        header(
            "Idempotency-Key",
            "repeat within 24 h with the same body returns the original batch "
            "(200, `Idempotent-Replayed: true`); another body: 409",
        )
    ],
    errors=[(403, "unknown group id in `to`"), (409, "Idempotency-Key reused with another body")],
)
async def send(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    created, doc = await c.batches.create(acc.id, raw, request.headers.get("idempotency-key"))
    return json_response(doc, 201 if created else 200, None if created else {"Idempotent-Replayed": "true"})


@op(
    SMS,
    "Dry run",
    tag="batches",
    body=BatchRequest,
    response=DryRun,
    errors=[403],
    params=[
        query("per_recipient", "boolean", "include per-recipient details"),
        query("number_of_recipients", "integer", "max per-recipient entries (default 100)", minimum=0, maximum=1000),
    ],
)
async def dry_run(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    per_recipient = q_bool(request, "per_recipient", c.settings.dry_run_per_recipient_default)
    limit = q_int(request, "number_of_recipients", 100, 0, 1000)
    raw = await read_body(request, c.settings.max_body_bytes)
    return json_response(await c.batches.dry_run(acc.id, raw, per_recipient, limit))


@op(
    SMS,
    "List batches",
    tag="batches",
    response=BatchList,
    params=[
        *PAGE,
        *DATES,
        query("from", description="comma-separated senders"),
        query("to", description="comma-separated recipients"),
        query("client_reference"),
    ],
)
async def list_batches(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    page, size = page_params(request)
    start = q_time(request, "start_date")
    f = ListFilter(
        account_id=acc.id,
        start=start if start is not None else c.clock.now_ms() - DAY_MS,
        end=q_time(request, "end_date"),
        senders=q_senders(request, "from") or None,
        targets=q_numbers(request, "to") or None,
        client_reference=request.query_params.get("client_reference") or None,
    )
    count, docs = await c.batches.query(f, page, size)
    return json_response(BatchList(count, page, len(docs), raw(docs)))


@op(SMS, "Get a batch", tag="batches", response=Batch)
async def get_batch(request: Request) -> Response:
    acc = account(request)
    return json_response(await ctx(request).batches.get(acc.id, request.path_params["batch_id"]))


@op(SMS, "Update a batch", tag="batches", body=UpdateRequest, response=Batch, errors=[403])
async def update_batch(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    return json_response(await c.batches.update(acc.id, request.path_params["batch_id"], raw))


@op(SMS, "Replace a batch", tag="batches", body=BatchRequest, response=Batch, errors=[403])
async def replace_batch(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    return json_response(await c.batches.replace(acc.id, request.path_params["batch_id"], raw))


@op(SMS, "Cancel a batch", tag="batches", response=Batch)
async def cancel_batch(request: Request) -> Response:
    acc = account(request)
    return json_response(await ctx(request).batches.cancel(acc.id, request.path_params["batch_id"]))


@op(SMS, "Delivery feedback", tag="batches", status=202, body=FeedbackRequest)
async def delivery_feedback(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    await c.batches.feedback(acc.id, request.path_params["batch_id"], raw)
    return Response(status_code=202)


routes = [
    route("POST", "/batches", send),
    route("GET", "/batches", list_batches),
    route("POST", "/batches/dry_run", dry_run),
    route("GET", "/batches/{batch_id}", get_batch),
    route("POST", "/batches/{batch_id}", update_batch),
    route("PUT", "/batches/{batch_id}", replace_batch),
    route("DELETE", "/batches/{batch_id}", cancel_batch),
    route("POST", "/batches/{batch_id}/delivery_feedback", delivery_feedback),
]
