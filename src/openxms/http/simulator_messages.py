"""`/simulator/messages`: every outbound message of every plan, for the web UI's Messages view
(no auth, like the rest of `/simulator`: bind to loopback).

A message is one recipient of a batch: an SMS API batch, or the one-recipient batch that carries
a Conversation API message on SMS (then `conversation` says which). Newest first, keyset-paged:
`after` is the `next` of the previous page (the last message's id). `q` searches the number (any
part of it), the sender, the text, the batch id and the client_reference; every word must occur
(store/search.py).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import Response

from ..errors import InvalidFormat, NotFound
from ..sms import dates, reports, statuses
from ..sms.objects import Timestamp
from ..store import messages as store
from .context import ctx
from .responses import ID, json_response, paged, paging, q_int, q_list, q_page, q_time
from .simulator_callbacks import SimCallback, callback
from .simulator_timeline import CodeMeaning, Part, Step, meaning, parts, timeline
from .spec import SIMULATOR, op, path, query, route


class MessageConversation(Struct):
    message_id: str
    project_id: str
    app_id: str
    status: str | None  # its last Conversation delivery status; null: none yet
    batch_id: str | None  # its Conversation batch


class SimMessage(Struct, kw_only=True):
    id: int  # the recipient's id: the cursor, and /simulator/messages/{id}
    batch_id: str
    service_plan_id: str
    origin: str  # sms (the SMS API) | conversation (carries a Conversation API message)
    conversation: MessageConversation | None
    from_: str | None = msgspec.field(name="from")
    to: str
    type: str
    body: str | None  # as it reached the handset (parameters substituted), else the batch's body
    udh: str | None
    encoding: str | None  # text (GSM-7) | unicode (UCS-2); null until dispatched
    parts: int | None
    status: str
    code: int
    final: bool
    client_reference: str | None
    accepted_at: Timestamp  # when the batch was accepted
    created_at: Timestamp  # when this message was queued (a scheduled batch: at its send_at)
    status_at: Timestamp  # the last status change
    received_at: Timestamp | None  # when it landed on the simulated handset


class SimMessageDetail(SimMessage, kw_only=True):
    code_meaning: CodeMeaning  # what its status code means (sms/codes.py)
    # accepted, queued, each submit_sm (SMPP), dispatched, receipts, the status now
    timeline: list[Step]
    # The parts it was sent as (153 septets or 67 UCS-2 units a part when it takes more than one;
    # 152 / 66 over SMPP binds with 16-bit references), each with its UDH; a binary message is
    # one part of bytes; null for media, or text before its encoding is known.
    segments: list[Part] | None
    # The recipient's report exactly as GET /xms/v1/{plan}/batches/{id}/delivery_report/{number}
    # returns it; null for a message that carries a Conversation message (its report is the
    # Conversation API's).
    delivery_report: dict[str, Any] | None
    # The callbacks it caused, oldest first: its delivery reports (its own and its batch's) or,
    # for a Conversation carrier, the Conversation message's receipts. Each has a page:
    # /simulator/callbacks/{id}.
    callbacks: list[SimCallback]


Cursor = Annotated[int | None, Meta(description="pass as `after` for the next page; null: no more")]


class SimMessages(Struct):
    messages: list[SimMessage]
    next: Cursor


def _body(r: Any) -> str | None:
    if r.sim_body is not None:
        return r.sim_body
    b = r.batch_body
    return b if b is None or isinstance(b, str) else str(b)


def message(r: Any) -> SimMessage:
    conv = None
    if r.conv_app_id is not None:
        conv = MessageConversation(r.batch_id, r.conv_project_id, r.conv_app_id, r.conv_status, r.conv_batch_id)
    return SimMessage(
        id=r.id,
        batch_id=r.batch_id,
        service_plan_id=r.account_id,
        origin=r.origin,
        conversation=conv,
        from_=r.sender,
        to=r.msisdn,
        type=r.type,
        body=_body(r),
        udh=r.udh,
        encoding=r.encoding or r.sim_encoding,
        parts=r.parts if r.parts is not None else r.sim_parts,
        status=r.status,
        code=r.code,
        final=bool(r.final),
        client_reference=r.client_reference,
        accepted_at=dates.format(r.accepted_at),
        created_at=dates.format(r.created_at),
        status_at=dates.format(r.status_at),
        received_at=None if r.received_at is None else dates.format(r.received_at),
    )


def _filter(request: Request) -> store.Filter:
    found = []
    for s in q_list(request, "status"):
        c = statuses.canonical(s)
        if c is None:
            raise InvalidFormat(f"unknown status {s!r}")
        found.append(c)
    batch_id = request.query_params.get("batch_id") or None
    if batch_id is not None and not ID.fullmatch(batch_id):
        raise InvalidFormat("batch_id is not an id")
    code = request.query_params.get("code")
    q = request.query_params.get("q", "")
    if len(q) > 200:
        raise InvalidFormat("q is longer than 200 characters")
    return store.Filter(
        plans=q_list(request, "service_plan_id"),
        statuses=found,
        code=None if not code else q_int(request, "code", 0, 0),
        start=q_time(request, "start_date"),
        end=q_time(request, "end_date"),
        batch_id=batch_id,
        q=q,
    )


@op(
    SIMULATOR,
    "Every outbound message, newest first, searchable",
    response=SimMessages,
    errors=[400],
    params=[
        query("q", description="words that must all occur in the number, sender, text, batch id or client_reference"),
        query("service_plan_id", description="only these plans' (comma-separated)"),
        query("status", description="only in these statuses (comma-separated: Delivered,Failed)"),
        query("code", "integer", "only with this status code", minimum=0),
        query("batch_id", description="only this batch's"),
        query("start_date", description="queued at or after (ISO-8601)", format="date-time"),
        query("end_date", description="queued before (ISO-8601)", format="date-time"),
        *paging(50, 500),
    ],
)
async def list_messages(request: Request) -> Response:
    f = _filter(request)
    limit, before = q_page(request, 50, 500)
    rows = await ctx(request).db.read(store.page, f, before, limit + 1)
    page, nxt = paged(rows, limit, lambda r: r.id)
    return json_response(SimMessages([message(r) for r in page], nxt))


def detail(d: store.Detail) -> SimMessageDetail:
    r = d.message
    m = message(r)
    report = None
    if r.origin == "sms":
        report = msgspec.to_builtins(reports.recipient_report_of(r))
    return SimMessageDetail(
        **msgspec.structs.asdict(m),
        code_meaning=meaning(r.code, r.status),
        timeline=timeline(r, d.submits),
        segments=parts(r, m.body, m.encoding, d.submits),
        delivery_report=report,
        callbacks=[callback(c) for c in d.callbacks],
    )


@op(
    SIMULATOR,
    "One outbound message: its timeline, parts, delivery report and callbacks",
    response=SimMessageDetail,
    errors=[400, 404],
    params=[path("id", "the message's id (from the list)")],
)
async def get_message(request: Request) -> Response:
    raw = request.path_params["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidFormat("id is not a message id")
    d = await ctx(request).db.read(store.detail, int(raw))
    if d is None:
        raise NotFound(f"no message {raw}")
    return json_response(detail(d))


routes = [
    route("GET", "/messages", list_messages),
    route("GET", "/messages/{id}", get_message),
]
