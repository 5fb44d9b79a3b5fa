"""The AppMessage (what an app sends) and the Recipient, as msgspec Structs, with their rules.

Shapes as in the `AppMessage`, `Choice`, `ListMessageField`, `ContactInfoMessageField` and
`Recipient` schemas of Sinch's Conversation API reference
(https://developers.sinch.com/docs/conversation/api-reference/conversation/tag/Messages/).
Decoding (`fields.convert(raw, AppMessage, "message")`) takes the JSON types and the fields
Sinch marks required; an explicit `null` is the same as an absent optional field and unknown
fields are ignored (the SDKs add fields over time). `validate_app_message` and
`validate_recipient` then check what the types cannot say, and raise `InvalidRequest` naming
the field (`message.card_message.choices[3]: exactly one choice type is required`):

* an AppMessage has exactly one message type, an override (`explicit_channel_omni_message`)
  and a choice exactly one kind;
* a required string must not be empty and a required list must have an item: the API is
  protobuf behind a JSON gateway, where an empty string or list is indistinguishable from
  an absent one (https://protobuf.dev/programming-guides/proto3/#default);
* the documented limits: at most 10 choices in a choice or card message, at most 10 cards
  and 3 outer choices (without `display_mode`) in a carousel; all items of a list of one
  kind, and a product list needs `message_properties.catalog_id`;
* map keys are channels (`ConversationChannel`); coordinates are on the globe; calendar
  times are RFC 3339; a birthday is `YYYY-MM-DD`.

Sinch documents no limit on a recipient's channel identities; we take at most 20 (the
channel enum has 13 values, so a longer list can only repeat channels) to keep one send
from fanning out without bound.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import msgspec

from ..errors import InvalidRequest
from ..sms import dates
from .types import CHANNELS, AgentType, CardHeight, ChannelSpecificMessageType, DisplayMode

MAX_CHOICES = 10
MAX_CARDS = 10
MAX_CAROUSEL_CHOICES = 3
MAX_CHANNEL_IDENTITIES = 20


class _S(msgspec.Struct, omit_defaults=True):
    """omit_defaults: encoded again, a message is the JSON the client sent (less unknown fields)."""


class TextMessage(_S):
    text: str


class MediaMessage(_S):  # MediaProperties
    url: str
    thumbnail_url: str | None = None
    filename_override: str | None = None


class Coordinates(_S):
    latitude: float
    longitude: float


class LocationMessage(_S):
    coordinates: Coordinates
    title: str
    label: str | None = None


class UrlMessage(_S):
    title: str
    url: str


class CallMessage(_S):
    phone_number: str
    title: str


class CalendarMessage(_S):
    title: str
    event_start: str
    event_end: str
    event_title: str
    fallback_url: str
    event_description: str | None = None


class ShareLocationMessage(_S):
    title: str
    fallback_url: str


class Choice(_S):
    text_message: TextMessage | None = None
    url_message: UrlMessage | None = None
    call_message: CallMessage | None = None
    location_message: LocationMessage | None = None
    calendar_message: CalendarMessage | None = None
    share_location_message: ShareLocationMessage | None = None
    postback_data: Any = None  # untyped in Sinch's schema
    display_mode: DisplayMode | None = None


# `message_properties` is an object in Sinch's schemas but a one-item list in its own request
# examples (CardMessage, ChoiceMessage); both are accepted and neither matters to SMS.
Properties = dict[str, Any] | list[dict[str, Any]]


class ChoiceMessage(_S):
    choices: list[Choice]
    text_message: TextMessage | None = None
    message_properties: Properties | None = None


class CardMessage(_S):
    title: str | None = None
    description: str | None = None
    media_message: MediaMessage | None = None
    height: CardHeight | None = None
    choices: list[Choice] | None = None
    message_properties: Properties | None = None


class CarouselMessage(_S):
    cards: list[CardMessage]
    choices: list[Choice] | None = None


class ChoiceItem(_S):
    title: str
    description: str | None = None
    media: MediaMessage | None = None
    postback_data: str | None = None


class ProductItem(_S):
    id: str
    marketplace: str
    quantity: int | None = None
    item_price: float | None = None
    currency: str | None = None


class ListItem(_S):
    choice: ChoiceItem | None = None
    product: ProductItem | None = None


class ListSection(_S):
    items: list[ListItem]
    title: str | None = None


class ListMessage(_S):
    title: str
    sections: list[ListSection]
    description: str | None = None
    media: MediaMessage | None = None
    message_properties: dict[str, Any] | None = None  # catalog_id, menu, whatsapp_header


class NameInfo(_S):
    full_name: str
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    prefix: str | None = None
    suffix: str | None = None


class PhoneNumberInfo(_S):
    phone_number: str
    type: str | None = None


class EmailInfo(_S):
    email_address: str
    type: str | None = None


class UrlInfo(_S):
    url: str
    type: str | None = None


class ContactInfoMessage(_S):
    name: NameInfo
    phone_numbers: list[PhoneNumberInfo]
    addresses: list[dict[str, str]] | None = None  # city, country, state, zip, type, country_code
    email_addresses: list[EmailInfo] | None = None
    organization: dict[str, str] | None = None  # company, department, title
    urls: list[UrlInfo] | None = None
    birthday: str | None = None


class TemplateReference(_S):  # as omni_template or template_reference it needs `version` (or "latest")
    template_id: str
    version: str | None = None
    language_code: str | None = None
    parameters: dict[str, str] | None = None


class TemplateMessage(_S):
    channel_template: dict[str, TemplateReference] | None = None
    omni_template: TemplateReference | None = None


class ChannelSpecificMessage(_S):  # WhatsApp, KakaoTalk and LINE only: kept as given
    message_type: ChannelSpecificMessageType
    message: dict[str, Any]


class Agent(_S):
    display_name: str | None = None
    type: AgentType | None = None
    picture_url: str | None = None


class ReplyTo(_S):
    message_id: str


class OmniMessageOverride(_S):  # one channel's content in explicit_channel_omni_message
    text_message: TextMessage | None = None
    media_message: MediaMessage | None = None
    template_reference: TemplateReference | None = None
    choice_message: ChoiceMessage | None = None
    card_message: CardMessage | None = None
    carousel_message: CarouselMessage | None = None
    location_message: LocationMessage | None = None
    contact_info_message: ContactInfoMessage | None = None
    list_message: ListMessage | None = None


class AppMessage(_S):
    text_message: TextMessage | None = None
    media_message: MediaMessage | None = None
    template_message: TemplateMessage | None = None
    card_message: CardMessage | None = None
    carousel_message: CarouselMessage | None = None
    choice_message: ChoiceMessage | None = None
    location_message: LocationMessage | None = None
    list_message: ListMessage | None = None
    contact_info_message: ContactInfoMessage | None = None
    explicit_channel_message: dict[str, str] | None = None
    explicit_channel_omni_message: dict[str, OmniMessageOverride] | None = None
    channel_specific_message: dict[str, ChannelSpecificMessage] | None = None
    agent: Agent | None = None
    reply_to: ReplyTo | None = None


class ChannelRecipientIdentity(_S):
    channel: str
    identity: str
    app_id: str | None = None


class IdentifiedBy(_S):
    channel_identities: list[ChannelRecipientIdentity]


class Recipient(_S):
    contact_id: str | None = None
    identified_by: IdentifiedBy | None = None


MESSAGE_TYPES = (
    "text_message",
    "media_message",
    "template_message",
    "card_message",
    "carousel_message",
    "choice_message",
    "location_message",
    "list_message",
    "contact_info_message",
)
OVERRIDE_TYPES = (
    "text_message",
    "media_message",
    "template_reference",
    "choice_message",
    "card_message",
    "carousel_message",
    "location_message",
    "contact_info_message",
    "list_message",
)
CHOICE_TYPES = (
    "text_message",
    "url_message",
    "call_message",
    "location_message",
    "calendar_message",
    "share_location_message",
)


def message_type(msg: AppMessage | OmniMessageOverride) -> str | None:
    """The name of the one message type set (`text_message`...), or None if not exactly one."""
    names = MESSAGE_TYPES if isinstance(msg, AppMessage) else OVERRIDE_TYPES
    present = [n for n in names if getattr(msg, n) is not None]
    return present[0] if len(present) == 1 else None


def validate_app_message(msg: AppMessage, where: str = "message") -> None:
    """The rules above for a decoded AppMessage; InvalidRequest on the first problem."""
    # The usual message, a text message and nothing else, is accepted without the general
    # walk (a third of a send's validation); anything else, valid or not, takes the walk,
    # which also names the problem.
    t = msg.text_message
    if t is not None and msg == AppMessage(text_message=t) and isinstance(t.text, str) and t.text.strip():
        return
    _check(msg, where)


def validate_recipient(recipient: Recipient, where: str = "recipient") -> None:
    """Exactly one of `contact_id` and `identified_by`; 1..20 channel identities, each with a
    known channel and an identity. Whether an identity is routable on its channel is the
    delivery's business (a FAILED receipt), not the request's."""
    by = recipient.identified_by
    if recipient.contact_id is None and by is not None:  # the usual form, accepted without the walk
        ids = by.channel_identities
        if 0 < len(ids) <= MAX_CHANNEL_IDENTITIES and all(
            i.channel in CHANNELS and isinstance(i.identity, str) and i.identity.strip() for i in ids
        ):
            return
    _check(recipient, where)


# Required strings, which must not be empty (module docstring), by shape.
_NON_EMPTY: dict[type, tuple[str, ...]] = {
    TextMessage: ("text",),
    MediaMessage: ("url",),
    LocationMessage: ("title",),
    UrlMessage: ("title", "url"),
    CallMessage: ("title", "phone_number"),
    CalendarMessage: ("title", "event_title", "fallback_url"),
    ShareLocationMessage: ("title", "fallback_url"),
    ChoiceItem: ("title",),
    ProductItem: ("id", "marketplace"),
    ListMessage: ("title",),
    NameInfo: ("full_name",),
    PhoneNumberInfo: ("phone_number",),
    EmailInfo: ("email_address",),
    UrlInfo: ("url",),
    TemplateReference: ("template_id",),
    ReplyTo: ("message_id",),
    ChannelRecipientIdentity: ("identity",),
}


_SCALARS = frozenset({str, int, float, bool})


def _check(obj: msgspec.Struct, where: str) -> None:
    """`obj`'s own rules (non-empty strings, then its shape's hook), then every Struct below it,
    each with its path."""
    for name in _NON_EMPTY.get(type(obj), ()):
        _required(getattr(obj, name), f"{where}.{name}")
    hook = _HOOKS.get(type(obj))
    if hook is not None:
        hook(obj, where)
    for name in obj.__struct_fields__:
        value = getattr(obj, name)
        if value is None or value.__class__ in _SCALARS:  # most fields: the check is per request
            continue
        if isinstance(value, msgspec.Struct):
            _check(value, f"{where}.{name}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, msgspec.Struct):
                    _check(item, f"{where}.{name}[{i}]")
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, msgspec.Struct):
                    _check(item, f"{where}.{name}.{key}")


def _required(value: str | None, where: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{where} is required")


def _one_of(obj: Any, names: tuple[str, ...], what: str, where: str) -> str:
    present = [n for n in names if getattr(obj, n) is not None]
    if len(present) == 1:
        return present[0]
    got = "none" if not present else " and ".join(present)
    raise InvalidRequest(f"{where}: exactly one {what} is required ({', '.join(names)}); got {got}")


def _count(items: list | None, where: str, low: int, high: int | None = None) -> None:
    n = len(items or ())
    if n < low:
        raise InvalidRequest(f"{where} must contain at least {low} item{'s' if low > 1 else ''}")
    if high is not None and n > high:
        raise InvalidRequest(f"{where} holds {n} items; at most {high}")


def _channel_keys(mapping: dict[str, Any] | None, where: str) -> None:
    for key in mapping or ():
        if key not in CHANNELS:
            raise InvalidRequest(f"{where}: unknown channel {key!r}")


def _app_message(m: AppMessage, where: str) -> None:
    _one_of(m, MESSAGE_TYPES, "message type", where)
    for name in ("explicit_channel_message", "explicit_channel_omni_message", "channel_specific_message"):
        _channel_keys(getattr(m, name), f"{where}.{name}")


def _override(o: OmniMessageOverride, where: str) -> None:
    if _one_of(o, OVERRIDE_TYPES, "message type", where) == "template_reference":
        assert o.template_reference is not None  # the one type present
        _required(o.template_reference.version, f"{where}.template_reference.version")


def _choice(c: Choice, where: str) -> None:
    _one_of(c, CHOICE_TYPES, "choice type", where)


def _location(loc: LocationMessage, where: str) -> None:
    if not -90.0 <= loc.coordinates.latitude <= 90.0:
        raise InvalidRequest(f"{where}.coordinates.latitude must be between -90 and 90")
    if not -180.0 <= loc.coordinates.longitude <= 180.0:
        raise InvalidRequest(f"{where}.coordinates.longitude must be between -180 and 180")


def _calendar(cal: CalendarMessage, where: str) -> None:
    for name in ("event_start", "event_end"):
        value = getattr(cal, name)
        try:
            dates.parse(value)
        except (ValueError, OverflowError):
            raise InvalidRequest(f"{where}.{name} is not an RFC 3339 date-time: {value!r}") from None


def _carousel(c: CarouselMessage, where: str) -> None:
    _count(c.cards, f"{where}.cards", 1, MAX_CARDS)
    _count(c.choices, f"{where}.choices", 0, MAX_CAROUSEL_CHOICES)
    for i, choice in enumerate(c.choices or ()):
        if choice.display_mode is not None:  # Sinch's DisplayMode: "rejected outright" here
            raise InvalidRequest(f"{where}.choices[{i}].display_mode is not allowed on a carousel's outer choices")


def _list(lm: ListMessage, where: str) -> None:
    _count(lm.sections, f"{where}.sections", 1)
    kinds = set()
    for i, section in enumerate(lm.sections):
        _count(section.items, f"{where}.sections[{i}].items", 1)
        for j, item in enumerate(section.items):
            path = f"{where}.sections[{i}].items[{j}]"
            kinds.add(_one_of(item, ("choice", "product"), "item type", path))
            if len(kinds) > 1:
                raise InvalidRequest(f"{path}: all items of a list message must be of the same type")
    if kinds == {"product"}:
        catalog = (lm.message_properties or {}).get("catalog_id")
        if not isinstance(catalog, str) or not catalog.strip():
            raise InvalidRequest(f"{where}.message_properties.catalog_id is required for a product list")


def _contact_info(ci: ContactInfoMessage, where: str) -> None:
    _count(ci.phone_numbers, f"{where}.phone_numbers", 1)
    if ci.birthday:
        try:
            if len(ci.birthday) != 10:
                raise ValueError
            date.fromisoformat(ci.birthday)
        except ValueError:
            raise InvalidRequest(f"{where}.birthday must be a date as YYYY-MM-DD, got {ci.birthday!r}") from None


def _template_message(tm: TemplateMessage, where: str) -> None:
    if tm.channel_template is None and tm.omni_template is None:
        raise InvalidRequest(f"{where}: at least one of channel_template and omni_template is required")
    if tm.omni_template is not None:
        _required(tm.omni_template.template_id, f"{where}.omni_template.template_id")
        _required(tm.omni_template.version, f"{where}.omni_template.version")
    _channel_keys(tm.channel_template, f"{where}.channel_template")


def _recipient(r: Recipient, where: str) -> None:
    if (r.contact_id is None) == (r.identified_by is None):
        raise InvalidRequest(f"{where} must have exactly one of contact_id and identified_by")
    if r.contact_id is not None:
        _required(r.contact_id, f"{where}.contact_id")
    else:
        assert r.identified_by is not None  # exactly one of the two: checked above
        _count(
            r.identified_by.channel_identities, f"{where}.identified_by.channel_identities", 1, MAX_CHANNEL_IDENTITIES
        )


def _identity(ci: ChannelRecipientIdentity, where: str) -> None:
    if ci.channel not in CHANNELS:
        raise InvalidRequest(f"{where}.channel: unknown channel {ci.channel!r}")


_HOOKS: dict[type, Callable[[Any, str], None]] = {
    AppMessage: _app_message,
    OmniMessageOverride: _override,
    Choice: _choice,
    ChoiceMessage: lambda m, w: _count(m.choices, f"{w}.choices", 1, MAX_CHOICES),
    CardMessage: lambda m, w: _count(m.choices, f"{w}.choices", 0, MAX_CHOICES),
    CarouselMessage: _carousel,
    LocationMessage: _location,
    CalendarMessage: _calendar,
    ListMessage: _list,
    ContactInfoMessage: _contact_info,
    TemplateMessage: _template_message,
    Recipient: _recipient,
    ChannelRecipientIdentity: _identity,
}
