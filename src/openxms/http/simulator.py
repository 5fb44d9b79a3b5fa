"""`/simulator/...`: the virtual handsets (read, reply, wait, purge) and the outcome rules."""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import asdict
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ..connectors.base import Inbound
from ..connectors.outcomes import Outcome, OutcomeRules
from ..connectors.simulator import on_handset
from ..errors import ApiError, Conflict, ConstraintViolation, InvalidFormat, InvalidJson
from ..sms import dates, msisdn
from ..sms.objects import InboundMessage, Timestamp
from ..store import handsets
from .context import ctx
from .responses import CURSOR_MAX, json_response, paged, paging, q_int, q_page, read_body
from .spec import SIMULATOR, op, query, route


class Reply(msgspec.Struct):
    """A message from a handset: `to` is one of the accounts' numbers; `service_plan_id` picks the
    account when the number does not tell."""

    to: str
    body: str
    type: str = "mo_text"
    udh: str | None = None
    service_plan_id: str | None = None
    sent_at: str | None = None
    operator_id: str | None = None


class Received(InboundMessage, kw_only=True):
    """The stored inbound message, and the account it went to."""

    account_id: str


class SimHandset(msgspec.Struct):
    msisdn: str
    messages: int  # messages it holds
    unread: int  # of which arrived since the web UI last showed it (POST .../read)
    last_message_at: Timestamp
    last_id: int  # its newest message's id (the list's order; `next` is one of these)
    last_type: str  # that message's type (mt_text, mt_binary, mt_media)
    last_body: str  # and its text (binary: base64)


Cursor = Annotated[int | None, msgspec.Meta(description="pass as `after` for the next page; null: no more")]


class Handsets(msgspec.Struct):
    handsets: list[SimHandset]
    next: Cursor


class ReadMark(msgspec.Struct):
    through: int | None = None  # the newest message id the user saw (default: the newest now)


class ReadState(msgspec.Struct):
    msisdn: str
    read_id: int
    unread: int


# The message objects come from the simulator connector as they are stored; the document
# describes them as plain objects rather than keep a second field list here.


class HandsetMessages(msgspec.Struct):
    msisdn: str
    messages: list[dict[str, Any]]  # what the handset received
    replies: list[InboundMessage]  # what it sent


class Purged(msgspec.Struct):
    deleted: int


Rules = dict[str, Any]
_NOT_RUNNING = (409, "the simulator is not running on this node")


def _handset(request: Request) -> str:
    raw = request.path_params["msisdn"]
    n = msisdn.normalize(raw)
    if n is None:
        raise InvalidFormat(f"{raw!r} is not a phone number")
    return n


def _sim(request: Request):
    sim = ctx(request).simulator
    if sim is None:
        raise Conflict(_NOT_RUNNING[1], code="syntax_constraint_violation")
    return sim


@op(
    SIMULATOR,
    "Handsets that received messages, the most recently reached first, searchable",
    response=Handsets,
    errors=[400],
    params=[
        query("q", description="words that must all occur in the number (any part of it) or in one message's text"),
        *paging(100, 500),
    ],
)
async def list_handsets(request: Request) -> Response:
    q = request.query_params.get("q", "")
    if len(q) > 200:
        raise InvalidFormat("q is longer than 200 characters")
    limit, before = q_page(request, 100, 500)
    rows = await ctx(request).db.read(handsets.handsets, q, before, limit + 1)
    page, nxt = paged(rows, limit, lambda h: h.last_id)
    return json_response(
        Handsets(
            [
                SimHandset(h.msisdn, h.messages, h.unread, dates.format(h.last_at), h.last_id, h.last_type, h.last_body)
                for h in page
            ],
            nxt,
        )
    )


@op(SIMULATOR, "Mark a handset's messages read (the web UI's unread counts)", body=ReadMark, response=ReadState)
async def mark_read(request: Request) -> Response:
    """The read mark only moves forward; it is kept in the database, so unread counts survive a
    reload and are the same in every browser."""
    number = _handset(request)
    raw = await read_body(request, 4096)
    try:
        mark = msgspec.json.decode(raw, type=ReadMark) if raw.strip() else ReadMark()
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise InvalidJson(f"invalid read mark: {e}") from None
    if mark.through is not None and not 0 <= mark.through <= CURSOR_MAX:
        raise ConstraintViolation(f"through must be between 0 and {CURSOR_MAX}")
    read_id, unread = await ctx(request).db.write(handsets.mark_read, number, mark.through)
    return json_response(ReadState(number, read_id, unread))


@op(
    SIMULATOR,
    "A handset's messages and replies",
    response=HandsetMessages,
    errors=[400],
    params=[query("limit", "integer", "at most this many of each (default 100)", minimum=1, maximum=1000)],
)
async def handset_messages(request: Request) -> Response:
    c = ctx(request)
    number = _handset(request)
    limit = q_int(request, "limit", 100, 1, 1000)
    mt = await c.db.read(handsets.messages, number, 0, limit)
    mo = await c.inbounds.by_handset(number, limit)
    return json_response(HandsetMessages(number, mt, [msgspec.convert(d, InboundMessage) for d in mo]))


@op(
    SIMULATOR,
    "Wait for a message to a handset",
    response=dict[str, Any],
    params=[
        query("after", "integer", "a message id: wait for a newer one (default: any message)", minimum=0),
        query("timeout", "integer", "seconds (default 10)", minimum=0, maximum=300),
    ],
    errors=[400, (408, "no message within the timeout"), _NOT_RUNNING],
)
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
                raise ApiError(f"no message for {number} within {timeout} s", code="timeout", status=408)
            try:
                await asyncio.wait_for(arrived.wait(), remaining)
            except TimeoutError:
                pass
    finally:
        sim.listeners.discard(listener)


@op(SIMULATOR, "A handset sends a message", status=201, body=Reply, response=Received, errors=[400])
async def reply(request: Request) -> Response:
    """A handset sends a message (MO) to one of the accounts' numbers."""
    c = ctx(request)
    number = _handset(request)
    try:
        r = msgspec.json.decode(await read_body(request, 64 * 1024), type=Reply)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise InvalidJson(f"invalid reply: {e}") from None
    if r.type not in ("mo_text", "mo_binary"):
        raise InvalidFormat("type must be mo_text or mo_binary")
    if r.type == "mo_binary":
        try:
            base64.b64decode(r.body, validate=True)
            bytes.fromhex(r.udh or "")
        except (binascii.Error, ValueError):
            raise InvalidFormat("binary body must be base64 and udh hex") from None
    elif len(r.body) > 2000:
        raise ConstraintViolation("body is longer than 2000 characters")
    if not r.to.strip():
        raise ConstraintViolation("to is required")
    sent_at = None
    if r.sent_at:
        try:
            sent_at = dates.parse(r.sent_at)
        except ValueError:
            raise InvalidFormat("sent_at is not ISO-8601") from None
    doc = await c.receive_inbound(
        Inbound(
            sender=number,
            recipient=r.to,
            body=r.body,
            type=r.type,
            udh=r.udh,
            sent_at=sent_at,
            operator_id=r.operator_id,
            account_id=r.service_plan_id,
        )
    )
    if c.simulator is not None:
        c.simulator.announce({"event": "replies", "msisdns": [number]})
    return json_response(msgspec.convert(doc, Received), 201)


@op(SIMULATOR, "Forget handset messages (all, or one handset's)", response=Purged, errors=[400])
async def purge(request: Request) -> Response:
    c = ctx(request)
    number = _handset(request) if "msisdn" in request.path_params else None
    n = await c.db.write(handsets.purge, number)
    return json_response(Purged(n))


@op(SIMULATOR, "The outcome rules", response=Rules, errors=[_NOT_RUNNING])
async def get_rules(request: Request) -> Response:
    return json_response(_sim(request).rules.to_dict())


@op(SIMULATOR, "Replace the outcome rules", body=Rules, response=Rules, errors=[400, _NOT_RUNNING])
async def put_rules(request: Request) -> Response:
    sim = _sim(request)
    raw = await read_body(request, 256 * 1024)
    if json_depth(raw) > MAX_RULES_DEPTH:
        raise ConstraintViolation(f"rules are nested deeper than {MAX_RULES_DEPTH} levels")
    try:
        data = msgspec.json.decode(raw)
        if not isinstance(data, dict):
            raise ValueError("rules must be a JSON object")
        sim.rules = OutcomeRules.from_dict(data)
    except msgspec.DecodeError as e:
        raise InvalidJson(str(e)) from None
    except (ValueError, TypeError, KeyError) as e:
        raise ConstraintViolation(f"invalid rules: {e}") from None
    return json_response(sim.rules.to_dict())


class PreviewOutcome(msgspec.Struct):
    accept: bool  # false: refused at submit (Rejected)
    status: str  # the final status its receipt reports
    code: int
    delay_ms: int  # dispatch -> receipt
    receipt: bool  # false: no receipt ever comes (Unknown, 401 once the engine gives up)


class RulesPreview(msgspec.Struct):
    msisdn: str  # the digits the rules are tried on
    source: str  # rules (yours) | magic_numbers (the defaults) | default_profile
    index: int | None  # the matching rule's index in that list; null: the default profile
    rule: dict[str, Any] | None  # that rule as GET /simulator/rules lists it
    profile: str | None  # the profile drawn from (null: a fixed outcome)
    profile_settings: dict[str, Any] | None
    chance: bool  # the outcome depends on the message (seed, number and recipient id)
    outcome: PreviewOutcome | None  # on the handset simulator; null: chance and no recipient_id
    smsc_outcome: PreviewOutcome | None  # what `openxms smsc` answers, where it differs (throttling)


def _preview_outcome(o: Outcome) -> PreviewOutcome:
    return PreviewOutcome(o.accept, o.status, o.code, o.delay_ms, o.receipt)


def _plain(x: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(x).items() if v is not None and k != "name"}


@op(
    SIMULATOR,
    "Which rule and outcome a message to a number gets",
    response=RulesPreview,
    errors=[400, _NOT_RUNNING],
    params=[
        query("number", description="the recipient's number (required)"),
        query("recipient_id", "integer", "the message's id (/simulator/messages): fixes a chance outcome", minimum=0),
    ],
)
async def preview_rules(request: Request) -> Response:
    """Computed by the simulator's own rules (connectors/outcomes.py), as it decides a message to
    that number with that recipient id: the same seed, number and id give the same outcome."""
    sim = _sim(request)
    raw = request.query_params.get("number", "")
    number = msisdn.normalize(raw)
    if number is None:
        raise InvalidFormat(f"number {raw!r} is not a phone number" if raw else "number is required")
    key = q_int(request, "recipient_id", -1, 0, CURSOR_MAX)
    e = sim.rules.explain(number, None if key < 0 else key)
    outcome = None if e.outcome is None else on_handset(e.outcome)
    return json_response(
        RulesPreview(
            e.msisdn,
            e.source,
            e.index,
            None if e.rule is None else _plain(e.rule),
            None if e.profile is None else e.profile.name,
            None if e.profile is None else _plain(e.profile),
            e.chance,
            None if outcome is None else _preview_outcome(outcome),
            None if e.outcome is None or e.outcome == outcome else _preview_outcome(e.outcome),
        )
    )


MAX_RULES_DEPTH = 16  # rules are a few levels deep; a deeper document is an attack on the decoder


def json_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (strings skipped), without decoding it."""
    depth = deepest = 0
    in_string = escaped = False
    for b in raw:
        if in_string:
            if escaped:
                escaped = False
            elif b == 0x5C:  # backslash
                escaped = True
            elif b == 0x22:
                in_string = False
        elif b == 0x22:
            in_string = True
        elif b in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif b in (0x5D, 0x7D):
            depth -= 1
    return deepest


routes = [
    route("GET", "/handsets", list_handsets),
    route("DELETE", "/handsets", purge),
    route("DELETE", "/handsets/{msisdn}", purge),
    route("GET", "/handsets/{msisdn}/messages", handset_messages),
    route("POST", "/handsets/{msisdn}/messages", reply),
    route("GET", "/handsets/{msisdn}/messages/wait", wait_message),
    route("POST", "/handsets/{msisdn}/read", mark_read),
    route("GET", "/rules", get_rules),
    route("PUT", "/rules", put_rules),
    route("GET", "/rules/preview", preview_rules),
]
