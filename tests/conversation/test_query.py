"""Query-string values as the SDKs send them, and paging."""

import base64

import pytest

from openxms.conversation import query as q
from openxms.errors import InvalidRequest
from openxms.sms import dates


@pytest.mark.parametrize(
    "raw,value",
    [
        ("True", True),
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("False", False),
        ("false", False),
        (" false ", False),
        ("0", False),
    ],
)
def test_booleans_in_any_case(raw, value):
    assert q.parse_bool(raw, "only_active") is value


def test_boolean_default_and_garbage():
    assert q.parse_bool(None, "x") is False and q.parse_bool("", "x", default=True) is True
    with pytest.raises(InvalidRequest, match="only_active must be true or false"):
        q.parse_bool("yes", "only_active")


@pytest.mark.parametrize(
    "raw",
    [
        "2026-01-01T00:00:00Z",  # Python, aware
        "2026-01-01T00:00:00",  # Python, naive = UTC
        "2026-01-01T00:00:00.000Z",  # Node
        "2026-01-01T01:00:00+01:00",  # an offset
        "2026-01-01T01:00:00 01:00",  # the same from Node, whose unencoded + became a space
        "2026-01-01T00:00:00.000000+00:00",
    ],
)
def test_times(raw):
    assert q.parse_time(raw, "start_time") == dates.parse("2026-01-01T00:00:00Z")


def test_time_with_milliseconds_kept():
    assert q.parse_time("2026-01-01T00:00:00.123Z", "t") == dates.parse("2026-01-01T00:00:00Z") + 123


def test_time_absent_and_garbage():
    assert q.parse_time(None, "t") is None and q.parse_time(" ", "t") is None
    with pytest.raises(InvalidRequest, match="start_time is not a date-time"):
        q.parse_time("yesterday", "start_time")


def test_update_mask():
    assert q.parse_update_mask(None) is None
    assert q.parse_update_mask("") is None
    assert q.parse_update_mask("display_name") == ["display_name"]
    # Python: %2C-encoded (decoded before us), the model's field order; Node: a raw comma.
    assert q.parse_update_mask("channel_credentials,display_name,processing_mode") == [
        "channel_credentials",
        "display_name",
        "processing_mode",
    ]
    assert q.parse_update_mask(["a, b", "c"]) == ["a", "b", "c"]
    assert q.parse_update_mask("displayName") == ["display_name"]


@pytest.mark.parametrize(
    "raw", ["46701234567", "+46701234567", " 46701234567", "%2B46701234567", "%2b46701234567", "+46 70-123 45 67"]
)
def test_msisdn_identities(raw):
    assert q.query_identity(raw) == "46701234567"


def test_other_identities_stay():
    assert q.query_identity("psid-abc") == "psid-abc"
    assert q.query_identity(" 1234567890123456789 ") == "1234567890123456789"  # too long for an MSISDN
    assert q.query_identity(None) is None


def test_enum():
    assert q.parse_enum("SMS", ("SMS", "MMS"), "channel") == "SMS"
    assert q.parse_enum(None, ("SMS",), "channel", "SMS") == "SMS"
    with pytest.raises(InvalidRequest, match="channel: invalid value 'FAX'"):
        q.parse_enum("FAX", ("SMS",), "channel")


@pytest.mark.parametrize(
    "raw,limits,size",
    [
        (None, q.CONTACTS_PAGE, 10),
        ("", q.CONTACTS_PAGE, 10),
        ("0", q.CONTACTS_PAGE, 10),
        ("5", q.CONTACTS_PAGE, 5),
        ("20", q.CONTACTS_PAGE, 20),
        ("21", q.CONTACTS_PAGE, 20),
        ("500", q.CONVERSATIONS_PAGE, 20),
        ("1000", q.MESSAGES_PAGE, 1000),
        ("1001", q.MESSAGES_PAGE, 1000),
        (None, q.MESSAGES_PAGE, 10),
        ("51", q.RECENT_CONVERSATIONS_PAGE, 50),
        (7, q.CONTACTS_PAGE, 7),
    ],
)
def test_page_sizes_default_and_clamp(raw, limits, size):
    assert q.page_size(raw, limits) == size


@pytest.mark.parametrize("raw", ["-1", "ten", "1.5"])
def test_page_size_garbage(raw):
    with pytest.raises(InvalidRequest, match="page_size"):
        q.page_size(raw, q.CONTACTS_PAGE)


def test_page_token_round_trip():
    for cursor in (0, 20, 123456, "01K0CON0000000000000000000", ""):
        token = q.encode_page_token(cursor, "app=1")
        assert q.decode_page_token(token, "app=1") == cursor
        assert "=" not in token and "app" not in token
    assert q.decode_page_token(None) is None and q.decode_page_token("") is None


def test_page_token_bound_to_its_query():
    token = q.encode_page_token(10, "app=1")
    with pytest.raises(InvalidRequest, match="another query"):
        q.decode_page_token(token, "app=2")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "PAGE2",
        _b64(b"not json"),
        _b64(b'[2,"x",1]'),
        _b64(b"{}"),
        _b64(b'[1,"x"]'),
        _b64(b"\xff\xfe"),
        _b64(b'[1,"x",true]'),
    ],
)
def test_garbage_page_tokens(token):
    with pytest.raises(InvalidRequest, match="page_token"):
        q.decode_page_token(token)


def test_offsets():
    assert q.decode_offset(None) == 0
    assert q.decode_offset(q.encode_page_token(40)) == 40
    with pytest.raises(InvalidRequest):
        q.decode_offset(q.encode_page_token("01K0"))
    forged = q.encode_page_token(-5)
    with pytest.raises(InvalidRequest):
        q.decode_offset(forged)


def test_next_offset_token():
    assert q.next_offset_token(0, 10, 10) != ""
    assert q.decode_offset(q.next_offset_token(20, 10, 10)) == 30
    assert q.next_offset_token(0, 3, 10) == ""  # a short page is the last
    assert q.next_offset_token(0, 0, 10) == ""
    assert q.next_offset_token(10, 10, 10, total=20) == ""  # exactly the end
    assert q.decode_offset(q.next_offset_token(0, 10, 10, "s", total=21), "s") == 10
