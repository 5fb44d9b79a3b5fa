"""`/simulator/batches`: SMS API batches of every plan for the web UI's Batches view, and a
cancel that needs no plan token (no auth, like the rest of `/simulator`: bind to loopback; with
a control token set, the guard asks for it on the cancel).

`state` is what a tester asks about a batch: `scheduled` (waiting for its send_at), `active`
(recipients not final yet), `done` (all final), `cancelled`, `expired` (its expiry passed with
recipients open, or some recipients ended Expired). Lists are newest first; `next` is passed
back as `after`. A batch's recipients are `GET /simulator/messages?batch_id=...`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import Response

from ..errors import InvalidFormat, NotFound
from ..sms import batches as rules
from ..sms import dates, statuses
from ..sms.objects import DryRun, Timestamp
from ..store import batch_browse as store
from .context import ctx
from .responses import ID, json_response, paged, paging, q_bool, q_int, q_list, q_page, time_id_cursor
from .spec import SIMULATOR, op, query, route


class SimBatch(Struct, kw_only=True):
    id: str
    service_plan_id: str
    state: str  # scheduled | active | done | cancelled | expired
    type: str
    from_: str | None = msgspec.field(name="from")
    to: list[str]  # numbers and group ids, as sent
    body: str | None  # the body as sent (a template when it has parameters); mt_media: its JSON
    client_reference: str | None
    delivery_report: str
    callback_url: str | None
    created_at: Timestamp
    send_at: Timestamp
    expire_at: Timestamp
    recipients: int  # recipients queued so far (0 before a scheduled batch is due)
    counts: dict[str, int]  # recipients by status


class SimBatchDetail(SimBatch, kw_only=True):
    batch: dict[str, Any]  # the batch exactly as GET /xms/v1/{plan}/batches/{id} returns it
    # The request: a send body that makes this batch (what the client gave, normalised, defaults
    # left out); POST .../batches/dry_run with it is what /simulator/batches/{id}/dry_run answers.
    request: dict[str, Any]


Cursor = Annotated[str | None, Meta(description="pass as `after` for the next page; null: no more")]


class SimBatches(Struct):
    batches: list[SimBatch]
    next: Cursor


def ui_state(s: store.Summary) -> str:
    b = s.batch
    if b.canceled:
        return "cancelled"
    if b.state in ("scheduled", "expanding"):
        return "scheduled" if b.state == "scheduled" else "active"
    open_ = sum(n for st, n in s.counts.items() if st in statuses.INTERMEDIATE)
    if open_:
        return "expired" if b.state in ("expired", "closed") else "active"
    return "expired" if s.counts.get(statuses.EXPIRED) else "done"


def _detail(s: store.Summary) -> SimBatchDetail:
    doc, fields = _fields(s)
    request = msgspec.to_builtins(
        rules.send_body(rules.from_doc(rules.decode_doc(s.batch.doc), s.batch.expire_explicit))
    )
    return SimBatchDetail(**fields, batch=doc, request={"to": request.pop("to"), **request})  # `to` first


def _fields(s: store.Summary) -> tuple[dict[str, Any], dict[str, Any]]:
    b = s.batch
    doc = json.loads(b.doc)
    body = doc.get("body")
    return doc, dict(
        id=b.id,
        service_plan_id=b.account_id,
        state=ui_state(s),
        type=b.type,
        from_=b.sender,
        to=list(doc.get("to") or ()),
        body=body if body is None or isinstance(body, str) else json.dumps(body, ensure_ascii=False),
        client_reference=b.client_reference,
        delivery_report=b.delivery_report,
        callback_url=b.callback_url,
        created_at=dates.format(b.created_at),
        send_at=dates.format(b.due_at),
        expire_at=dates.format(b.expire_at),
        recipients=sum(s.counts.values()),
        counts=dict(sorted(s.counts.items())),
    )


def _batch_id(request: Request) -> str:
    batch_id = request.path_params["batch_id"]
    if not ID.fullmatch(batch_id):
        raise InvalidFormat("batch_id is not an id")
    return batch_id


@op(
    SIMULATOR,
    "SMS batches of every plan, newest first, with their recipients' statuses",
    response=SimBatches,
    errors=[400],
    params=[
        query("service_plan_id", description="only these plans' (comma-separated)"),
        query("scheduled", "boolean", "only batches waiting for their send_at"),
        *paging(20, 200, after="string"),
    ],
)
async def list_batches(request: Request) -> Response:
    limit, before = q_page(request, 20, 200, time_id_cursor)
    rows = await ctx(request).db.read(
        store.page, q_list(request, "service_plan_id"), q_bool(request, "scheduled", False), before, limit + 1
    )
    page, nxt = paged(rows, limit, lambda s: f"{s.batch.created_at}:{s.batch.id}")
    return json_response(SimBatches([SimBatch(**_fields(s)[1]) for s in page], nxt))


@op(SIMULATOR, "One SMS batch, with the batch as the API returns it", response=SimBatchDetail, errors=[400, 404])
async def get_batch(request: Request) -> Response:
    s = await ctx(request).db.read(store.get, _batch_id(request))
    if s is None:
        raise NotFound(f"no batch {request.path_params['batch_id']}")
    return json_response(_detail(s))


@op(
    SIMULATOR,
    "A batch's parts per recipient: what POST .../batches/dry_run?per_recipient=true answers for its request",
    response=DryRun,
    errors=[400, 404],
    params=[query("number_of_recipients", "integer", "per-recipient entries (default 100)", minimum=0, maximum=1000)],
)
async def dry_run(request: Request) -> Response:
    """The batch's request (its `to` with groups as they are now) through the dry run's own code."""
    limit = q_int(request, "number_of_recipients", 100, 0, 1000)
    found = await ctx(request).batches.dry_run_stored(_batch_id(request), limit)
    if found is None:
        raise NotFound(f"no batch {request.path_params['batch_id']}")
    return json_response(found)


@op(SIMULATOR, "Cancel a batch (as DELETE /xms/v1/{plan}/batches/{id})", response=SimBatchDetail, errors=[400, 404])
async def cancel_batch(request: Request) -> Response:
    """Recipients not dispatched yet end Cancelled (407); a scheduled batch never sends."""
    c = ctx(request)
    s = await c.db.read(store.get, _batch_id(request))
    if s is None:
        raise NotFound(f"no batch {request.path_params['batch_id']}")
    await c.batches.cancel(s.batch.account_id, s.batch.id)
    after = await c.db.read(store.get, s.batch.id)
    assert after is not None
    return json_response(_detail(after))


routes = [
    route("GET", "/batches", list_batches),
    route("GET", "/batches/{batch_id}", get_batch),
    route("GET", "/batches/{batch_id}/dry_run", dry_run),
    route("POST", "/batches/{batch_id}/cancel", cancel_batch),
]
