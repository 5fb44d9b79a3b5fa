"""Operator endpoints outside the Sinch namespace: health and the clock."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..sms import dates
from ..store import meta
from ..sms.batches import InvalidRequest
from .context import ctx
from .responses import json_response, read_body


class Advance(msgspec.Struct):
    seconds: float | None = None
    ms: int | None = None
    to: str | None = None


async def health(request: Request) -> Response:
    return json_response({"status": "ok"})


async def ready(request: Request) -> Response:
    c = ctx(request)
    await c.db.read(meta.ping)
    return json_response({"status": "ready", "database": c.db.dialect})


async def clock(request: Request) -> Response:
    c = ctx(request)
    now = c.clock.now_ms()
    return json_response({"now": dates.format(now), "now_ms": now, "manual": c.clock.manual})


async def advance(request: Request) -> Response:
    """`{"seconds": 5}`, `{"ms": 5000}` or `{"to": "2030-01-01T00:00:00Z"}` (manual clock only)."""
    c = ctx(request)
    if not c.clock.manual:
        raise InvalidRequest("syntax_constraint_violation", "the clock is not manual (start with --clock manual)",
                             status=409)
    try:
        body = msgspec.json.decode(await read_body(request, 4096) or b"{}", type=Advance)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise InvalidRequest("syntax_invalid_json", str(e)) from None
    try:
        if body.to is not None:
            c.clock.set(dates.parse(body.to))
        else:
            c.clock.advance(body.ms if body.ms is not None else int((body.seconds or 0) * 1000))
    except ValueError as e:
        raise InvalidRequest("syntax_constraint_violation", str(e)) from None
    c.wakeups.schedule_changed()
    return await clock(request)


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/livez", health, methods=["GET"]),
    Route("/readyz", ready, methods=["GET"]),
    Route("/clock", clock, methods=["GET"]),
    Route("/clock/advance", advance, methods=["POST"]),
]
