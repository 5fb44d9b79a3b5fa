"""ConfigError's words: a msgspec validation error said the way a person editing a TOML file
reads it.

msgspec says ``Expected `int`, got `str` - at `$.server.port` ``; the person wants
`server.port: expected an integer, got "eighty"`. `describe` turns the one into the other,
with the value found at that path in the document and, for a choice, the values allowed
(config.py's `_convert` calls it; the key paths renamed on reading the file come back as the
file spells them).
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

_AT = re.compile(r"(.*?)(?: - at `\$([^`]*)`)?", re.S)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "object": "a table",
    "array": "an array",
    "null": "nothing",
}
_MISSING = object()


def _steps(path: str) -> list[str | int]:
    return [name or int(index) for name, index in _STEP.findall(path)]


def _value_at(root: Any, path: str) -> Any:
    for step in _steps(path):
        try:
            root = root[step]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return root


def _choices_at(type_: Any, path: str) -> tuple:
    """The allowed values of the Literal at `path` inside `type_` (() if it is not one)."""

    def unwrap(t: Any) -> Any:  # `Literal[...] | None` -> the Literal
        if isinstance(t, msgspec.inspect.UnionType):
            return next((x for x in t.types if not isinstance(x, msgspec.inspect.NoneType)), t)
        return t

    info = unwrap(msgspec.inspect.type_info(type_))
    for step in _steps(path):
        if isinstance(step, int):
            info = getattr(info, "item_type", None)
        else:
            info = next((f.type for f in getattr(info, "fields", ()) if f.encode_name == step), None)
        info = unwrap(info)
    return info.values if isinstance(info, msgspec.inspect.LiteralType) else ()


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return "an array"
    return str(v)


def _expected(words: str) -> str:
    if words == "`str` of length >= 1":
        return "a non-empty string"

    def union(m: re.Match) -> str:  # TOML has no null: "`str | null`" is "a string"
        types = [t for t in m[1].split(" | ") if t != "null"] or ["null"]
        return " or ".join(_TYPE_WORDS.get(t, t) for t in types)

    return re.sub(r"`([^`]+)`", union, words)


def describe(message: str, root: Any, type_: Any, renamed: dict[str, str]) -> str:
    """`message` (a msgspec.ValidationError's text about converting `root` to `type_`) as
    "key path: what is wrong", the path as the file spells it (`renamed`: converted -> file)."""
    found = _AT.fullmatch(message)
    assert found is not None  # _AT matches any text
    text, at = found.groups()
    at = at or ""  # ".server.port", "[0].rate", "" (the value itself)
    path = at.lstrip(".")

    def key(*names: str) -> str:
        full = ".".join(x for x in (path, *names) if x)
        return renamed.get(full, full)

    value = _value_at(root, at)
    got = "" if value is _MISSING else f", got {_show(value)}"
    if m := re.fullmatch(r"Object contains unknown field `(.+)`", text):
        section = _value_at(root, f".{m[1]}") if not path else None
        if isinstance(section, dict):
            return f"unknown section [{m[1]}]"
        if isinstance(section, list):
            return f"unknown section [[{m[1]}]]"
        return f"unknown key '{key(m[1])}'"
    if m := re.fullmatch(r"Object missing required field `(.+)`", text):
        return f"missing key '{key(m[1])}'"
    if m := re.fullmatch(r"Expected (.+?)(?:, got .*)?", text, re.S):
        problem = f"expected {_expected(m[1])}{got}"
    elif text.startswith("Invalid enum value") and (choices := _choices_at(type_, at)):
        problem = f"expected {', '.join(map(_show, choices[:-1]))} or {_show(choices[-1])}{got}"
    else:  # a check in a __post_init__, already in words
        problem = text
    return f"{key()}: {problem}" if key() else problem
