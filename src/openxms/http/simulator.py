"""`/simulator/...`: the virtual handsets (read, reply, wait, purge) and the outcome rules."""

from __future__ import annotations

import asyncio
import base64
import binascii

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..store import handsets
from ..connectors.base import Inbound
from ..connectors.outcomes import OutcomeRules
from ..sms import dates, msisdn
from ..sms.batches import InvalidRequest
from .context import ctx
from .responses import json_response, q_int, read_body


class Reply(msgspec.Struct):
    to: str
    body: str
    type: str = "mo_text"
    udh: str | None = None
    service_plan_id: str | None = None
    sent_at: str | None = None
    operator_id: str | None = None


def _handset(request: Request) -> str:
    raw = request.path_params["msisdn"]
    n = msisdn.normalize(raw)
    if n is None:
        raise InvalidRequest("syntax_invalid_parameter_format", f"{raw!r} is not a phone number")
    return n


def _sim(request: Request):
    sim = ctx(request).simulator
    if sim is None:
        raise InvalidRequest("syntax_constraint_violation", "the simulator is not running on this node", status=409)
    return sim


async def list_handsets(request: Request) -> Response:
    return json_response({"handsets": await ctx(request).db.read(handsets.handsets)})


async def handset_messages(request: Request) -> Response:
    c = ctx(request)
    number = _handset(request)
    limit = q_int(request, "limit", 100, 1, 1000)
    mt = await c.db.read(handsets.messages, number, 0, limit)
    mo = await c.inbounds.by_handset(number, limit)
    return json_response({"msisdn": number, "messages": mt, "replies": mo})


async def wait_message(request: Request) -> Response:
    """Long-poll until the handset has a message with id > `after` (default: any), or `timeout` s."""
    c = ctx(request)
    sim = _sim(request)
    number = _handset(request)
    after = q_int(request, "after", 0, 0)
    timeout = q_int(request, "timeout", 10, 0, 300)
    arrived = asyncio.Event()

    def listener(event: dict) -> None:
        if event.get("event") == "messages" and number in event.get("msisdns", ()):
            arrived.set()

    sim.listeners.add(listener)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            arrived.clear()
            found = await c.db.read(handsets.messages, number, after, 1)
            if found:
                return json_response(found[0])
            remaining = deadline - loop.time()
            if remaining <= 0:
                return json_response({"code": "timeout", "text": f"no message for {number} within {timeout} s"}, 408)
            try:
                await asyncio.wait_for(arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass
    finally:
        sim.listeners.discard(listener)


async def reply(request: Request) -> Response:
    """A handset sends a message (MO) to one of the accounts' numbers."""
    c = ctx(request)
    number = _handset(request)
    try:
        r = msgspec.json.decode(await read_body(request, 64 * 1024), type=Reply)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise InvalidRequest("syntax_invalid_json", f"invalid reply: {e}") from None
    if r.type not in ("mo_text", "mo_binary"):
        raise InvalidRequest("syntax_invalid_parameter_format", "type must be mo_text or mo_binary")
    if r.type == "mo_binary":
        try:
            base64.b64decode(r.body, validate=True)
            bytes.fromhex(r.udh or "")
        except (binascii.Error, ValueError):
            raise InvalidRequest("syntax_invalid_parameter_format", "binary body must be base64 and udh hex") from None
    elif len(r.body) > 2000:
        raise InvalidRequest("syntax_constraint_violation", "body is longer than 2000 characters")
    if not r.to.strip():
        raise InvalidRequest("syntax_constraint_violation", "to is required")
    sent_at = None
    if r.sent_at:
        try:
            sent_at = dates.parse(r.sent_at)
        except ValueError:
            raise InvalidRequest("syntax_invalid_parameter_format", "sent_at is not ISO-8601") from None
    doc = await c.receive_inbound(Inbound(sender=number, recipient=r.to, body=r.body, type=r.type, udh=r.udh,
                                         sent_at=sent_at, operator_id=r.operator_id, account_id=r.service_plan_id))
    if c.simulator is not None:
        c.simulator.announce({"event": "replies", "msisdns": [number]})
    return json_response(doc, 201)


async def purge(request: Request) -> Response:
    c = ctx(request)
    number = _handset(request) if "msisdn" in request.path_params else None
    n = await c.db.write(handsets.purge, number)
    return json_response({"deleted": n})


async def get_rules(request: Request) -> Response:
    return json_response(_sim(request).rules.to_dict())


async def put_rules(request: Request) -> Response:
    sim = _sim(request)
    try:
        data = msgspec.json.decode(await read_body(request, 256 * 1024))
        if not isinstance(data, dict):
            raise ValueError("rules must be a JSON object")
        sim.rules = OutcomeRules.from_dict(data)
    except msgspec.DecodeError as e:
        raise InvalidRequest("syntax_invalid_json", str(e)) from None
    except (ValueError, TypeError, KeyError) as e:
        raise InvalidRequest("syntax_constraint_violation", f"invalid rules: {e}") from None
    return json_response(sim.rules.to_dict())


routes = [
    Route("/simulator/handsets", list_handsets, methods=["GET"]),
    Route("/simulator/handsets", purge, methods=["DELETE"]),
    Route("/simulator/handsets/{msisdn}", purge, methods=["DELETE"]),
    Route("/simulator/handsets/{msisdn}/messages", handset_messages, methods=["GET"]),
    Route("/simulator/handsets/{msisdn}/messages", reply, methods=["POST"]),
    Route("/simulator/handsets/{msisdn}/messages/wait", wait_message, methods=["GET"]),
    Route("/simulator/rules", get_rules, methods=["GET"]),
    Route("/simulator/rules", put_rules, methods=["PUT"]),
]
