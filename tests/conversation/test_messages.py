"""AppMessage and Recipient: decoding (types, required fields, nulls, unknown fields) and the
rules `validate_app_message` / `validate_recipient` add."""

from __future__ import annotations

import copy

import msgspec
import pytest

from openxms.conversation import fields as f
from openxms.conversation import messages as m
from openxms.errors import InvalidRequest


def check(raw, where="message"):
    msg = f.convert(raw, m.AppMessage, where)
    m.validate_app_message(msg, where)
    return msg


def bad(raw, match, where="message"):
    with pytest.raises(InvalidRequest, match=match) as e:
        check(raw, where)
    assert e.value.status == 400
    return e.value


def choice(**kind):
    return kind


TEXT = {"text_message": {"text": "Hello"}}
URL = {"url_message": {"title": "Site", "url": "https://example.com"}}
CALL = {"call_message": {"title": "Call", "phone_number": "+46701234567"}}
LOC = {"location_message": {"title": "Here", "coordinates": {"latitude": 55.6, "longitude": 13.0}}}
CAL = {
    "calendar_message": {
        "title": "Add",
        "event_start": "2026-03-01T10:00:00Z",
        "event_end": "2026-03-01T11:00:00Z",
        "event_title": "Meeting",
        "fallback_url": "https://example.com/cal",
    }
}
SHARE = {"share_location_message": {"title": "Where are you?", "fallback_url": "https://example.com/loc"}}
ALL_CHOICES = [TEXT, URL, CALL, LOC, CAL, SHARE]
CARD = {"title": "T", "description": "D", "media_message": {"url": "https://example.com/a.png"}, "choices": [TEXT, URL]}

VALID = {
    "text": {"text_message": {"text": "Hi"}},
    "media": {
        "media_message": {
            "url": "https://example.com/a.pdf",
            "thumbnail_url": "https://example.com/t.png",
            "filename_override": "report.pdf",
        }
    },
    "location": {
        "location_message": {
            "title": "Office",
            "label": "Main entrance",
            "coordinates": {"latitude": 55.610479, "longitude": 13.002873},
        }
    },
    "location_int_coordinates": {
        "location_message": {"title": "Null Island", "coordinates": {"latitude": 0, "longitude": 0}}
    },
    "choice": {
        "choice_message": {
            "text_message": {"text": "Pick"},
            "choices": ALL_CHOICES,
            "message_properties": {"whatsapp_footer": "f"},
        }
    },
    "choice_postback_any": {
        "choice_message": {
            "choices": [{**TEXT, "postback_data": {"any": ["json", 1]}}, {**URL, "display_mode": "PERSISTENT"}]
        }
    },
    "card": {"card_message": {**CARD, "height": "MEDIUM", "message_properties": {"whatsapp_header": "h"}}},
    "card_empty": {"card_message": {}},
    # Sinch's own request examples give message_properties as a one-item list.
    "card_properties_list": {"card_message": {"title": "T", "message_properties": [{"whatsapp_header": "h"}]}},
    "carousel": {"carousel_message": {"cards": [CARD, {"title": "Second"}], "choices": [TEXT, URL, CALL]}},
    "list_choices": {
        "list_message": {
            "title": "Flavours",
            "description": "Best in town",
            "sections": [
                {
                    "title": "Fruit",
                    "items": [
                        {"choice": {"title": "Strawberry", "postback_data": "s"}},
                        {"choice": {"title": "Blueberry", "media": {"url": "https://x/b.png"}}},
                    ],
                },
                {"items": [{"choice": {"title": "Chocolate"}}]},
            ],
            "message_properties": {"menu": "Menu"},
        }
    },
    "list_products": {
        "list_message": {
            "title": "Products",
            "sections": [
                {
                    "title": "Set",
                    "items": [
                        {
                            "product": {
                                "id": "p1",
                                "marketplace": "FACEBOOK",
                                "quantity": 2,
                                "item_price": 9.5,
                                "currency": "EUR",
                            }
                        }
                    ],
                }
            ],
            "message_properties": {"catalog_id": "cat-1"},
        }
    },
    "contact_info": {
        "contact_info_message": {
            "name": {"full_name": "Ann Smith", "first_name": "Ann"},
            "phone_numbers": [{"phone_number": "+4670", "type": "WORK"}],
            "email_addresses": [{"email_address": "ann@example.com"}],
            "urls": [{"url": "https://ann.example"}],
            "addresses": [{"city": "Malmo", "country_code": "SE"}],
            "organization": {"company": "Acme"},
            "birthday": "1990-02-28",
        }
    },
    "template_omni": {
        "template_message": {
            "omni_template": {
                "template_id": "t1",
                "version": "latest",
                "language_code": "en_US",
                "parameters": {"n": "1"},
            }
        }
    },
    "template_channel": {
        "template_message": {
            "channel_template": {"SMS": {"template_id": "t1"}, "WHATSAPP": {"template_id": "wa", "language_code": "en"}}
        }
    },
    "common_props": {
        "text_message": {"text": "Hi"},
        "explicit_channel_message": {"SMS": "raw", "WHATSAPP": "{}"},
        "explicit_channel_omni_message": {
            "SMS": {"text_message": {"text": "sms"}},
            "RCS": {"template_reference": {"template_id": "t", "version": "1"}},
        },
        "channel_specific_message": {"WHATSAPP": {"message_type": "FLOWS", "message": {"flow_id": "1"}}},
        "agent": {"display_name": "Bot", "type": "BOT", "picture_url": "https://x/p.png"},
        "reply_to": {"message_id": "01K0MSG0000000000000000000"},
    },
}


@pytest.mark.parametrize("name", VALID)
def test_valid_messages(name):
    msg = check(copy.deepcopy(VALID[name]))
    assert isinstance(msg, m.AppMessage)
    assert m.message_type(msg) is not None


def test_encoding_gives_back_the_json_sent():
    for raw in VALID.values():
        assert msgspec.to_builtins(check(copy.deepcopy(raw))) == raw


def test_explicit_nulls_and_unknown_fields_are_accepted():
    raw = {
        "text_message": {"text": "Hi", "future_field": 1},
        "media_message": None,
        "agent": None,
        "explicit_channel_message": None,
        "something_new": {"x": 1},
    }
    msg = check(raw)
    assert msg.text_message.text == "Hi" and msg.media_message is None
    card = check({"card_message": {"title": None, "description": "D", "choices": None, "height": None}})
    assert card.card_message.description == "D"


@pytest.mark.parametrize(
    "raw, match",
    [
        ({}, r"^message: exactly one message type is required .*; got none$"),
        ({"agent": {"display_name": "x"}}, "got none"),
        ({"text_message": {"text": "a"}, "media_message": {"url": "u"}}, "got text_message and media_message"),
        ({"text_message": None, "media_message": None}, "got none"),
        ({"text_message": {}}, r"^message\.text_message\.text is required$"),
        ({"text_message": {"text": ""}}, r"^message\.text_message\.text is required$"),
        ({"text_message": {"text": "   "}}, r"^message\.text_message\.text is required$"),
        ({"text_message": {"text": 5}}, r"^message\.text_message\.text: expected `str`, got `int`$"),
        ({"text_message": "Hi"}, r"^message\.text_message: expected `object \| null`, got `str`$"),
        ({"media_message": {"url": ""}}, r"^message\.media_message\.url is required$"),
        ({"location_message": {"title": "x"}}, r"message\.location_message\.coordinates is required"),
        (
            {"location_message": {"coordinates": {"latitude": 1, "longitude": 2}}},
            r"location_message\.title is required",
        ),
        (
            {"location_message": {"title": "x", "coordinates": {"latitude": 91, "longitude": 0}}},
            "latitude must be between",
        ),
        (
            {"location_message": {"title": "x", "coordinates": {"latitude": 0, "longitude": -180.5}}},
            "longitude must be",
        ),
        ({"location_message": {"title": "x", "coordinates": {"latitude": "1", "longitude": 0}}}, "expected `float`"),
        ({"choice_message": {}}, r"message\.choice_message\.choices is required"),
        ({"choice_message": {"choices": []}}, r"message\.choice_message\.choices must contain at least 1 item$"),
        ({"choice_message": {"choices": [TEXT] * 11}}, r"message\.choice_message\.choices holds 11 items; at most 10"),
        (
            {"choice_message": {"choices": [TEXT], "text_message": {"text": ""}}},
            r"choice_message\.text_message\.text is",
        ),
        (
            {"choice_message": {"choices": [{"postback_data": "x"}]}},
            r"^message\.choice_message\.choices\[0\]: exactly one choice type is required .*got none$",
        ),
        ({"choice_message": {"choices": [{**TEXT, **URL}]}}, r"choices\[0\]: .*got text_message and url_message"),
        (
            {"choice_message": {"choices": [{"url_message": {"title": "t", "url": ""}}]}},
            r"choices\[0\]\.url_message\.url",
        ),
        (
            {"choice_message": {"choices": [{"call_message": {"title": "t"}}]}},
            r"call_message\.phone_number is required",
        ),
        (
            {"choice_message": {"choices": [{"share_location_message": {"title": "t", "fallback_url": " "}}]}},
            r"share_location_message\.fallback_url is required",
        ),
        (
            {"choice_message": {"choices": [{"calendar_message": {**CAL["calendar_message"], "event_start": "soon"}}]}},
            r"calendar_message\.event_start is not an RFC 3339 date-time",
        ),
        (
            {"choice_message": {"choices": [{"calendar_message": {**CAL["calendar_message"], "event_title": ""}}]}},
            r"calendar_message\.event_title is required",
        ),
        ({"choice_message": {"choices": [{**TEXT, "display_mode": "SOMETIMES"}]}}, r"display_mode: invalid enum value"),
        ({"card_message": {"choices": [TEXT] * 11}}, r"message\.card_message\.choices holds 11 items; at most 10"),
        (
            {"card_message": {"choices": [TEXT, TEXT, TEXT, {}]}},
            r"^message\.card_message\.choices\[3\]: exactly one choice type is required",
        ),
        ({"card_message": {"media_message": {}}}, r"card_message\.media_message\.url is required"),
        ({"card_message": {"height": "HUGE"}}, r"card_message\.height: invalid enum value 'HUGE'"),
        ({"carousel_message": {}}, r"carousel_message\.cards is required"),
        ({"carousel_message": {"cards": []}}, r"carousel_message\.cards must contain at least 1 item"),
        ({"carousel_message": {"cards": [CARD] * 11}}, r"carousel_message\.cards holds 11 items; at most 10"),
        (
            {"carousel_message": {"cards": [CARD], "choices": [TEXT] * 4}},
            r"carousel_message\.choices holds 4 items; at most 3",
        ),
        (
            {"carousel_message": {"cards": [CARD], "choices": [{**TEXT, "display_mode": "PERSISTENT"}]}},
            r"carousel_message\.choices\[0\]\.display_mode is not allowed",
        ),
        (
            {"carousel_message": {"cards": [CARD, {"choices": [{}]}]}},
            r"carousel_message\.cards\[1\]\.choices\[0\]: exactly one",
        ),
        ({"list_message": {"sections": [{"items": [{"choice": {"title": "a"}}]}]}}, r"list_message\.title is required"),
        ({"list_message": {"title": "L", "sections": []}}, r"list_message\.sections must contain at least 1 item"),
        (
            {"list_message": {"title": "L", "sections": [{"items": []}]}},
            r"sections\[0\]\.items must contain at least 1",
        ),
        (
            {"list_message": {"title": "L", "sections": [{"items": [{}]}]}},
            r"sections\[0\]\.items\[0\]: exactly one item type is required \(choice, product\); got none",
        ),
        (
            {
                "list_message": {
                    "title": "L",
                    "sections": [{"items": [{"choice": {"title": "a"}, "product": {"id": "1", "marketplace": "F"}}]}],
                }
            },
            "got choice and product",
        ),
        (
            {
                "list_message": {
                    "title": "L",
                    "sections": [
                        {"items": [{"choice": {"title": "a"}}]},
                        {"items": [{"product": {"id": "1", "marketplace": "F"}}]},
                    ],
                    "message_properties": {"catalog_id": "c"},
                }
            },
            r"sections\[1\]\.items\[0\]: all items of a list message must be of the same type",
        ),
        (
            {"list_message": {"title": "L", "sections": [{"items": [{"product": {"id": "1", "marketplace": "F"}}]}]}},
            r"list_message\.message_properties\.catalog_id is required for a product list",
        ),
        (
            {
                "list_message": {
                    "title": "L",
                    "sections": [{"items": [{"product": {"id": "", "marketplace": "F"}}]}],
                    "message_properties": {"catalog_id": "c"},
                }
            },
            r"items\[0\]\.product\.id is required",
        ),
        (
            {"list_message": {"title": "L", "sections": [{"items": [{"choice": {"title": ""}}]}]}},
            r"items\[0\]\.choice\.title is required",
        ),
        ({"contact_info_message": {"name": {"full_name": "A"}}}, r"contact_info_message\.phone_numbers is required"),
        (
            {"contact_info_message": {"name": {"full_name": "A"}, "phone_numbers": []}},
            r"phone_numbers must contain at least 1",
        ),
        (
            {"contact_info_message": {"name": {"full_name": ""}, "phone_numbers": [{"phone_number": "1"}]}},
            r"contact_info_message\.name\.full_name is required",
        ),
        (
            {
                "contact_info_message": {
                    "name": {"full_name": "A"},
                    "phone_numbers": [{"phone_number": "1"}],
                    "email_addresses": [{"email_address": ""}],
                }
            },
            r"email_addresses\[0\]\.email_address is",
        ),
        (
            {
                "contact_info_message": {
                    "name": {"full_name": "A"},
                    "phone_numbers": [{"phone_number": "1"}],
                    "birthday": "1990-2-3",
                }
            },
            "birthday must be a date as YYYY-MM-DD",
        ),
        (
            {
                "contact_info_message": {
                    "name": {"full_name": "A"},
                    "phone_numbers": [{"phone_number": "1"}],
                    "birthday": "1990-02-30",
                }
            },
            "birthday must be a date as YYYY-MM-DD",
        ),
        ({"template_message": {}}, r"template_message: at least one of channel_template and omni_template is required"),
        (
            {"template_message": {"omni_template": {"template_id": "t"}}},
            r"template_message\.omni_template\.version is required",
        ),
        (
            {"template_message": {"omni_template": {"version": "1"}}},
            r"template_message\.omni_template\.template_id is required",
        ),
        (
            {"template_message": {"channel_template": {"SMS": {"template_id": ""}}}},
            r"template_message\.channel_template\.SMS\.template_id is required",
        ),
        (
            {"template_message": {"channel_template": {"FAX": {"template_id": "t"}}}},
            r"template_message\.channel_template: unknown channel 'FAX'",
        ),
        ({**TEXT, "explicit_channel_message": {"sms": "x"}}, r"explicit_channel_message: unknown channel 'sms'"),
        (
            {**TEXT, "explicit_channel_message": {"SMS": {"body": "x"}}},
            r"explicit_channel_message\[\.\.\.\]: expected `str`, got `object`",
        ),
        (
            {**TEXT, "explicit_channel_omni_message": {"FAX": TEXT}},
            r"explicit_channel_omni_message: unknown channel 'FAX'",
        ),
        (
            {**TEXT, "explicit_channel_omni_message": {"SMS": {}}},
            r"explicit_channel_omni_message\.SMS: exactly one message type is required \(text_message, media_message, "
            r"template_reference",
        ),
        ({**TEXT, "explicit_channel_omni_message": {"SMS": {"template_message": {"omni_template": {}}}}}, "got none"),
        (
            {**TEXT, "explicit_channel_omni_message": {"SMS": {"template_reference": {"template_id": "t"}}}},
            r"explicit_channel_omni_message\.SMS\.template_reference\.version is required",
        ),
        (
            {**TEXT, "explicit_channel_omni_message": {"SMS": {"choice_message": {"choices": [TEXT] * 11}}}},
            r"explicit_channel_omni_message\.SMS\.choice_message\.choices holds 11 items",
        ),
        (
            {**TEXT, "channel_specific_message": {"WHATSAPP": {"message_type": "FAX", "message": {}}}},
            "invalid enum value",
        ),
        ({**TEXT, "channel_specific_message": {"WHATSAPP": {"message_type": "FLOWS"}}}, r"message is required"),
        ({**TEXT, "channel_specific_message": {"PIGEON": {"message_type": "FLOWS", "message": {}}}}, "unknown channel"),
        ({**TEXT, "agent": {"type": "ROBOT"}}, r"message\.agent\.type: invalid enum value 'ROBOT'"),
        ({**TEXT, "reply_to": {}}, r"message\.reply_to\.message_id is required"),
        ({**TEXT, "reply_to": {"message_id": ""}}, r"message\.reply_to\.message_id is required"),
    ],
)
def test_invalid_messages(raw, match):
    bad(raw, match)


def test_limits_are_inclusive():
    check({"choice_message": {"choices": [TEXT] * 10}})
    check({"card_message": {"choices": [TEXT] * 10}})
    check({"carousel_message": {"cards": [CARD] * 10, "choices": [TEXT] * 3}})
    check({"location_message": {"title": "x", "coordinates": {"latitude": -90, "longitude": 180}}})


def test_where_prefixes_every_path():
    bad(
        {"text_message": {"text": ""}},
        r"^recipient_and_params\[2\]\.message\.text_message\.text is required$",
        where="recipient_and_params[2].message",
    )


def test_message_type():
    assert m.message_type(check(VALID["card"])) == "card_message"
    assert m.message_type(m.AppMessage()) is None
    override = m.OmniMessageOverride(template_reference=m.TemplateReference("t", "1"))
    assert m.message_type(override) == "template_reference"


# --- Recipient ---------------------------------------------------------------------------------


def recipient(raw, where="recipient"):
    r = f.convert(raw, m.Recipient, where)
    m.validate_recipient(r, where)
    return r


def ids(*pairs):
    return {"identified_by": {"channel_identities": [{"channel": c, "identity": i} for c, i in pairs]}}


def test_valid_recipients():
    assert recipient({"contact_id": "01K0CON0000000000000000000"}).contact_id == "01K0CON0000000000000000000"
    r = recipient(ids(("SMS", "46701234567"), ("WHATSAPP", "+46701234567")))
    assert [c.channel for c in r.identified_by.channel_identities] == ["SMS", "WHATSAPP"]
    r = recipient(
        {
            "contact_id": None,
            "identified_by": {
                "channel_identities": [
                    {"channel": "MESSENGER", "identity": "psid", "app_id": "01K0APP0000000000000000000", "extra": 1}
                ]
            },
        }
    )
    assert r.identified_by.channel_identities[0].app_id == "01K0APP0000000000000000000"
    assert (
        len(
            recipient(ids(*[("SMS", str(i)) for i in range(m.MAX_CHANNEL_IDENTITIES)])).identified_by.channel_identities
        )
        == 20
    )


@pytest.mark.parametrize(
    "raw, match",
    [
        ({}, r"^recipient must have exactly one of contact_id and identified_by$"),
        ({"contact_id": None, "identified_by": None}, "exactly one of contact_id and identified_by"),
        ({"contact_id": "c", **ids(("SMS", "1"))}, "exactly one of contact_id and identified_by"),
        ({"contact_id": ""}, r"^recipient\.contact_id is required$"),
        ({"contact_id": 5}, r"recipient\.contact_id: expected `str \| null`, got `int`"),
        ({"identified_by": {}}, r"recipient\.identified_by\.channel_identities is required"),
        ({"identified_by": {"channel_identities": []}}, r"channel_identities must contain at least 1 item"),
        (ids(*[("SMS", str(i)) for i in range(21)]), r"channel_identities holds 21 items; at most 20"),
        (ids(*[("SMS", str(i)) for i in range(1001)]), r"channel_identities holds 1001 items; at most 20"),
        (
            ids(("SMS", "1"), ("FAX", "2")),
            r"^recipient\.identified_by\.channel_identities\[1\]\.channel: unknown channel 'FAX'$",
        ),
        (ids(("sms", "1")), r"unknown channel 'sms'"),
        (ids(("SMS", "")), r"channel_identities\[0\]\.identity is required"),
        (
            {"identified_by": {"channel_identities": [{"channel": "SMS"}]}},
            r"channel_identities\[0\]\.identity is required",
        ),
        (
            {"identified_by": {"channel_identities": [{"identity": "1"}]}},
            r"channel_identities\[0\]\.channel is required",
        ),
    ],
)
def test_invalid_recipients(raw, match):
    with pytest.raises(InvalidRequest, match=match):
        recipient(raw)


@pytest.mark.parametrize(
    "message",
    [
        {"text_message": {"text": "hi"}},
        {"text_message": {"text": "   "}},
        {"text_message": {"text": ""}},
        {"text_message": {"text": "hi"}, "agent": {"display_name": "Bot"}},
        {"text_message": {"text": "hi"}, "media_message": {"url": "https://x.test/a.png"}},
        {"text_message": {"text": "hi"}, "explicit_channel_message": {"CARRIER_PIGEON": "x"}},
        {"text_message": {"text": "hi"}, "reply_to": {"message_id": ""}},
        {"media_message": {"url": "https://x.test/a.png"}},
    ],
)
def test_the_text_message_shortcut_agrees_with_the_full_check(message):
    msg = msgspec.convert(message, m.AppMessage)
    full = _outcome(lambda: m._check(msg, "message"))
    assert _outcome(lambda: m.validate_app_message(msg)) == full


@pytest.mark.parametrize(
    "recipient",
    [
        {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+1201"}]}},
        {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": " "}]}},
        {"identified_by": {"channel_identities": [{"channel": "PIGEON", "identity": "+1201"}]}},
        {"identified_by": {"channel_identities": []}},
        {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": f"+1{i}"} for i in range(21)]}},
        {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+1", "app_id": "A"}]}},
        {"contact_id": "C1"},
        {"contact_id": "C1", "identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+1"}]}},
        {},
    ],
)
def test_the_recipient_shortcut_agrees_with_the_full_check(recipient):
    r = msgspec.convert(recipient, m.Recipient)
    assert _outcome(lambda: m.validate_recipient(r)) == _outcome(lambda: m._check(r, "recipient"))


def _outcome(fn) -> str | None:
    try:
        fn()
    except InvalidRequest as e:
        return str(e)
    return None
