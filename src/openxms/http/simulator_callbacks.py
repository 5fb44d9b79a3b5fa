"""`/simulator/callbacks`: the callback outbox for the web UI's Callbacks view, every callback
of every plan with its target, payload and attempts, and a "retry now" (no auth, like the rest
of `/simulator`: bind to loopback; with a control token set, the guard asks for it on the retry).

`state`: pending (waiting for `next_attempt_at`), sending (being posted), done (2xx), failed (a
4xx that Sinch does not retry, or a URL that cannot be posted to) or dead (retries exhausted);
the retry schedule is engine/callbacks.py's. Each attempt lists the signature headers it carried
(`X-Sinch-Webhook-Signature...`, when the plan or webhook has a secret).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import Response

from ..errors import Conflict, InvalidFormat, NotFound
from ..sms import dates
from ..sms.objects import Timestamp
from ..store import outbox
from .context import ctx
from .responses import json_response, paged, paging, q_list, q_page
from .spec import SIMULATOR, op, path, query, route

STATES = ("pending", "sending", "done", "failed", "dead")


class Attempt(Struct):
    attempt: int  # 1 = the first post, 2 = the first retry, ...
    at: Timestamp
    status: int | None  # the HTTP status answered; null: no answer (see error)
    error: str | None
    headers: dict[str, str]  # the signature headers it carried ({} when unsigned)


class SimCallback(Struct, kw_only=True):
    id: int
    service_plan_id: str  # the plan, or the Conversation project whose webhook it goes to
    kind: str  # what it reports: recipient_delivery_report_sms, MESSAGE_DELIVERY, ...
    url: str
    target: str  # scheme://host[:port]: what concurrency is bounded by
    state: str
    attempts: int
    created_at: Timestamp
    next_attempt_at: Timestamp | None  # the next try while pending (or sending); null once settled
    first_failure_at: Timestamp | None
    last_status: int | None
    last_error: str | None
    done_at: Timestamp | None
    payload: Any  # the JSON body posted
    # What it reports, in a few words: its type and the status it carries
    # ("recipient_delivery_report_sms Delivered 0", "MESSAGE_DELIVERY DELIVERED")
    summary: str
    subject: str | None  # what it is about: the SMS batch, Conversation message or inbound (id)
    recipient: str | None  # the number a per-recipient report is about


class SimCallbackDetail(SimCallback, kw_only=True):
    history: list[Attempt]


Cursor = Annotated[int | None, Meta(description="pass as `after` for the next page; null: no more")]


class SimCallbacks(Struct):
    callbacks: list[SimCallback]
    next: Cursor


# Conversation callbacks: the payload key that names each trigger
# (https://developers.sinch.com/docs/conversation/callbacks/)
_TRIGGERS = {
    "message_delivery_report": "MESSAGE_DELIVERY",
    "message_submit_notification": "MESSAGE_SUBMIT",
    "message": "MESSAGE_INBOUND",
}


def summary(kind: str, payload: Any) -> str:
    """What a callback reports, from its payload: a delivery report's type with the status and
    code it carries, an MO's type, a Conversation callback's trigger and status."""
    if not isinstance(payload, dict):
        return kind
    if "type" in payload:
        if "status" in payload:
            return f"{payload['type']} {payload['status']} {payload.get('code', '')}".rstrip()
        if payload.get("statuses"):
            counts = ", ".join(f"{s.get('status')} {s.get('count')}" for s in payload["statuses"])
            return f"{payload['type']} ({counts})"
        return str(payload["type"])
    for key, trigger in _TRIGGERS.items():
        if isinstance(payload.get(key), dict):
            status = payload[key].get("status")
            return f"{trigger} {status}" if status else trigger
    return kind


def _fields(r: Any) -> dict[str, Any]:
    open_ = r.state in ("pending", "sending")
    payload = json.loads(r.payload)
    return dict(
        id=r.id,
        service_plan_id=r.account_id,
        kind=r.kind,
        url=r.url,
        target=r.target or outbox.target_of(r.url),
        state=r.state,
        attempts=r.attempts,
        created_at=dates.format(r.created_at),
        next_attempt_at=dates.format(r.next_attempt_at) if open_ else None,
        first_failure_at=None if r.first_failure_at is None else dates.format(r.first_failure_at),
        last_status=r.last_status,
        last_error=r.last_error,
        done_at=None if r.done_at is None else dates.format(r.done_at),
        payload=payload,
        summary=summary(r.kind, payload),
        subject=r.subject,
        recipient=r.recipient,
    )


def callback(r: Any) -> SimCallback:
    """An outbox row as the API lists it."""
    return SimCallback(**_fields(r))


def _id(request: Request) -> int:
    raw = request.path_params["callback_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidFormat("callback_id is not a callback id")
    return int(raw)


async def _detail(request: Request, callback_id: int) -> SimCallbackDetail:
    db = ctx(request).db
    r = await db.read(outbox.get, callback_id)
    if r is None:
        raise NotFound(f"no callback {callback_id}")
    history = [
        Attempt(a.attempt, dates.format(a.at), a.status, a.error, json.loads(a.headers) if a.headers else {})
        for a in await db.read(outbox.attempts, callback_id)
    ]
    return SimCallbackDetail(**_fields(r), history=history)


@op(
    SIMULATOR,
    "Callbacks of every plan, newest first",
    response=SimCallbacks,
    errors=[400],
    params=[
        query("state", description="only in these states (comma-separated: pending,failed)"),
        query("service_plan_id", description="only these plans' (comma-separated)"),
        *paging(50, 500),
    ],
)
async def list_callbacks(request: Request) -> Response:
    states = q_list(request, "state")
    for s in states:
        if s not in STATES:
            raise InvalidFormat(f"unknown state {s!r}: one of {', '.join(STATES)}")
    limit, before = q_page(request, 50, 500)
    rows = await ctx(request).db.read(outbox.page, states, q_list(request, "service_plan_id"), before, limit + 1)
    page, nxt = paged(rows, limit, lambda r: r.id)
    return json_response(SimCallbacks([callback(r) for r in page], nxt))


@op(
    SIMULATOR,
    "One callback and its attempts",
    response=SimCallbackDetail,
    errors=[400, 404],
    params=[path("callback_id", "the callback's id (from the list)")],
)
async def get_callback(request: Request) -> Response:
    return json_response(await _detail(request, _id(request)))


@op(
    SIMULATOR,
    "Retry a callback now",
    response=SimCallbackDetail,
    errors=[400, 404, (409, "it is being posted right now, or was delivered")],
    params=[path("callback_id", "the callback's id")],
)
async def retry_callback(request: Request) -> Response:
    """A pending callback is posted now instead of at its next retry time; a failed or dead one
    is posted once more (a failure leaves it as it was: failed, or dead)."""
    c = ctx(request)
    callback_id = _id(request)
    before = await c.db.write(outbox.retry_now, callback_id, c.clock.now_ms())
    if before is None:
        raise NotFound(f"no callback {callback_id}")
    if before in ("sending", "done"):
        raise Conflict(f"callback {callback_id} is {before}", code="syntax_constraint_violation")
    c.wakeups.callbacks_changed()
    return json_response(await _detail(request, callback_id))


routes = [
    route("GET", "/callbacks", list_callbacks),
    route("GET", "/callbacks/{callback_id}", get_callback),
    route("POST", "/callbacks/{callback_id}/retry", retry_callback),
]
