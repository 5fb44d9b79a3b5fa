"""`${name}` parameters in a Conversation message.

Sinch's Batch API: "Parameter variables can be included in all string fields and customized
with recipient specific values" (https://developers.sinch.com/docs/conversation/api-reference/batch-api).
Omni-channel templates use the same `${name}` form for their parameters. What Sinch leaves
open is decided here:

* every string *value* of the JSON tree is a field, wherever it sits: in arrays, in map
  values such as `explicit_channel_message["SMS"]` or a template's `parameters`; object keys,
  numbers, booleans and nulls are never touched;
* one pass: an inserted value is never scanned again, so a value holding `${x}` stays as it is;
* a name without a value is left as written (`${code}`), unless the caller asks for "".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

PLACEHOLDER = re.compile(r"\$\{([^{}]+)\}")
# The same, in JSON text: a name never holds a quote or a backslash there, so a match cannot
# run from one string into the next.
_JSON_PLACEHOLDER = re.compile(r'\$\{([^{}"\\]+)\}')
_PLAIN_NAME = re.compile(r'[^"\\\x00-\x1f]+')  # names JSON writes as they are


def substitute(tree: Any, parameters: Mapping[str, str] | None, *, keep_unknown: bool = True) -> Any:
    """A deep copy of the JSON-like `tree` (dicts, lists, scalars) with `${name}` replaced by
    `parameters[name]` in every string value. `keep_unknown=False` replaces unknown names by "".
    Iterative, so no nesting depth the JSON decoder accepts can exhaust the stack."""
    params = parameters or {}

    def one(match: re.Match) -> str:
        value = params.get(match.group(1))
        if value is None:
            return match.group(0) if keep_unknown else ""
        return value

    def copy(node: Any) -> Any:
        if isinstance(node, str):
            return PLACEHOLDER.sub(one, node) if "${" in node else node
        if isinstance(node, dict):
            new: Any = {}
        elif isinstance(node, (list, tuple)):
            new = []
        else:
            return node
        pending.append((node, new))
        return new

    pending: list[tuple[Any, Any]] = []
    root = copy(tree)
    while pending:
        src, dst = pending.pop()
        if isinstance(src, dict):
            for k, v in src.items():
                dst[k] = copy(v)
        else:
            dst.extend(copy(v) for v in src)
    return root


def placeholders(tree: Any) -> set[str]:
    """The names of every `${name}` in the string values of `tree`."""
    return _scan(tree)[0]


def _scan(tree: Any) -> tuple[set[str], bool]:
    """(the names of every `${name}` in the string values, whether an object key holds `${`)."""
    found: set[str] = set()
    in_key = False
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            if "${" in node:
                found.update(PLACEHOLDER.findall(node))
        elif isinstance(node, dict):
            in_key = in_key or any("${" in k for k in node if isinstance(k, str))
            pending.extend(node.values())
        elif isinstance(node, (list, tuple)):
            pending.extend(node)
    return found, in_key


def json_substituter(tree: Any) -> Callable[[Mapping[str, str] | None], bytes] | None:
    """For a batch's fan-out: a function giving the JSON text of `substitute(tree, parameters)`,
    made by one regex pass over `tree` encoded once (decoding that text is several times
    faster than copying the tree per recipient). None for a tree where the two could differ:
    a `${` in an object key (keys are never substituted), or a name that JSON escapes."""
    names, in_key = _scan(tree)
    if in_key:
        return None
    if not all(_PLAIN_NAME.fullmatch(n) for n in names):
        return None
    text = msgspec.json.encode(tree).decode()

    def render(parameters: Mapping[str, str] | None) -> bytes:
        if not names:
            return text.encode()
        params = parameters or {}

        def one(match: re.Match) -> str:
            value = params.get(match.group(1))
            return match.group(0) if value is None else msgspec.json.encode(value).decode()[1:-1]

        return _JSON_PLACEHOLDER.sub(one, text).encode()

    return render
