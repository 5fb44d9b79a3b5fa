"""An AppMessage as the text of one SMS.

Sinch says which types the SMS channel carries natively (text, media, location) and which it
"converts into plaintext" (choice, card, carousel), but shows the plaintext only as pictures
(https://developers.sinch.com/docs/conversation/channel-support/sms/message-support). The
layouts below are therefore ours. `a / b` means a line each; lines are joined with "\\n"
and an empty or absent field leaves no line. Batch `${name}` parameters are substituted
before (`params.substitute`), so they show in the text.

Which content: `explicit_channel_omni_message["SMS"]`, else `explicit_channel_message["SMS"]`
(the channel's native payload: when it is a JSON object with a string `body`, the shape of
Sinch's SMS API, that body; otherwise the string as it is), else the message's own type.
`channel_specific_message` never applies to SMS.

    text          the text
    media         "<filename_override>: <url>", or the url alone
    location      title / label / map link "https://maps.google.com/?q=<lat>,<long>"
    choice        text_message.text, then one line per choice:
                    text            the text
                    url             "<title>: <url>"
                    call            "<title>: <phone_number>"
                    location        "<title>: <map link>"
                    calendar        "<title>: <fallback_url>"
                    share_location  "<title>: <fallback_url>"
    card          title / description / media (as above) / the choices (as above)
    carousel      each card as above, a blank line between cards, then a blank line and
                  the outer choices
    list          title / description, then per section a blank line, the section title
                  and one line per item (a choice's title, a product's id)
    contact_info  full_name / each phone number / each email address
    template      the referenced template, resolved and rendered as above

A template is `channel_template["SMS"]`, else `omni_template` (an override's
`template_reference` likewise). The caller's `templates(template_id, version, language_code)`
returns the stored AppMessage (a Struct or its JSON), None if no template has that id, or
raises `UnknownVersion` if the id exists but not in that version or language. Every
`${name}` in the template must have a value in the reference's `parameters`, and is
replaced by it. A template's content may not be a template again.

A message that cannot be rendered is not an exception: the result is a `Reason` (its
receipt is FAILED with that reason).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from . import params
from .messages import (
    AppMessage,
    CardMessage,
    Choice,
    ChoiceMessage,
    ContactInfoMessage,
    ListMessage,
    LocationMessage,
    MediaMessage,
    OmniMessageOverride,
    TemplateMessage,
    TemplateReference,
    message_type,
)
from .types import Reason

CHANNEL = "SMS"
MAP_LINK = "https://maps.google.com/?q={lat},{long}"


class UnknownVersion(LookupError):
    """Raised by a template lookup: the template exists, not in that version or language."""


Templates = Callable[[str, "str | None", "str | None"], "AppMessage | Mapping[str, Any] | None"]


def render_sms(
    message: AppMessage | Mapping[str, Any], templates: Templates | None = None, *, lists: bool = True
) -> str | Reason:
    """The SMS text for `message` (already parameter-substituted), or the Reason it cannot be
    sent. `lists=False` refuses list messages (UNSUPPORTED_OPERATION) instead of rendering
    them: Sinch does not list them among the SMS channel's types."""
    try:
        msg = message if isinstance(message, AppMessage) else msgspec.convert(message, AppMessage)
    except msgspec.ValidationError as e:
        return Reason("BAD_REQUEST", f"message cannot be read: {e}")
    try:
        text = _render(msg, templates, lists, nested=False)
    except _Fail as fail:
        return fail.reason
    if not text.strip():
        return Reason("BAD_REQUEST", "the message renders to an empty SMS")
    return text


class _Fail(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.reason = Reason(code, description)  # type: ignore[arg-type]


def _render(msg: AppMessage, templates: Templates | None, lists: bool, *, nested: bool) -> str:
    override = (msg.explicit_channel_omni_message or {}).get(CHANNEL)
    if override is not None:
        return _type(override, templates, lists, nested=nested)
    explicit = (msg.explicit_channel_message or {}).get(CHANNEL)
    if explicit is not None:
        return explicit_body(explicit)
    return _type(msg, templates, lists, nested=nested)


def explicit_body(payload: str) -> str:
    """`explicit_channel_message["SMS"]`: the `body` of a JSON object, else the string."""
    if payload.lstrip().startswith("{"):
        try:
            value = json.loads(payload)
        except ValueError:
            return payload
        if isinstance(value, dict) and isinstance(value.get("body"), str):
            return value["body"]
    return payload


def _type(msg: AppMessage | OmniMessageOverride, templates: Templates | None, lists: bool, *, nested: bool) -> str:
    kind = message_type(msg)
    if kind is None:
        raise _Fail("BAD_REQUEST", "the message has no single message type")
    value = getattr(msg, kind)
    if kind == "text_message":
        return value.text
    if kind == "media_message":
        return media(value)
    if kind == "location_message":
        return location(value)
    if kind == "choice_message":
        return choice_message(value)
    if kind == "card_message":
        return card(value)
    if kind == "carousel_message":
        cards = "\n\n".join(t for t in (card(c) for c in value.cards) if t)
        return _lines([cards, "", *choices(value.choices)] if value.choices else [cards])
    if kind == "list_message":
        if not lists:
            raise _Fail("UNSUPPORTED_OPERATION", "list messages are not supported on the SMS channel")
        return list_message(value)
    if kind == "contact_info_message":
        return contact_info(value)
    if nested:
        raise _Fail("BAD_REQUEST", "a template's content cannot itself be a template")
    ref = value if kind == "template_reference" else _sms_template(value)
    return _template(ref, templates, lists)


def _lines(parts: list[str | None]) -> str:
    """Join the non-empty parts; "" parts are kept (they are deliberate blank lines) except
    at either end."""
    out = [p for p in parts if p is not None]
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _text(value: str | None) -> str | None:
    return value if value and value.strip() else None


def media(m: MediaMessage) -> str:
    return f"{m.filename_override}: {m.url}" if _text(m.filename_override) else m.url


def _coordinate(x: float) -> str:
    s = f"{x:.7f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def map_link(loc: LocationMessage) -> str:
    return MAP_LINK.format(lat=_coordinate(loc.coordinates.latitude), long=_coordinate(loc.coordinates.longitude))


def location(loc: LocationMessage) -> str:
    return _lines([_text(loc.title), _text(loc.label), map_link(loc)])


def choice_line(c: Choice) -> str | None:
    if c.text_message is not None:
        return _text(c.text_message.text)
    if c.url_message is not None:
        return f"{c.url_message.title}: {c.url_message.url}"
    if c.call_message is not None:
        return f"{c.call_message.title}: {c.call_message.phone_number}"
    if c.location_message is not None:
        return f"{c.location_message.title}: {map_link(c.location_message)}"
    if c.calendar_message is not None:
        return f"{c.calendar_message.title}: {c.calendar_message.fallback_url}"
    if c.share_location_message is not None:
        return f"{c.share_location_message.title}: {c.share_location_message.fallback_url}"
    return None


def choices(items: list[Choice] | None) -> list[str | None]:
    return [choice_line(c) for c in items or ()]


def choice_message(cm: ChoiceMessage) -> str:
    intro = _text(cm.text_message.text) if cm.text_message is not None else None
    return _lines([intro, *choices(cm.choices)])


def card(c: CardMessage) -> str:
    return _lines(
        [_text(c.title), _text(c.description), media(c.media_message) if c.media_message else None, *choices(c.choices)]
    )


def list_message(lm: ListMessage) -> str:
    parts: list[str | None] = [_text(lm.title), _text(lm.description)]
    for section in lm.sections:
        parts.append("")
        parts.append(_text(section.title))
        for item in section.items:
            parts.append(
                _text(item.choice.title)
                if item.choice is not None
                else _text(item.product.id)
                if item.product is not None
                else None
            )
    return _lines(parts)


def contact_info(ci: ContactInfoMessage) -> str:
    return _lines(
        [
            _text(ci.name.full_name),
            *(_text(p.phone_number) for p in ci.phone_numbers),
            *(_text(e.email_address) for e in ci.email_addresses or ()),
        ]
    )


def _sms_template(tm: TemplateMessage) -> TemplateReference:
    ref = (tm.channel_template or {}).get(CHANNEL) or tm.omni_template
    if ref is None:
        raise _Fail("TEMPLATE_NOT_FOUND", "the template message has no SMS channel_template and no omni_template")
    return ref


def _template(ref: TemplateReference, templates: Templates | None, lists: bool) -> str:
    what = f"template {ref.template_id!r}"
    if templates is None:
        raise _Fail("TEMPLATE_NOT_FOUND", f"{what} not found (no template store)")
    try:
        found = templates(ref.template_id, ref.version, ref.language_code)
    except UnknownVersion:
        raise _Fail(
            "TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION",
            f"{what} has no version {ref.version!r} in language {ref.language_code!r}",
        ) from None
    if found is None:
        raise _Fail("TEMPLATE_NOT_FOUND", f"{what} not found")
    tree = msgspec.to_builtins(found) if isinstance(found, msgspec.Struct) else found
    given = ref.parameters or {}
    missing = sorted(params.placeholders(tree) - given.keys())
    if missing:
        raise _Fail("TEMPLATE_INSUFFICIENT_PARAMETERS", f"{what} needs parameters: {', '.join(missing)}")
    try:
        content = msgspec.convert(params.substitute(tree, given), AppMessage)
    except msgspec.ValidationError as e:
        raise _Fail("BAD_REQUEST", f"{what} cannot be read: {e}") from None
    return _render(content, templates, lists, nested=True)
