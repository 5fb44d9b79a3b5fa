"""Operator endpoints outside the Sinch namespace: health and the clock."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from .. import metrics as m
from ..errors import Conflict, ConstraintViolation, InvalidJson
from ..sms import dates
from ..sms.objects import Timestamp
from ..store import meta, queue
from .context import ctx
from .responses import json_response, read_body
from .spec import OPERATOR, op, route


class Advance(msgspec.Struct):
    """One of the three: a step in seconds or milliseconds, or a time to jump to."""

    seconds: float | None = None
    ms: int | None = None
    to: str | None = None


class Health(msgspec.Struct):
    status: str


class Ready(msgspec.Struct, omit_defaults=True):
    status: str  # "ready" | "not ready"
    database: str
    engine: dict[str, Any] | None = None  # each engine loop's state, restarts, accounts dispatched here


class ClockState(msgspec.Struct):
    now: Timestamp
    now_ms: int
    manual: bool


@op(OPERATOR, "Liveness", response=Health)
async def health(request: Request) -> Response:
    return json_response(Health("ok"))


@op(
    OPERATOR,
    "Readiness: the database answers and every engine loop runs",
    response=Ready,
    errors=[
        (503, "not ready: an engine loop is being restarted (the body says which)"),
        (500, "the database does not answer"),
    ],
)
async def ready(request: Request) -> Response:
    c = ctx(request)
    await c.db.read(meta.ping)
    if c.engine is None:
        return json_response(Ready("ready", c.db.dialect))
    health = c.engine.health()
    ok = health["ready"]
    return json_response(Ready("ready" if ok else "not ready", c.db.dialect, health), 200 if ok else 503)


@op(OPERATOR, "The server's business clock", response=ClockState)
async def clock(request: Request) -> Response:
    c = ctx(request)
    now = c.clock.now_ms()
    return json_response(ClockState(dates.format(now), now, c.clock.manual))


@op(
    OPERATOR, "Move the manual clock", body=Advance, response=ClockState, errors=[400, (409, "the clock is not manual")]
)
async def advance(request: Request) -> Response:
    """`{"seconds": 5}`, `{"ms": 5000}` or `{"to": "2030-01-01T00:00:00Z"}` (manual clock only)."""
    c = ctx(request)
    if not c.clock.manual:
        raise Conflict("the clock is not manual (start with --clock manual)", code="syntax_constraint_violation")
    try:
        body = msgspec.json.decode(await read_body(request, 4096) or b"{}", type=Advance)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise InvalidJson(str(e)) from None
    try:
        if body.to is not None:
            c.clock.set(dates.parse(body.to))
        else:
            c.clock.advance(body.ms if body.ms is not None else int((body.seconds or 0) * 1000))
    except (ValueError, OverflowError) as e:  # OverflowError: seconds = Infinity
        raise ConstraintViolation(str(e)) from None
    c.wakeups.schedule_changed()
    return await clock(request)


@op(
    OPERATOR,
    "Metrics in the Prometheus text format",
    response=str,
    response_media="text/plain",
    errors=[(500, "the database does not answer")],
)
async def metrics(request: Request) -> Response:
    """Counters since the process started and gauges read now (docs/operations.md lists
    them)."""
    c = ctx(request)
    queues, backlog = await c.db.read(queue.depths)
    binds = c.engine.health()["connectors"] if c.engine is not None else {}
    m.set_snapshot(queues, backlog, c.clock.now_ms(), binds)
    return Response(m.render(), media_type=m.CONTENT_TYPE)


routes = [
    route("GET", "/metrics", metrics),
    route("GET", "/health", health),
    route("GET", "/livez", health),
    route("GET", "/readyz", ready),
    route("GET", "/clock", clock),
    route("POST", "/clock/advance", advance),
]
