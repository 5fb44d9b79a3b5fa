"""`${name}` substitution (https://developers.sinch.com/docs/sms/resources/message-info/message-parameterization/).

Lookup order per placeholder: the recipient's MSISDN (keys are matched after normalisation,
so `+12017777777` matches recipient `12017777777`), then `default`. A placeholder whose key is
in `parameters` but has neither is *unmatched*: that recipient fails with code 405 and the
others go out. A placeholder with no `parameters` key at all is left as written.
"""

from __future__ import annotations

import re

from . import msisdn

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9._\- ]{1,16})\}")
MAX_VALUE_LENGTH = 160


class Unmatched(Exception):
    """A placeholder has no value for this recipient and no default."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def prepare(parameters: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]]:
    """Normalise the MSISDN keys once per batch so rendering is a dict lookup per recipient."""
    if not parameters:
        return {}
    out = {}
    for key, values in parameters.items():
        table = {}
        for k, v in values.items():
            if k == "default":
                table["default"] = v
            else:
                table[msisdn.normalize(k) or k] = v
        out[key] = table
    return out


def render(body: str, prepared: dict[str, dict[str, str]], recipient: str) -> str:
    """The body for one recipient; raises Unmatched (-> code 405)."""
    if not prepared or "${" not in body:
        return body

    def sub(m: re.Match) -> str:
        table = prepared.get(m.group(1))
        if table is None:
            return m.group(0)
        value = table.get(recipient)
        if value is None:
            value = table.get("default")
            if value is None:
                raise Unmatched(m.group(1))
        return value

    return PLACEHOLDER.sub(sub, body)


def validate(parameters: dict[str, dict[str, str]]) -> str | None:
    """A reason the parameters object breaks Sinch's limits, or None."""
    for key, values in parameters.items():
        if not key or len(key) > 16:
            return f"parameter key {key!r} must be 1 to 16 characters"
        for k, v in values.items():
            if len(v) > MAX_VALUE_LENGTH:
                return f"value of parameter {key!r} for {k!r} exceeds {MAX_VALUE_LENGTH} characters"
    return None
