"""`/simulator/conversation/...`: the Conversation API's messages and batches as the simulator's
page shows them, across every project (no auth, like the rest of `/simulator`: bind to loopback).

Lists are newest first; `after` is the last id of the previous page and `next` the value to
pass for the following one (null at the end). A message's `text` is its SMS text: an outbound
message's as rendered for the channel (null when it was never sent: see its FAILED receipt), an
inbound one's as the handset wrote it. `counts` are a batch's generated messages by their last
Conversation delivery status (https://developers.sinch.com/docs/conversation/callbacks/, the
`message_delivery_report` statuses); `PENDING` is ours, for messages that have no status yet.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import Response

from ..errors import InvalidFormat, NotFound
from ..sms import dates, msisdn
from ..sms.objects import Timestamp
from ..store.conversation import browse
from .context import ctx
from .responses import ID, id_cursor, json_response, paged, paging, q_id, q_page
from .spec import SIMULATOR, op, query, route

PENDING = "PENDING"  # a generated message with no delivery status reported yet

Cursor = Annotated[str | None, Meta(description="pass as `after` for the next page; null: no more")]


class SimConversationMessage(Struct):
    id: str
    project_id: str
    app_id: str
    direction: str  # TO_CONTACT (app to handset) | TO_APP (handset to app)
    identity: str  # the handset (digits)
    contact_id: str
    sender_id: str  # TO_APP: the number the handset wrote to; "" otherwise
    accept_time: Timestamp
    status: str | None  # last delivery status: QUEUED_ON_CHANNEL, DELIVERED, FAILED...; null: none yet
    batch_id: str | None  # its Conversation batch (a reply: the batch of the message it answers)
    metadata: str  # the send's message_metadata
    content: str  # the message's type: text_message, card_message, ...
    text: str | None  # the SMS text (outbound: as rendered; null when never sent)


class SimConversationMessages(Struct):
    messages: list[SimConversationMessage]
    next: Cursor


class SimConversationBatch(Struct):
    id: str
    project_id: str
    app_id: str
    status: str  # SCHEDULED | READY | PROCESSED | CANCELLED
    send_after: Timestamp
    created_at: Timestamp
    metadata: dict[str, str]
    recipient_count: int  # in the request
    counts: dict[str, int]  # generated messages by delivery status (PENDING: none yet)
    replies: int  # inbound messages answering the batch's messages


class SimConversationBatches(Struct):
    batches: list[SimConversationBatch]
    next: Cursor


class SimConversationBatchRecipient(Struct):
    identity: str  # the handset (digits), or the SMS identity as the request gave it
    contact_id: str
    message_id: str | None  # null until the batch is fanned out (or when it never was)
    status: str | None
    text: str | None


class SimConversationBatchDetail(SimConversationBatch, kw_only=True):
    recipients: list[SimConversationBatchRecipient]  # in request order


def _message(m: browse.MessageRow) -> SimConversationMessage:
    return SimConversationMessage(
        m.id,
        m.project_id,
        m.app_id,
        m.direction,
        m.identity,
        m.contact_id,
        m.sender_id,
        dates.format(m.accept_time),
        m.status,
        m.batch_id,
        m.metadata,
        m.content,
        m.text,
    )


def _counts(counts: dict[str, int]) -> dict[str, int]:
    return {(status or PENDING): n for status, n in sorted(counts.items())}


def _batch_fields(s: browse.BatchSummary) -> dict:
    b = s.batch
    return dict(
        id=b.id,
        project_id=b.project_id,
        app_id=b.app_id,
        status=b.status,
        send_after=dates.format(b.send_after),
        created_at=dates.format(b.created_at),
        metadata=b.metadata,
        recipient_count=s.recipients,
        counts=_counts(s.counts),
        replies=s.replies,
    )


def _identity(request: Request) -> str | None:
    raw = request.query_params.get("identity")
    if raw is None or raw == "":
        return None
    n = msisdn.normalize(raw)
    if n is None:
        raise InvalidFormat(f"identity {raw!r} is not a phone number")
    return n


_APP = query("app_id", description="only this app's")


@op(
    SIMULATOR,
    "Conversation messages, newest first",
    response=SimConversationMessages,
    errors=[400],
    params=[
        _APP,
        query("identity", description="only this handset's (a phone number)"),
        *paging(50, 500, "string"),
    ],
)
async def list_messages(request: Request) -> Response:
    limit, after = q_page(request, 50, 500, id_cursor)
    rows = await ctx(request).db.read(browse.messages, q_id(request, "app_id"), _identity(request), limit + 1, after)
    page, nxt = paged(rows, limit, lambda m: m.id)
    return json_response(SimConversationMessages([_message(m) for m in page], nxt))


@op(
    SIMULATOR,
    "Conversation batches, newest first, with their messages' statuses",
    response=SimConversationBatches,
    errors=[400],
    params=[_APP, *paging(20, 200, "string")],
)
async def list_batches(request: Request) -> Response:
    limit, after = q_page(request, 20, 200, id_cursor)
    rows = await ctx(request).db.read(browse.batches, q_id(request, "app_id"), limit + 1, after)
    page, nxt = paged(rows, limit, lambda s: s.batch.id)
    return json_response(SimConversationBatches([SimConversationBatch(**_batch_fields(s)) for s in page], nxt))


@op(SIMULATOR, "A Conversation batch and its recipients", response=SimConversationBatchDetail, errors=[400, 404])
async def get_batch(request: Request) -> Response:
    """Before the fan-out, the recipients are the request's (no message id yet); after it, the
    messages it made, each with its status and rendered text."""
    batch_id = request.path_params["batch_id"]
    if not ID.fullmatch(batch_id):
        raise InvalidFormat("batch_id is not an id")
    d = await ctx(request).db.read(browse.batch, batch_id)
    if d is None:
        raise NotFound(f"no Conversation batch {batch_id}")
    if d.messages:
        recipients = [
            SimConversationBatchRecipient(m.identity, m.contact_id, m.id, m.status, m.text) for m in d.messages
        ]
    else:
        recipients = [
            SimConversationBatchRecipient(msisdn.normalize(r.identity) or r.identity, r.contact_id, None, None, None)
            for r in d.requested
        ]
    return json_response(SimConversationBatchDetail(**_batch_fields(d.summary), recipients=recipients))


routes = [
    route("GET", "/conversation/messages", list_messages),
    route("GET", "/conversation/batches", list_batches),
    route("GET", "/conversation/batches/{batch_id}", get_batch),
]
