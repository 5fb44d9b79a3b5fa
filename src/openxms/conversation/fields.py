"""Decoding request bodies and applying PATCH bodies, shared by apps, contacts, webhooks and
conversations.

Requests are decoded in two steps: the bytes into plain JSON values (malformed JSON and a
non-object body are 400s), then `msgspec.convert` into the resource's Struct, whose type
errors already name the field (`$.channel_credentials[0].channel`). Explicit `null`s are
dropped first, so a null is the same as an absent field (the Python SDK sends nulls for every
unset field of some requests); unknown fields are ignored, since the SDKs add fields over
time and the Python SDK forwards extra keyword arguments.

PATCH follows Google's field-mask rules (https://google.aip.dev/134 and
https://protobuf.dev/reference/protobuf/google.protobuf/#field-mask), which the Conversation
API's `update_mask` is: with a mask, exactly the listed fields are written, and a listed field
that is absent or null in the body is reset to its default; without a mask, every field
present in the body is written, null clearing it. Read-only fields are never written.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

import msgspec

from ..errors import InvalidRequest

T = TypeVar("T")

_PATH = re.compile(r"^(.*?) - at `\$(.*)`$", re.S)
_MISSING = re.compile(r"^Object missing required field `([^`]+)`$")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
# Sinch ids are ULIDs (26 Crockford base32 characters) and the Conversation API answers 400 to
# an app_id that is not ULID-shaped. "Shaped" is taken loosely, 26 letters or digits: ids in
# Sinch's own examples and mocks use letters outside Crockford's alphabet (O, U).
_ULID = re.compile(r"[0-9A-Za-z]{26}")


def decode_object(raw: bytes | str, what: str = "request body") -> dict[str, Any]:
    """The JSON object in `raw`; 400 if it is not JSON or not an object. An empty body is `{}`."""
    if not raw or not raw.strip():
        return {}
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        raise InvalidRequest(f"{what} is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"{what} must be a JSON object")
    return value


def strip_nulls(value: Any, opaque: Collection[str] = ()) -> Any:
    """`value` with every null object member removed, recursively. Members named in `opaque`
    (free-form metadata, credentials stored as given) lose only a null of their own."""
    if isinstance(value, dict):
        return {k: (v if k in opaque else strip_nulls(v, opaque)) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v, opaque) for v in value]
    return value


def explain(error: msgspec.ValidationError, prefix: str = "") -> str:
    """msgspec's `Expected X, got Y - at `$.a[0].b`` as `a[0].b: expected X, got Y`."""
    text, path = str(error), ""
    m = _PATH.match(text)
    if m:
        text, path = m.group(1), m.group(2).lstrip(".")
    missing = _MISSING.match(text)
    if missing:
        field = missing.group(1)
        full = ".".join(p for p in (prefix, path, field) if p)
        return f"{full} is required"
    full = ".".join(p for p in (prefix, path) if p) or "request body"
    return f"{full}: {text[:1].lower()}{text[1:]}"


def convert(data: Any, type_: type[T], prefix: str = "") -> T:
    try:
        return msgspec.convert(data, type_)
    except msgspec.ValidationError as e:
        raise InvalidRequest(explain(e, prefix)) from None


def check_length(value: str, limit: int, field: str) -> None:
    if len(value) > limit:
        raise InvalidRequest(f"{field} is longer than {limit} characters")


def check_range(value: int, low: int, high: int, field: str) -> None:
    if not low <= value <= high:
        raise InvalidRequest(f"{field} must be between {low} and {high}, got {value}")


def is_ulid(value: str) -> bool:
    return isinstance(value, str) and bool(_ULID.fullmatch(value))


def check_ulid(value: str, field: str) -> None:
    if not value:
        raise InvalidRequest(f"{field} is required")
    if not is_ulid(value):
        raise InvalidRequest(f"{field} is not a valid id: {value!r}")


def check_url(value: str, field: str, limit: int | None = None) -> None:
    """An absolute http(s) URL with a host."""
    from ..sms.batches import callback_url  # the one URL check: the parser that will send to it

    if limit is not None:
        check_length(value, limit, field)
    if any(c.isspace() for c in value):
        raise InvalidRequest(f"{field} must be an http or https URL, got {value!r}")
    try:
        callback_url(value, field)
    except InvalidRequest as e:
        raise InvalidRequest(e.text) from None


def snake_case(path: str) -> str:
    """FieldMask paths are lowerCamelCase in protobuf's JSON form (`displayName`); the SDKs send
    snake_case. Accept both."""
    return _CAMEL.sub(lambda m: "_" + m.group(1).lower(), path)


def apply_patch(
    current: dict[str, Any],
    body: Mapping[str, Any],
    update_mask: list[str] | None,
    *,
    fields: Collection[str],
    read_only: Collection[str],
    defaults: Mapping[str, Any],
) -> dict[str, Any]:
    """`current` (plain JSON values, not modified) with `body` written over it by the field-mask
    rules above. `fields` are the writable top-level fields, `defaults` what a reset writes (a
    `None` default removes the field). A mask path may go into an object field
    (`retention_policy.ttl_days`); an unknown path is a 400."""
    merged = copy.deepcopy(current)
    if update_mask is None:
        for name, value in body.items():
            if name in fields:
                merged[name] = copy.deepcopy(defaults[name]) if value is None else value
        return merged
    for raw_path in update_mask:
        path = snake_case(raw_path.strip())
        parts = path.split(".")
        if parts[0] in read_only:
            continue
        if parts[0] not in fields or not all(parts):
            raise InvalidRequest(f"update_mask: unknown field {raw_path!r}")
        dst: Any = merged
        src: Any = body
        dflt: Any = defaults
        for i, name in enumerate(parts):
            if not isinstance(dflt, Mapping) or name not in dflt:
                raise InvalidRequest(f"update_mask: unknown field {raw_path!r}")
            src = src.get(name) if isinstance(src, Mapping) else None
            if i == len(parts) - 1:
                dst[name] = copy.deepcopy(dflt[name]) if src is None else src
            else:
                if not isinstance(dst.get(name), dict):
                    dst[name] = copy.deepcopy(dflt[name]) if isinstance(dflt[name], Mapping) else {}
                dst, dflt = dst[name], dflt[name]
    return merged
