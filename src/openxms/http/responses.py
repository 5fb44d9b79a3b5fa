"""JSON in and out, and the query-string quirks of the SDKs (with the parameters' OpenAPI declarations)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ..errors import ApiError, ConstraintViolation, InvalidFormat, InvalidJson
from ..sms import dates, msisdn
from .guard import BUSY
from .spec import query

_encode = msgspec.json.encode
JSON = "application/json"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = data if isinstance(data, bytes) else data.encode() if isinstance(data, str) else _encode(data)
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def raw(docs: list[str] | list[bytes]) -> list[Any]:
    """Stored JSON documents, to be embedded in a response as they are: typed Any because each
    stands in for the list field's object type (the stored document is that object encoded)."""
    return [msgspec.Raw(d) for d in docs]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than `limit` bytes without reading it all."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise ConstraintViolation(f"request body exceeds {limit} bytes")
    chunks, size = [], 0
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] != "http.request":
            if request.scope.get(BUSY):
                raise ApiError(
                    "too many request bodies in flight; try again shortly",
                    code="server_busy",
                    status=503,
                    headers={"Retry-After": "1"},
                )
            # http.disconnect: the client went away (or the server cut a body too slow to wait
            # for, cli.py) before the body was complete. What arrived is a prefix, which may
            # parse as JSON all the same; acting on it would create what was never sent.
            raise InvalidJson("the request body ended before its declared end (the connection closed)")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ConstraintViolation(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    check_text(body)
    return body


# A JSON string can carry U+0000 only as the escape \u0000 (a raw NUL byte is not JSON): an odd
# number of backslashes before "u0000" is that escape, an even number is a literal backslash.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def check_text(body: bytes) -> None:
    """Every request body is UTF-8 and carries no NUL character: PostgreSQL text cannot hold NUL,
    and no SMS, number or reference needs one, so it is refused here for every API and store
    alike (400) rather than failing deep in a write."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidJson(f"request body is not valid UTF-8 (byte {e.start})") from None
    if b"\\u0000" in body and _NUL_ESCAPE.search(body):  # JSON writes this escape with a lower-case u
        raise InvalidFormat("the request contains a NUL character (\\u0000), which is not allowed")


# query parameters -------------------------------------------------------------------

INT_MAX = 2**31 - 1  # no query integer we take needs more; bigger ones overflow the databases


def q_int(request: Request, name: str, default: int, lo: int, hi: int = INT_MAX) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidFormat(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConstraintViolation(f"{name} must be between {lo} and {hi}")
    return value


def q_bool(request: Request, name: str, default: bool) -> bool:
    """Python's SDK sends `True`; Node sends `true`."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    low = raw.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise InvalidFormat(f"{name} must be true or false, got {raw!r}")


def q_time(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.strip():
        raise InvalidFormat(f"{name} is empty: give an ISO-8601 timestamp or leave it out")
    try:
        return dates.parse(raw.replace(" ", "+") if "T" in raw and " " in raw[10:] else raw)
    except (ValueError, OverflowError):
        raise InvalidFormat(f"{name} is not an ISO-8601 timestamp: {raw!r}") from None


def q_list(request: Request, name: str) -> list[str]:
    """A list filter, comma-separated (`status=A,B`) or repeated (`status=A&status=B`, what the
    older Python SDK sends), or both."""
    return [v for raw in request.query_params.getlist(name) for v in msisdn.split_query_list(raw)]


def q_numbers(request: Request, name: str) -> list[str]:
    """A comma list of phone numbers, normalised (`+` may have arrived as a space)."""
    out = []
    for v in q_list(request, name):
        n = msisdn.normalize(v)
        out.append(n if n is not None else v)
    return out


def q_senders(request: Request, name: str) -> list[str]:
    return [msisdn.normalize_sender(v) for v in q_list(request, name)]


def page_params(request: Request) -> tuple[int, int]:
    return q_int(request, "page", 0, 0), q_int(request, "page_size", 30, 1, 100)


PAGE = (
    query("page", "integer", "page number, from 0", minimum=0),
    query("page_size", "integer", "items per page (default 30)", minimum=1, maximum=100),
)
DATES = (
    query("start_date", description="ISO-8601, default now - 24 h", format="date-time"),
    query("end_date", description="ISO-8601, exclusive", format="date-time"),
)


# paging: the simulator's lists ------------------------------------------------------------

# Ids are ULIDs (and group ids, batch ids); a parameter that is not an id shape never reaches
# the database.
ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_TIME_ID = re.compile(r"(\d{1,15}):([0-9A-Za-z_-]{1,64})")
CURSOR_MAX = 2**62  # row ids are BIGINT


def int_cursor(raw: str) -> int:
    """A row id (the list's last one)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 1 <= int(raw) <= CURSOR_MAX:
        raise ValueError
    return int(raw)


def time_id_cursor(raw: str) -> tuple[int, str]:
    """`<ms>:<id>`: the last row's time and id (lists ordered by time, then id)."""
    m = _TIME_ID.fullmatch(raw)
    if m is None:
        raise ValueError
    return int(m.group(1)), m.group(2)


def id_cursor(raw: str) -> str:
    if not ID.fullmatch(raw):
        raise ValueError
    return raw


def number_cursor(raw: str) -> str:
    """A phone number in digits (lists ordered by number)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 20:
        raise ValueError
    return raw


def q_page(request: Request, default: int, maximum: int, cursor: Callable[[str], Any] = int_cursor) -> tuple[int, Any]:
    """(limit, after) of a keyset-paged list: `limit` between 1 and `maximum`, `after` the
    `next` of the previous page decoded by `cursor` (None: the first page). Bad values: 400."""
    limit = q_int(request, "limit", default, 1, maximum)
    raw = request.query_params.get("after")
    if raw is None or raw == "":
        return limit, None
    try:
        return limit, cursor(raw)
    except (ValueError, OverflowError):
        raise InvalidFormat(f"after is not a cursor from this list: {raw[:80]!r}") from None


def paged(rows: list, limit: int, key: Callable[[Any], Any]) -> tuple[list, Any]:
    """A page from `limit + 1` rows read: (the first `limit`, the cursor of the next page or None)."""
    page = rows[:limit]
    return page, key(page[-1]) if len(rows) > limit else None


def q_id(request: Request, name: str) -> str | None:
    """An id parameter (None when absent or empty)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not ID.fullmatch(raw):
        raise InvalidFormat(f"{name} is not an id")
    return raw


def paging(default: int, maximum: int, after: str = "integer") -> tuple:
    """The OpenAPI declarations of `limit` and `after` (see q_page)."""
    return (
        query("limit", "integer", f"at most this many (default {default})", minimum=1, maximum=maximum),
        query("after", after, "the `next` of the previous page", **({"minimum": 1} if after == "integer" else {})),
    )
