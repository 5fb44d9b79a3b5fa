"""Routes: /xms/v1/{account}/batches... (parse, call the service, render)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..store.batches import ListFilter
from .context import account, ctx
from .responses import json_response, page_response, page_params, q_bool, q_int, q_list, q_numbers, \
    q_senders, q_time, read_body

DAY_MS = 24 * 3600 * 1000


async def send(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    created, doc = await c.batches.create(acc.id, raw, request.headers.get("idempotency-key"))
    return json_response(doc, 201 if created else 200,
                         None if created else {"Idempotent-Replayed": "true"})


async def dry_run(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    per_recipient = q_bool(request, "per_recipient", c.settings.dry_run_per_recipient_default)
    limit = q_int(request, "number_of_recipients", 100, 0, 1000)
    raw = await read_body(request, c.settings.max_body_bytes)
    return json_response(await c.batches.dry_run(acc.id, raw, per_recipient, limit))


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
    count, docs = await c.batches.list(f, page, size)
    return page_response("batches", count, page, docs)


async def get_batch(request: Request) -> Response:
    acc = account(request)
    return json_response(await ctx(request).batches.get(acc.id, request.path_params["batch_id"]))


async def update_batch(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    return json_response(await c.batches.update(acc.id, request.path_params["batch_id"], raw))


async def replace_batch(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    return json_response(await c.batches.replace(acc.id, request.path_params["batch_id"], raw))


async def cancel_batch(request: Request) -> Response:
    acc = account(request)
    return json_response(await ctx(request).batches.cancel(acc.id, request.path_params["batch_id"]))


async def delivery_feedback(request: Request) -> Response:
    acc = account(request)
    c = ctx(request)
    raw = await read_body(request, c.settings.max_body_bytes)
    await c.batches.feedback(acc.id, request.path_params["batch_id"], raw)
    return Response(status_code=202)


routes = [
    Route("/batches", send, methods=["POST"]),
    Route("/batches", list_batches, methods=["GET"]),
    Route("/batches/dry_run", dry_run, methods=["POST"]),
    Route("/batches/{batch_id}", get_batch, methods=["GET"]),
    Route("/batches/{batch_id}", update_batch, methods=["POST"]),
    Route("/batches/{batch_id}", replace_batch, methods=["PUT"]),
    Route("/batches/{batch_id}", cancel_batch, methods=["DELETE"]),
    Route("/batches/{batch_id}/delivery_feedback", delivery_feedback, methods=["POST"]),
]
