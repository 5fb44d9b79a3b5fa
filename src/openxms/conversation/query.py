"""Query-string values of the Conversation API, as the official SDKs really send them, and paging.

* Booleans: the Python SDK writes Python's `True`/`False`, Node `true`/`false`.
* Times: Python writes an aware datetime as `2026-01-01T00:00:00Z` and a naive one with no
  offset (taken as UTC); Node writes `2026-01-01T00:00:00.000Z`.
* Lists (`update_mask`): comma-joined, `%2C`-encoded by Python, a raw comma from Node.
* MSISDNs: Python %-encodes `+` as `%2B`; Node does not encode query values at all, so its `+`
  reaches us as a space after form decoding.

Paging follows Google's AIP-158 (https://google.aip.dev/158), which the Conversation API's
`page_size`/`page_token`/`next_page_token` are: the token is opaque, `""` means "no more
pages", and a page size above the maximum is coerced down to the maximum rather than
rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable

from ..errors import InvalidRequest
from ..sms import dates, msisdn
from .fields import snake_case

# (default, maximum) page sizes from the Conversation API reference.
CONTACTS_PAGE = (10, 20)
CONVERSATIONS_PAGE = (10, 20)
RECENT_CONVERSATIONS_PAGE = (10, 50)
IDENTITY_CONFLICTS_PAGE = (10, 20)
MESSAGES_PAGE = (10, 1000)

_TRUE, _FALSE = ("true", "1"), ("false", "0")


def parse_bool(value: str | None, field: str, default: bool = False) -> bool:
    """`true`/`True`/`TRUE`/`1` (and the falses); absent or empty is `default`."""
    if value is None or value.strip() == "":
        return default
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise InvalidRequest(f"{field} must be true or false, got {value!r}")


def parse_time(value: str | None, field: str) -> int | None:
    """Milliseconds since the epoch; with or without an offset (none = UTC), with or without
    fractions. Absent or empty is None. A `+hh:mm` offset sent unencoded by Node arrives with a
    space for its `+`, which is put back."""
    if value is None or value.strip() == "":
        return None
    v = value.strip()
    if len(v) > 6 and v[-6] == " " and v[-3] == ":":
        v = v[:-6] + "+" + v[-5:]
    try:
        return dates.parse(v)
    except ValueError:
        raise InvalidRequest(f"{field} is not a date-time: {value!r}") from None


def parse_update_mask(values: str | Iterable[str] | None) -> list[str] | None:
    """`?update_mask=a,b` (or the parameter repeated) as `["a", "b"]`; None when there is none,
    which is not the same as an empty mask (see fields.apply_patch)."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        out.extend(snake_case(p.strip()) for p in value.split(",") if p.strip())
    return out or None


def parse_enum(value: str | None, allowed: Iterable[str], field: str, default: str | None = None) -> str | None:
    if value is None or value.strip() == "":
        return default
    v = value.strip()
    if v not in tuple(allowed):
        raise InvalidRequest(f"{field}: invalid value {value!r}")
    return v


def query_identity(value: str | None) -> str | None:
    """A channel identity from the query. A phone number loses its `+` (or the space or literal
    `%2B` it may have turned into) and its formatting, so it matches the digits-only form we
    store; anything else (an app-scoped id) is returned stripped."""
    if value is None:
        return None
    v = value.strip()
    if v[:3].upper() == "%2B":
        v = v[3:]
    n = msisdn.normalize(v) if v else None
    return n if n is not None else v


def page_size(value: str | int | None, limits: tuple[int, int], field: str = "page_size") -> int:
    """The page size: absent or 0 is the default (proto3 cannot tell 0 from unset), negative or
    non-numeric is a 400, above the maximum is the maximum (AIP-158)."""
    default, maximum = limits
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return default
    try:
        n = int(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"{field} must be an integer, got {value!r}") from None
    if n < 0:
        raise InvalidRequest(f"{field} must not be negative")
    if n == 0:
        return default
    return min(n, maximum)


def _scope_tag(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:12]


def encode_page_token(cursor: str | int, scope: str = "") -> str:
    """An opaque token for the page starting after `cursor` (an offset or the last id seen).
    `scope` (e.g. the query's filters) is bound into the token, so a token is refused with
    another query, as AIP-158 asks."""
    payload = json.dumps([1, _scope_tag(scope), cursor], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_page_token(token: str | None, scope: str = "") -> str | int | None:
    """The cursor in `token`; None for no token (the first page). A token we did not make, or
    made for another query, is a 400."""
    if token is None or token.strip() == "":
        return None
    t = token.strip()
    try:
        value = json.loads(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("page_token is not valid") from None
    if (
        not isinstance(value, list)
        or len(value) != 3
        or value[0] != 1
        or not isinstance(value[2], (str, int))
        or isinstance(value[2], bool)
    ):
        raise InvalidRequest("page_token is not valid")
    if value[1] != _scope_tag(scope):
        raise InvalidRequest("page_token was issued for another query")
    if isinstance(value[2], int) and value[2] < 0:
        raise InvalidRequest("page_token is not valid")
    return value[2]


def decode_offset(token: str | None, scope: str = "") -> int:
    """The row offset in an offset token; 0 for the first page."""
    cursor = decode_page_token(token, scope)
    if cursor is None:
        return 0
    if not isinstance(cursor, int):
        raise InvalidRequest("page_token is not valid")
    return cursor


def next_offset_token(offset: int, returned: int, size: int, scope: str = "", total: int | None = None) -> str:
    """`next_page_token` after a page of `returned` rows read at `offset` with `size`: `""` once
    the rows ran out (a short page, or `total` reached)."""
    end = offset + returned
    if returned < size or returned == 0 or (total is not None and end >= total):
        return ""
    return encode_page_token(end, scope)
