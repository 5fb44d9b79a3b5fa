"""AppMessage -> SMS text: each type's layout, content precedence, templates, failures."""

from __future__ import annotations

import json

import pytest

from openxms.conversation import fields as f
from openxms.conversation import messages as m
from openxms.conversation.params import substitute
from openxms.conversation.render import UnknownVersion, explicit_body, render_sms
from openxms.conversation.types import Reason


def msg(raw):
    out = f.convert(raw, m.AppMessage, "message")
    m.validate_app_message(out)
    return out


def sms(raw, templates=None, **kw):
    return render_sms(msg(raw), templates, **kw)


LOC = {"title": "Office", "coordinates": {"latitude": 55.610479, "longitude": 13.002873}}
MAP = "https://maps.google.com/?q=55.610479,13.002873"
CHOICES = [
    {"text_message": {"text": "Yes"}, "postback_data": "y"},
    {"url_message": {"title": "Site", "url": "https://example.com"}},
    {"call_message": {"title": "Call us", "phone_number": "+46732000000"}},
    {"location_message": LOC},
    {
        "calendar_message": {
            "title": "Add to calendar",
            "event_start": "2026-03-01T10:00:00Z",
            "event_end": "2026-03-01T11:00:00Z",
            "event_title": "Meeting",
            "fallback_url": "https://example.com/cal.ics",
        }
    },
    {"share_location_message": {"title": "Share your location", "fallback_url": "https://example.com/where"}},
]
CHOICE_LINES = [
    "Yes",
    "Site: https://example.com",
    "Call us: +46732000000",
    f"Office: {MAP}",
    "Add to calendar: https://example.com/cal.ics",
    "Share your location: https://example.com/where",
]


def test_text():
    assert sms({"text_message": {"text": "Hello\nthere ✓"}}) == "Hello\nthere ✓"


def test_media():
    assert sms({"media_message": {"url": "https://example.com/a.pdf"}}) == "https://example.com/a.pdf"
    assert (
        sms(
            {
                "media_message": {
                    "url": "https://example.com/a.pdf",
                    "filename_override": "report.pdf",
                    "thumbnail_url": "https://example.com/t.png",
                }
            }
        )
        == "report.pdf: https://example.com/a.pdf"
    )


def test_location():
    assert sms({"location_message": LOC}) == f"Office\n{MAP}"
    assert sms({"location_message": {**LOC, "label": "Main entrance"}}) == f"Office\nMain entrance\n{MAP}"


@pytest.mark.parametrize(
    "lat, long, link",
    [
        (0, 0, "https://maps.google.com/?q=0,0"),
        (-33.8688, 151.2093, "https://maps.google.com/?q=-33.8688,151.2093"),
        (1e-05, -0.0, "https://maps.google.com/?q=0.00001,0"),
        (90, -180, "https://maps.google.com/?q=90,-180"),
    ],
)
def test_map_link_numbers(lat, long, link):
    raw = {"location_message": {"title": "X", "coordinates": {"latitude": lat, "longitude": long}}}
    assert sms(raw) == f"X\n{link}"


def test_choice():
    assert sms({"choice_message": {"text_message": {"text": "Pick one"}, "choices": CHOICES}}) == "\n".join(
        ["Pick one", *CHOICE_LINES]
    )
    assert sms({"choice_message": {"choices": CHOICES[:2]}}) == "Yes\nSite: https://example.com"


def test_card():
    card = {
        "title": "Sign up",
        "description": "Weekly deals",
        "media_message": {"url": "https://example.com/a.png"},
        "choices": CHOICES[:2],
    }
    assert (
        sms({"card_message": card})
        == "Sign up\nWeekly deals\nhttps://example.com/a.png\nYes\nSite: https://example.com"
    )
    assert sms({"card_message": {"description": "Only this"}}) == "Only this"
    named = {"card_message": {"title": "T", "media_message": {"url": "u", "filename_override": "f.png"}}}
    assert sms(named) == "T\nf.png: u"


def test_carousel():
    raw = {
        "carousel_message": {
            "cards": [
                {"title": "One", "description": "First", "choices": [CHOICES[0]]},
                {"title": "Two", "media_message": {"url": "https://example.com/2.png"}},
                {"title": "Three", "choices": [CHOICES[2]]},
            ],
            "choices": [CHOICES[1]],
        }
    }
    assert sms(raw) == (
        "One\nFirst\nYes\n\nTwo\nhttps://example.com/2.png\n\nThree\nCall us: +46732000000\n\nSite: https://example.com"
    )
    assert sms({"carousel_message": {"cards": [{"title": "A"}, {"title": "B"}]}}) == "A\n\nB"
    assert sms({"carousel_message": {"cards": [{}], "choices": [CHOICES[0]]}}) == "Yes"


def test_list():
    raw = {
        "list_message": {
            "title": "Choose a flavour",
            "description": "Best in town",
            "sections": [
                {
                    "title": "Fruit",
                    "items": [
                        {"choice": {"title": "Strawberry", "description": "red"}},
                        {"choice": {"title": "Blueberry"}},
                    ],
                },
                {"items": [{"choice": {"title": "Chocolate"}}]},
            ],
        }
    }
    assert sms(raw) == "Choose a flavour\nBest in town\n\nFruit\nStrawberry\nBlueberry\n\nChocolate"
    products = {
        "list_message": {
            "title": "Products",
            "sections": [
                {
                    "title": "Set",
                    "items": [
                        {"product": {"id": "p1", "marketplace": "FACEBOOK"}},
                        {"product": {"id": "p2", "marketplace": "FACEBOOK"}},
                    ],
                }
            ],
            "message_properties": {"catalog_id": "c"},
        }
    }
    assert sms(products) == "Products\n\nSet\np1\np2"
    assert sms(raw, lists=False) == Reason(
        "UNSUPPORTED_OPERATION", "list messages are not supported on the SMS channel"
    )


def test_contact_info():
    raw = {
        "contact_info_message": {
            "name": {"full_name": "Ann Smith", "first_name": "Ann"},
            "phone_numbers": [{"phone_number": "+46701234567", "type": "WORK"}, {"phone_number": "+46707654321"}],
            "email_addresses": [{"email_address": "ann@example.com"}],
            "organization": {"company": "Acme"},
        }
    }
    assert sms(raw) == "Ann Smith\n+46701234567\n+46707654321\nann@example.com"
    minimal = {"contact_info_message": {"name": {"full_name": "Bo"}, "phone_numbers": [{"phone_number": "1"}]}}
    assert sms(minimal) == "Bo\n1"


# --- precedence --------------------------------------------------------------------------------


def test_explicit_channel_message_wins_over_the_type():
    assert sms({"text_message": {"text": "generic"}, "explicit_channel_message": {"SMS": "raw sms"}}) == "raw sms"
    assert (
        sms(
            {
                "card_message": {"title": "generic"},
                "explicit_channel_message": {"SMS": json.dumps({"body": "from body", "from": "x"})},
            }
        )
        == "from body"
    )
    assert sms({"text_message": {"text": "generic"}, "explicit_channel_message": {"WHATSAPP": "wa"}}) == "generic"


@pytest.mark.parametrize(
    "payload, text",
    [
        ('{"body": "B"}', "B"),
        ('  {"body": "B"}', "B"),
        ('{"body": 5}', '{"body": 5}'),
        ('{"text": "x"}', '{"text": "x"}'),
        ('{"body": "B"', '{"body": "B"'),
        ('["body"]', '["body"]'),
        ("plain", "plain"),
        ('"body"', '"body"'),
    ],
)
def test_explicit_body(payload, text):
    assert explicit_body(payload) == text


def test_explicit_channel_omni_message_wins_over_both():
    raw = {
        "text_message": {"text": "generic"},
        "explicit_channel_message": {"SMS": "raw"},
        "explicit_channel_omni_message": {"SMS": {"location_message": LOC}, "RCS": {"text_message": {"text": "r"}}},
    }
    assert sms(raw) == f"Office\n{MAP}"
    raw["explicit_channel_omni_message"].pop("SMS")
    assert sms(raw) == "raw"


def test_channel_specific_message_never_applies():
    assert (
        sms(
            {
                "text_message": {"text": "generic"},
                "channel_specific_message": {"WHATSAPP": {"message_type": "FLOWS", "message": {"flow_id": "1"}}},
            }
        )
        == "generic"
    )


def test_parameters_inside_explicit_channel_message_strings():
    raw = {
        "text_message": {"text": "Hi ${name}"},
        "explicit_channel_message": {"SMS": json.dumps({"body": "SMS for ${name}: ${code}"})},
    }
    assert render_sms(substitute(raw, {"name": "Ann", "code": "123"})) == "SMS for Ann: 123"
    raw = {"text_message": {"text": "Hi ${name}"}, "explicit_channel_message": {"SMS": "Raw ${name} ${missing}"}}
    assert render_sms(substitute(raw, {"name": "Bo"})) == "Raw Bo ${missing}"


def test_a_plain_dict_is_accepted():
    assert render_sms({"text_message": {"text": "Hi"}, "media_message": None}) == "Hi"
    assert render_sms({"text_message": {"text": 5}}).code == "BAD_REQUEST"


# --- failures ----------------------------------------------------------------------------------


def test_nothing_to_send_is_a_bad_request():
    assert sms({"card_message": {}}) == Reason("BAD_REQUEST", "the message renders to an empty SMS")
    assert sms({"text_message": {"text": "x"}, "explicit_channel_message": {"SMS": ""}}).code == "BAD_REQUEST"
    assert render_sms(m.AppMessage()).code == "BAD_REQUEST"
    two = m.AppMessage(text_message=m.TextMessage("a"), media_message=m.MediaMessage("u"))
    assert render_sms(two) == Reason("BAD_REQUEST", "the message has no single message type")


# --- templates ---------------------------------------------------------------------------------


class Store:
    """A template store: (id, version, language) -> stored AppMessage JSON."""

    def __init__(self, templates):
        self.templates, self.calls = templates, []

    def __call__(self, template_id, version, language_code):
        self.calls.append((template_id, version, language_code))
        versions = {k: v for k, v in self.templates.items() if k[0] == template_id}
        if not versions:
            return None
        key = (template_id, version, language_code)
        if key not in versions:
            raise UnknownVersion(key)
        return versions[key]


STORE = {
    ("welcome", "1", "en_US"): {"text_message": {"text": "Welcome ${name}, your code is ${code}"}},
    ("welcome", "2", "en_US"): {
        "card_message": {
            "title": "Welcome ${name}",
            "choices": [{"url_message": {"title": "Start", "url": "https://example.com/${code}"}}],
        }
    },
    ("sms-only", "latest", None): {
        "text_message": {"text": "SMS template"},
        "explicit_channel_message": {"SMS": "explicit ${name}"},
    },
    ("nested", "1", None): {"template_message": {"omni_template": {"template_id": "welcome", "version": "1"}}},
    ("struct", "1", None): m.AppMessage(text_message=m.TextMessage("from a Struct ${x}")),
    ("broken", "1", None): {"text_message": {"text": 5}},
}


def omni(template_id, version, language=None, **parameters):
    ref = {"template_id": template_id, "version": version, "parameters": parameters}
    if language:
        ref["language_code"] = language
    return {"template_message": {"omni_template": ref}}


def test_omni_template():
    store = Store(STORE)
    assert sms(omni("welcome", "1", "en_US", name="Ann", code="42"), store) == "Welcome Ann, your code is 42"
    assert store.calls == [("welcome", "1", "en_US")]
    assert sms(omni("welcome", "2", "en_US", name="Bo", code="7"), store) == "Welcome Bo\nStart: https://example.com/7"
    assert sms(omni("struct", "1", x="!"), store) == "from a Struct !"


def test_template_content_precedence_applies():
    assert sms(omni("sms-only", "latest", name="Cy"), Store(STORE)) == "explicit Cy"


def test_channel_template_sms_wins_over_omni():
    raw = {
        "template_message": {
            "channel_template": {
                "SMS": {"template_id": "sms-only", "version": "latest", "parameters": {"name": "Di"}},
                "WHATSAPP": {"template_id": "wa"},
            },
            "omni_template": {"template_id": "welcome", "version": "1"},
        }
    }
    assert sms(raw, Store(STORE)) == "explicit Di"
    raw["template_message"]["channel_template"].pop("SMS")
    raw["template_message"]["omni_template"].update(language_code="en_US", parameters={"name": "E", "code": "1"})
    assert sms(raw, Store(STORE)) == "Welcome E, your code is 1"


def test_template_reference_override():
    raw = {
        "text_message": {"text": "generic"},
        "explicit_channel_omni_message": {
            "SMS": {
                "template_reference": {
                    "template_id": "welcome",
                    "version": "1",
                    "language_code": "en_US",
                    "parameters": {"name": "F", "code": "2"},
                }
            }
        },
    }
    assert sms(raw, Store(STORE)) == "Welcome F, your code is 2"


@pytest.mark.parametrize(
    "raw, code, text",
    [
        (omni("nope", "1"), "TEMPLATE_NOT_FOUND", "template 'nope' not found"),
        (
            omni("welcome", "9", "en_US"),
            "TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION",
            "template 'welcome' has no version '9' in language 'en_US'",
        ),
        (omni("welcome", "1", "sv_SE"), "TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION", "in language 'sv_SE'"),
        (
            omni("welcome", "1", "en_US", name="Ann"),
            "TEMPLATE_INSUFFICIENT_PARAMETERS",
            "template 'welcome' needs parameters: code",
        ),
        (omni("welcome", "1", "en_US"), "TEMPLATE_INSUFFICIENT_PARAMETERS", "needs parameters: code, name"),
        (omni("nested", "1"), "BAD_REQUEST", "a template's content cannot itself be a template"),
        (omni("broken", "1"), "BAD_REQUEST", "template 'broken' cannot be read"),
        (
            {"template_message": {"channel_template": {"WHATSAPP": {"template_id": "wa"}}}},
            "TEMPLATE_NOT_FOUND",
            "no SMS channel_template and no omni_template",
        ),
    ],
)
def test_template_failures(raw, code, text):
    out = sms(raw, Store(STORE))
    assert isinstance(out, Reason) and out.code == code and text in out.description
    assert out.sub_code == "UNSPECIFIED_SUB_CODE"


def test_no_template_store():
    out = sms(omni("welcome", "1"))
    assert out.code == "TEMPLATE_NOT_FOUND" and "no template store" in out.description


def test_extra_template_parameters_are_fine():
    raw = omni("welcome", "1", "en_US", name="G", code="3", unused="x")
    assert sms(raw, Store(STORE)) == "Welcome G, your code is 3"
