"""Group requests (https://developers.sinch.com/docs/sms/api-reference/sms/groups/): decoding and validation, no I/O.

The update rule for `name` (documented in docs/groups.md): the Python SDK 2.3.x sends every
field it was not given as `null` (`{"add": [...], "name": null, "remove": null, ...}`), which
by Sinch's documented semantics would wipe the name on every update. So `"name": null`
removes the name only when the request does nothing else, or when it is not the SDK's
all-six-keys shape (another client wrote `null` on purpose). `{"name": null}` alone, or the
Python SDK's all-null body (`groups.update(id, name=None)`), still removes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec

from ..errors import ConstraintViolation, InvalidFormat, InvalidJson
from . import dates, msisdn, objects
from .objects import AutoUpdate

MAX_NAME = 20
MAX_MEMBERS = 10_000
MAX_CHILDREN = 10
_WORD = re.compile(r"\w{1,15}")
UPDATE_KEYS = ("add", "remove", "name", "add_from_group", "remove_from_group", "auto_update")


class GroupRequest(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    members: list[str] | None = None
    child_groups: list[str] | None = None
    auto_update: AutoUpdate | None = None


class GroupUpdate(msgspec.Struct, omit_defaults=True):
    add: list[str] | None = None
    remove: list[str] | None = None
    name: str | None = None
    add_from_group: str | None = None
    remove_from_group: str | None = None
    auto_update: AutoUpdate | None = None


def _decode(raw: bytes, kind: type) -> Any:
    if not raw.strip():
        # An empty body is not an empty group: a PUT without one would wipe the group.
        raise InvalidJson("a JSON body is required (an object; {} for an empty group)")
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as e:
        raise InvalidJson(f"request does not conform to the schema: {e}") from None
    except msgspec.DecodeError as e:
        raise InvalidJson(f"request body is not valid JSON: {e}") from None


def _name(name: str | None) -> str | None:
    if name is not None and not 1 <= len(name) <= MAX_NAME:
        raise ConstraintViolation(f"name must be 1 to {MAX_NAME} characters")
    return name


def _numbers(values: list[str], what: str) -> list[str]:
    out = []
    for v in values:
        n = msisdn.normalize(v)
        if n is None:
            raise InvalidFormat(f"{what} contains an invalid phone number: {v!r}")
        out.append(n)
    return list(dict.fromkeys(out))


def auto_update_doc(a: AutoUpdate | None) -> dict | None:
    """Validated `auto_update`, `to` normalised and always a string."""
    if a is None:
        return None
    to = msisdn.normalize_sender(a.to)
    if not to:
        raise ConstraintViolation("auto_update.to is required")
    out: dict[str, Any] = {"to": to}
    for key in ("add", "remove"):
        kw = getattr(a, key)
        if kw is None:
            continue
        for word in (kw.first_word, kw.second_word):
            if word is not None and not _WORD.fullmatch(word):
                raise ConstraintViolation(f"auto_update.{key} keywords must be single words of at most 15 characters")
        out[key] = msgspec.structs.asdict(kw)
        if kw.second_word is None:
            out[key].pop("second_word")
    return out


@dataclass
class NewGroup:
    name: str | None
    members: list[str]
    child_groups: list[str]
    auto_update: dict | None


def validate_group(raw: bytes) -> NewGroup:
    """Create and replace bodies."""
    g = _decode(raw, GroupRequest)
    members = _numbers(g.members or [], "members")
    if len(members) > MAX_MEMBERS:
        raise ConstraintViolation(f"a group can have at most {MAX_MEMBERS} members")
    children = list(dict.fromkeys(g.child_groups or []))
    if len(children) > MAX_CHILDREN:
        raise ConstraintViolation(f"at most {MAX_CHILDREN} child groups")
    return NewGroup(_name(g.name), members, children, auto_update_doc(g.auto_update))


@dataclass
class Update:
    add: list[str]
    remove: list[str]
    set_name: bool  # change the name (to `name`, None = remove)
    name: str | None
    add_from_group: str | None
    remove_from_group: str | None
    auto_update: dict | None


def validate_update(raw: bytes) -> Update:
    u = _decode(raw, GroupUpdate)
    try:
        present = msgspec.json.decode(raw)
    except msgspec.DecodeError:  # pragma: no cover - already decoded above
        present = {}
    keys = set(present) if isinstance(present, dict) else set()
    does_more = any(getattr(u, k) is not None for k in UPDATE_KEYS if k != "name")
    sdk_shape = set(UPDATE_KEYS) <= keys
    if u.name is not None:
        set_name = True
    elif "name" in keys:
        set_name = not (sdk_shape and does_more)
    else:
        set_name = False
    add, remove = _numbers(u.add or [], "add"), _numbers(u.remove or [], "remove")
    if len(add) > MAX_MEMBERS or len(remove) > MAX_MEMBERS:
        raise ConstraintViolation(f"add and remove take at most {MAX_MEMBERS} numbers")
    return Update(
        add, remove, set_name, _name(u.name), u.add_from_group, u.remove_from_group, auto_update_doc(u.auto_update)
    )


def keyword_action(auto_update: dict, text: str) -> str | None:
    """ "add" / "remove" if an MO text matches the group's keywords (case-insensitive)."""
    words = text.split()
    first = words[0].lower() if words else ""
    second = words[1].lower() if len(words) > 1 else ""
    for action in ("remove", "add"):  # opting out wins if both match
        kw = auto_update.get(action)
        if not kw or first != kw["first_word"].lower():
            continue
        if kw.get("second_word") and second != kw["second_word"].lower():
            continue
        return action
    return None


def to_object(
    group_id: str,
    name: str | None,
    size: int,
    created_at: int,
    modified_at: int,
    child_groups: list[str],
    auto_update: dict | None,
) -> objects.Group:
    """The group object returned by every group endpoint (`auto_update` as `auto_update_doc` made it)."""
    return objects.Group(
        id=group_id,
        name=name,
        size=size,
        created_at=dates.format(created_at),
        modified_at=dates.format(modified_at),
        child_groups=child_groups,
        auto_update=None if auto_update is None else msgspec.convert(auto_update, AutoUpdate),
    )
