"""Contacts: create, update (update_mask), merge, the list filter, and the Python SDK's view."""

import json

import msgspec
import pytest

from openxms.conversation import contacts as c
from openxms.conversation import query as q
from openxms.conversation.fields import decode_object
from openxms.errors import InvalidRequest

CID = "01K0CON0000000000000000000"
SMS = {"channel": "SMS", "identity": "46701234567"}


def create(**body):
    data = {"channel_identities": [SMS], "language": "EN_US", **body}
    return c.new_contact(c.decode_contact_create(json.dumps(data).encode()), CID)


def as_json(x):
    return json.loads(msgspec.json.encode(x))


def test_python_sdk_create_body():
    raw = (
        b'{"channel_identities":[{"channel":"SMS","identity":"46701234567"}],"language":"EN_US",'
        b'"display_name":"Ann","metadata":"m"}'
    )
    assert as_json(c.new_contact(c.decode_contact_create(raw), CID)) == {
        "id": CID,
        "channel_identities": [{"channel": "SMS", "identity": "46701234567", "app_id": ""}],
        "channel_priority": [],
        "display_name": "Ann",
        "email": "",
        "external_id": "",
        "metadata": "m",
        "language": "EN_US",
    }


def test_defaults_nulls_and_unknown_fields():
    x = create(display_name=None, email=None, something_new=1, id="01XXXXXXXXXXXXXXXXXXXXXXXX")
    assert x.id == CID and x.display_name == "Unknown" and x.email == ""
    assert create(display_name="  ").display_name == "Unknown"


@pytest.mark.parametrize("identity", ["+46701234567", "0046701234567", "+46 70-123 45 67", " 46701234567 "])
def test_sms_identities_are_stored_digits_only(identity):
    assert (
        create(channel_identities=[{"channel": "SMS", "identity": identity}]).channel_identities[0].identity
        == "46701234567"
    )


def test_duplicates_are_dropped():
    x = create(
        channel_identities=[SMS, {"channel": "SMS", "identity": "+46701234567"}], channel_priority=["SMS", "SMS", "MMS"]
    )
    assert len(x.channel_identities) == 1 and x.channel_priority == ["SMS", "MMS"]


def test_other_channels():
    x = create(
        channel_identities=[
            SMS,
            {"channel": "MESSENGER", "identity": " psid-1 ", "app_id": "01K0APP"},
            {"channel": "WHATSAPP", "identity": "+46700000000"},
        ]
    )
    assert [(i.channel, i.identity, i.app_id) for i in x.channel_identities] == [
        ("SMS", "46701234567", ""),
        ("MESSENGER", "psid-1", "01K0APP"),
        ("WHATSAPP", "+46700000000", ""),
    ]


@pytest.mark.parametrize(
    "body,match",
    [
        ({"channel_identities": None}, "channel_identities is required"),
        ({"language": None}, "language is required"),
        ({"language": ""}, "language is required"),
        ({"channel_identities": []}, "at least one channel identity"),
        ({"channel_identities": [{"channel": "SMS"}]}, r"channel_identities\[0\]\.identity is required"),
        ({"channel_identities": [{"identity": "1"}]}, r"channel_identities\[0\]\.channel is required"),
        (
            {"channel_identities": [{"channel": "FAX", "identity": "1"}]},
            r"channel_identities\[0\]\.channel: invalid enum",
        ),
        (
            {"channel_identities": [{"channel": "SMS", "identity": "not a number"}]},
            r"channel_identities\[0\]\.identity is not a phone number",
        ),
        (
            {"channel_identities": [{"channel": "SMS", "identity": " "}]},
            r"channel_identities\[0\]\.identity must not be empty",
        ),
        (
            {"channel_identities": [SMS, {"channel": "MESSENGER", "identity": "p"}]},
            r"channel_identities\[1\]\.app_id is required for channel MESSENGER",
        ),
        ({"language": "KLINGON"}, "language: invalid value 'KLINGON'"),
        ({"metadata": "m" * 1025}, "metadata is longer than 1024"),
        ({"channel_priority": ["FAX"]}, r"channel_priority\[0\]: invalid enum"),
        ({"email": 5}, "email: expected `str`"),
    ],
)
def test_errors(body, match):
    data = {"channel_identities": [SMS], "language": "EN_US", **body}
    with pytest.raises(InvalidRequest, match=match):
        c.decode_contact_create(json.dumps(data).encode())


def test_limits_hold_at_the_edge():
    assert len(create(metadata="m" * 1024).metadata) == 1024


def update(contact, body: bytes, mask):
    return c.apply_contact_update(contact, decode_object(body), mask)


def test_python_updates():
    x = create(display_name="Ann", email="a@x")
    out = update(x, b'{"channel_priority": ["SMS"], "display_name": "Bob"}', ["channel_priority", "display_name"])
    assert (out.display_name, out.channel_priority, out.email, out.id) == ("Bob", ["SMS"], "a@x", CID)
    out = update(x, b'{"email": null}', ["email"])
    assert out.email == "" and out.display_name == "Ann"


def test_node_update_with_mask():
    out = update(create(display_name="Ann", metadata="m"), b'{"display_name":"Bob"}', ["display_name"])
    assert out.display_name == "Bob" and out.metadata == "m"


def test_clearing():
    x = create(display_name="Ann")
    assert update(x, b'{"display_name": null}', ["display_name"]).display_name == "Unknown"
    assert update(x, b"{}", ["language"]).language == ""
    with pytest.raises(InvalidRequest, match="at least one channel identity"):
        update(x, b'{"channel_identities": null}', None)
    with pytest.raises(InvalidRequest, match="at least one channel identity"):
        update(x, b"{}", ["channel_identities"])
    with pytest.raises(InvalidRequest, match="update_mask: unknown field 'nickname'"):
        update(x, b"{}", ["nickname"])
    assert update(x, b'{"id": "other"}', None) == x
    assert update(x, b'{"language": "SV"}', None).language == "SV"


def test_merge():
    dest = create(channel_identities=[SMS], display_name="Unknown", email="", channel_priority=["SMS"])
    src = create(
        channel_identities=[
            {"channel": "SMS", "identity": "46709999999"},
            {"channel": "MMS", "identity": "46709999999"},
        ],
        display_name="Src",
        email="s@x",
        metadata="sm",
        language="SV",
    )
    dest.metadata = "keep"
    out = c.merge_contacts(dest, src)
    assert [(i.channel, i.identity) for i in out.channel_identities] == [("SMS", "46701234567"), ("MMS", "46709999999")]
    assert out.channel_priority == ["SMS", "MMS"]
    assert (out.display_name, out.email, out.metadata, out.language) == ("Src", "s@x", "keep", "EN_US")
    assert out.id == CID and len(dest.channel_identities) == 1


def test_list_filter():
    flt = c.contact_filter({"page_size": "5", "channel": "SMS", "identity": " 46701234567"})
    assert (flt.page_size, flt.channel, flt.identity, flt.external_id) == (5, "SMS", "46701234567", None)
    assert c.contact_filter({}).page_size == 10 and c.contact_filter({"page_size": "100"}).page_size == 20
    assert c.contact_filter({"external_id": "e1", "page_token": "T"}).page_token == "T"
    assert flt.scope() != c.contact_filter({"channel": "SMS", "identity": "46700000000"}).scope()
    for params, match in [
        ({"channel": "SMS"}, "together"),
        ({"identity": "1"}, "together"),
        ({"external_id": "e", "channel": "SMS", "identity": "1"}, "cannot be combined"),
        ({"channel": "FAX", "identity": "1"}, "channel: invalid value"),
        ({"page_size": "x"}, "page_size"),
    ]:
        with pytest.raises(InvalidRequest, match=match):
            c.contact_filter(params)


def test_python_sdk_parses_the_contact_and_the_page():
    from sinch.domains.conversation.models.v1.contacts.internal.list_contacts_response import ListContactsResponse
    from sinch.domains.conversation.models.v1.contacts.response.contact_response import ContactResponse

    body = as_json(create(channel_priority=["SMS"]))
    parsed = ContactResponse.model_validate(body)
    assert parsed.id == CID and parsed.language == "EN_US" and parsed.display_name == "Unknown"
    assert (parsed.channel_identities[0].channel, parsed.channel_identities[0].identity) == ("SMS", "46701234567")
    page = ListContactsResponse.model_validate({"contacts": [body], "next_page_token": q.encode_page_token(10)})
    assert page.content[0].id == CID and page.next_page_token
    cleared = as_json(update(create(), b"{}", ["language"]))
    assert ContactResponse.model_validate(cleared).language == ""
