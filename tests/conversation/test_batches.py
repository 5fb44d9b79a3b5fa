"""The Batch API's rules: request checks, send_after, metadata, fan-out."""

import json
import re

import pytest

from openxms.conversation import batch_lifecycle as lifecycle
from openxms.conversation import batches as b
from openxms.errors import InvalidRequest
from openxms.sms import dates

APP = "01E3S8B6YCMRNR0GGM94H80ACX"
BATCH = "01J9Z8K4M2Q7X3V5T6W8Y0A1BC"
NOW = dates.parse("2026-03-01T12:00:10Z")


# --- stand-ins for messages.py / params.py (owned by another module; see test_default_checks) ---


def standin_check_message(raw):
    """STAND-IN for messages.validate_app_message: exactly one type key, text needs `text`."""
    kinds = [
        k
        for k in raw
        if k.endswith("_message")
        and k not in ("explicit_channel_message", "explicit_channel_omni_message", "channel_specific_message")
    ]
    if len(kinds) != 1:
        raise InvalidRequest("message must have exactly one message type")
    if kinds[0] == "text_message" and not isinstance(raw["text_message"].get("text"), str):
        raise InvalidRequest("message.text_message.text is required")


def standin_check_recipient(raw):
    """STAND-IN for messages.validate_recipient: rejects one marker identity."""
    for ci in raw.get("identified_by", {}).get("channel_identities", []):
        if ci["identity"] == "reject-me":
            raise InvalidRequest("recipient.identified_by.channel_identities[0].identity is not routable")


def standin_substitute(value, params):
    """STAND-IN for params.substitute: one pass over every string, unknown names left alone."""
    if isinstance(value, str):
        return re.sub(r"\$\{([^{}]+)\}", lambda m: params.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [standin_substitute(v, params) for v in value]
    if isinstance(value, dict):
        return {k: standin_substitute(v, params) for k, v in value.items()}
    return value


def ident(number):
    return {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": number}]}}


BODY = {
    "app_id": APP,
    "message": {"text_message": {"text": "hi"}},
    "recipient_and_params": [{"recipient": ident("+46700000001")}],
}


def decode(now=NOW, **body):
    return b.decode_batch(
        json.dumps({**BODY, **body}).encode(),
        now,
        check_message=standin_check_message,
        check_recipient=standin_check_recipient,
    )


def bad(match, **body):
    with pytest.raises(InvalidRequest, match=match) as e:
        decode(**body)
    assert e.value.status == 400
    return e.value


# --- send_after -----------------------------------------------------------------------------

T0 = dates.parse("2026-03-01T12:00:00.400Z")


@pytest.mark.parametrize(
    "requested,effective",
    [
        ("12:00:40.700", "12:00:40"),  # under a minute ahead: kept, to the second
        ("11:58:00", "11:58:00"),  # past: kept (runs at once)
        ("12:01:00.400", "12:05:00"),  # exactly a minute ahead: up to the next five-minute mark
        ("12:03:10", "12:05:00"),
        ("12:55:00", "12:55:00"),  # on a mark: stays
        ("12:05:00.000", "12:05:00"),
        ("12:05:00.500", "12:10:00"),  # just past a mark: the next one
        ("12:01:00.399", "12:01:00"),  # 59.999 s ahead: kept, truncated
    ],
)
def test_effective_send_after_examples(requested, effective):
    got = b.effective_send_after(dates.parse(f"2026-03-01T{requested}Z"), T0)
    assert b.format_time(got) == f"2026-03-01T{effective}Z"


def test_effective_send_after_bounds():
    assert b.effective_send_after(None, T0) is None
    week = T0 + 7 * 24 * 3600 * 1000
    assert b.effective_send_after(week, T0) == dates.parse("2026-03-08T12:05:00Z")  # the rounded value may pass 7 days
    with pytest.raises(InvalidRequest, match="at most 7 days"):
        b.effective_send_after(week + 1, T0)
    with pytest.raises(InvalidRequest, match="at most 7 days"):
        b.effective_send_after(T0 + 8 * 24 * 3600 * 1000, T0)


def test_send_after_in_requests_and_responses():
    batch = decode(send_after="2026-03-01T12:03:10Z")
    assert batch.requested_send_after == dates.parse("2026-03-01T12:03:10Z")
    assert b.response(BATCH, batch, NOW) == {"batch_id": BATCH, "send_after": "2026-03-01T12:05:00Z"}
    assert lifecycle.initial_status(batch.send_after, NOW) == "SCHEDULED"
    now = decode()
    assert now.send_after is None and lifecycle.initial_status(None, NOW) == "READY"
    assert b.response(BATCH, now, NOW + 789) == {"batch_id": BATCH, "send_after": "2026-03-01T12:00:10Z"}
    past = decode(send_after="2026-03-01T11:00:00.250+00:00")
    assert (
        b.format_time(past.send_after) == "2026-03-01T11:00:00Z"
        and lifecycle.initial_status(past.send_after, NOW) == "READY"
    )
    assert decode(send_after="2026-03-01T13:02:00+01:00").send_after == dates.parse("2026-03-01T12:05:00Z")
    bad("send_after is not an RFC 3339 date-time", send_after="tomorrow")
    bad("send_after must be at most 7 days", send_after="2026-03-09T12:00:00Z")
    bad("send_after: expected `str`", send_after=1772366400)


# --- the request ----------------------------------------------------------------------------


def test_the_documented_example():
    body = {
        "app_id": APP,
        "message": {"text_message": {"text": "Hi ${name}, your code is ${code}"}},
        "recipient_and_params": [
            {
                "recipient": ident("+46700000001"),
                "parameters": {"name": "Ann", "code": "123"},
                "message_metadata": {"row": "1"},
            },
            {"recipient": ident("+46700000002"), "parameters": {"name": "Bo"}},
        ],
        "batch_metadata": {"campaign_id": "spring"},
        "message_metadata": {"campaign": "spring", "row": "0"},
        "send_after": "2026-03-01T12:03:10Z",
        "channel_properties": {"SMS_SENDER": "+46700000000"},
    }
    batch = decode(**body)
    assert b.response(BATCH, batch, NOW)["send_after"] == "2026-03-01T12:05:00Z"
    assert batch.batch_metadata == {"campaign_id": "spring"} and batch.processing_strategy == "DEFAULT"
    out = list(b.generated_messages(batch, BATCH, substitute=standin_substitute))
    assert [g.message for g in out] == [
        {"text_message": {"text": "Hi Ann, your code is 123"}},
        {"text_message": {"text": "Hi Bo, your code is ${code}"}},
    ]
    assert out[0].message_metadata == '{"campaign":"spring","row":"1","_batch_id":"01J9Z8K4M2Q7X3V5T6W8Y0A1BC"}'
    assert out[1].message_metadata == '{"campaign":"spring","row":"0","_batch_id":"01J9Z8K4M2Q7X3V5T6W8Y0A1BC"}'
    assert out[0].conversation_metadata == {"_batch_id": BATCH}
    assert [g.index for g in out] == [0, 1] and out[1].recipient == ident("+46700000002")
    assert batch.message == body["message"]  # substitution works on copies


def test_every_field_is_kept():
    batch = decode(
        processing_strategy="DISPATCH_ONLY",
        conversation_metadata={"k": {"n": 1}},
        channel_priority_order=["SMS"],
        ttl="30s",
        channel_properties={"SMS_FLASH_MESSAGE": "true"},
        correlation_id="corr",
        callback_url="http://127.0.0.1:9000/cb",
        queue="HIGH_PRIORITY",
        message_content_type="CONTENT_MARKETING",
        conversation_metadata_update_strategy="MERGE_PATCH",
    )
    assert (
        batch.processing_strategy,
        batch.conversation_metadata,
        batch.channel_priority_order,
        batch.ttl_seconds,
        batch.channel_properties,
        batch.correlation_id,
        batch.callback_url,
        batch.queue,
        batch.message_content_type,
        batch.conversation_metadata_update_strategy,
    ) == (
        "DISPATCH_ONLY",
        {"k": {"n": 1}},
        ["SMS"],
        30,
        {"SMS_FLASH_MESSAGE": "true"},
        "corr",
        "http://127.0.0.1:9000/cb",
        "HIGH_PRIORITY",
        "CONTENT_MARKETING",
        "MERGE_PATCH",
    )


def test_storable_as_json():
    import msgspec

    batch = decode(send_after="2026-03-01T12:03:10Z", ttl="60s", message_metadata={"a": None})
    assert msgspec.json.decode(msgspec.json.encode(batch), type=b.BatchRequest) == batch


def test_nulls_and_unknown_fields():
    batch = decode(
        ttl=None,
        send_after=None,
        processing_strategy=None,
        batch_metadata=None,
        surprise={"x": 1},
        recipient_and_params=[{"recipient": ident("1"), "parameters": None, "message_metadata": {"k": None}}],
    )
    assert batch.ttl_seconds is None and batch.send_after is None and batch.processing_strategy == "DEFAULT"
    assert batch.recipient_and_params[0].message_metadata == {"k": None}  # metadata is kept as given


@pytest.mark.parametrize(
    "body,match",
    [
        ({"app_id": None}, "app_id is required"),
        ({"message": None}, "message is required"),
        ({"recipient_and_params": None}, "recipient_and_params is required"),
        ({"app_id": "my-app"}, "app_id is not a valid id"),
        ({"app_id": 7}, "app_id: expected `str`"),
        ({"recipient_and_params": []}, "at least one recipient"),
        ({"recipient_and_params": {"recipient": {}}}, "recipient_and_params: expected `array`"),
        ({"recipient_and_params": [{}]}, r"recipient_and_params\[0\]\.recipient is required"),
        ({"message": "hi"}, "message: expected `object`"),
        ({"message": {}}, "exactly one message type"),
        ({"message": {"text_message": {"text": "a"}, "media_message": {"url": "u"}}}, "exactly one message type"),
        ({"message": {"text_message": {}}}, r"message\.text_message\.text is required"),
        ({"processing_strategy": "FAST"}, "processing_strategy: invalid enum value"),
        ({"channel_priority_order": ["SMS", "FAX"]}, r"channel_priority_order\[1\]: invalid enum value"),
        ({"batch_metadata": {"k": 1}}, r"batch_metadata\[...\]: expected `str`"),
        ({"message_metadata": "m"}, "message_metadata: expected `object`"),
        ({"conversation_metadata": ["x"]}, "conversation_metadata: expected `object`"),
        ({"correlation_id": "c" * 129}, "correlation_id is longer than 128"),
        ({"channel_properties": {"SMS_SENDER": "s" * 1025}}, r"channel_properties\.SMS_SENDER is longer than 1024"),
        ({"channel_properties": {"SMS_FLASH_MESSAGE": True}}, r"channel_properties\[...\]: expected `str`"),
        ({"callback_url": "not a url"}, "callback_url must be an http or https URL"),
        ({"queue": "LOW"}, "queue: invalid enum value"),
        ({"message_content_type": "SPAM"}, "message_content_type: invalid enum value"),
    ],
)
def test_request_errors(body, match):
    bad(match, **body)


@pytest.mark.parametrize("ttl,seconds", [("3s", 3), ("30s", 30), ("315576000000s", 315_576_000_000)])
def test_ttl(ttl, seconds):
    assert decode(ttl=ttl).ttl_seconds == seconds


@pytest.mark.parametrize("ttl", ["30", "2.5s", "-5s", "s", "30 s", "30S", "1m", ""])
def test_ttl_format(ttl):
    bad("ttl must look like", ttl=ttl)


@pytest.mark.parametrize("ttl", ["2s", "0s", "315576000001s"])
def test_ttl_range(ttl):
    bad(r"ttl \(seconds\) must be between 3 and 315576000000", ttl=ttl)


def test_ttl_must_be_a_string():
    bad("ttl: expected `str`", ttl=30)


def test_recipient_count():
    assert (
        len(
            decode(
                recipient_and_params=[{"recipient": ident(str(46700000000 + i))} for i in range(1000)]
            ).recipient_and_params
        )
        == 1000
    )
    bad("holds 1001 recipients; at most 1000", recipient_and_params=[{"recipient": ident("1")} for _ in range(1001)])


@pytest.mark.parametrize(
    "recipient,match",
    [
        ({}, "exactly one of contact_id and identified_by"),
        ({"contact_id": "01K0CON0000000000000000000", **ident("1")}, "exactly one of contact_id and identified_by"),
        ({"contact_id": ""}, "contact_id must be a non-empty string"),
        ({"contact_id": 5}, "contact_id must be a non-empty string"),
        ({"identified_by": {"channel_identities": []}}, "must contain at least one identity"),
        ({"identified_by": {}}, "must contain at least one identity"),
        ({"identified_by": "x"}, "must contain at least one identity"),
        ({"identified_by": {"channel_identities": ["x"]}}, r"channel_identities\[0\] must be an object"),
        (
            {"identified_by": {"channel_identities": [{"channel": "FAX", "identity": "1"}]}},
            r"channel_identities\[0\]\.channel: invalid value 'FAX'",
        ),
        (
            {"identified_by": {"channel_identities": [{"channel": "SMS"}]}},
            r"channel_identities\[0\]\.identity is required",
        ),
        (ident("reject-me"), "is not routable"),  # the message module's own check, prefixed with the index
    ],
)
def test_recipient_errors_name_the_recipient(recipient, match):
    e = bad(match, recipient_and_params=[{"recipient": ident("1")}, {"recipient": recipient}])
    assert e.text.startswith("recipient_and_params[1]: ")


def test_recipient_fields():
    bad(
        r"recipient_and_params\[0\]\.parameters\[...\]: expected `str`",
        recipient_and_params=[{"recipient": ident("1"), "parameters": {"n": 1}}],
    )
    bad(
        r"recipient_and_params\[0\]\.message_metadata: expected `object`",
        recipient_and_params=[{"recipient": ident("1"), "message_metadata": "x"}],
    )


def test_merged_metadata_size_is_checked_per_recipient():
    # 1024 characters of merged JSON fit; the recipient pushing it over is named.
    key_room = 1024 - len('{"a":"","_batch_id":"01J9Z8K4M2Q7X3V5T6W8Y0A1BC"}')
    ok = {"recipient": ident("1"), "message_metadata": {"a": "x" * key_room}}
    over = {"recipient": ident("1"), "message_metadata": {"a": "x" * (key_room + 1)}}
    decode(recipient_and_params=[ok])
    e = bad("message_metadata merged with the batch's is 1025 characters", recipient_and_params=[ok, over])
    assert e.text.startswith("recipient_and_params[1]")
    bad(
        "recipient_and_params\\[0\\]: message_metadata merged",
        message_metadata={"b": "y" * 1000},
        recipient_and_params=[{"recipient": ident("1"), "message_metadata": {"c": "z" * 10}}],
    )
    bad("conversation_metadata merged with the batch's is", conversation_metadata={"b": "y" * 2048})


def test_user_batch_id_is_not_an_error_and_is_overwritten():
    batch = decode(
        message_metadata={"_batch_id": "mine"},
        recipient_and_params=[{"recipient": ident("1"), "conversation_metadata": {"_batch_id": "x"}}],
    )
    g = next(b.generated_messages(batch, BATCH, substitute=standin_substitute))
    assert json.loads(g.message_metadata) == {"_batch_id": BATCH} and g.conversation_metadata == {"_batch_id": BATCH}


def test_merge_metadata():
    assert b.merge_metadata({"a": 1, "b": {"x": 1}}, {"b": {"y": 2}, "c": 3}, BATCH) == {
        "a": 1,
        "b": {"y": 2},
        "c": 3,
        "_batch_id": BATCH,
    }  # shallow: the recipient's object replaces
    assert b.merge_metadata(None, None, BATCH) == {"_batch_id": BATCH}
    assert b.merge_metadata({"_batch_id": "t"}, {"_batch_id": "r"}, BATCH) == {"_batch_id": BATCH}


def test_malformed_json():
    for raw in (b"{", b"[]", b""):
        with pytest.raises(InvalidRequest):
            b.decode_batch(raw, NOW, check_message=standin_check_message, check_recipient=standin_check_recipient)


# --- checks against the sending app ---------------------------------------------------------


def accept(now=NOW, **body):
    return b.accept_batch(json.dumps({**BODY, **body}).encode(), now)


def test_channel_priority_order_must_be_configured_on_the_app():
    batch = accept(channel_priority_order=["SMS", "WHATSAPP"])
    with pytest.raises(InvalidRequest, match=r"channel_priority_order\[1\]: channel WHATSAPP is not configured"):
        b.check_against_app(batch, ["SMS"], "DISPATCH")
    assert b.check_against_app(batch, ["WHATSAPP", "SMS"], "DISPATCH") == "DISPATCH"


def test_contact_ids_need_conversation_mode():
    with_contact = accept(
        recipient_and_params=[{"recipient": ident("1")}, {"recipient": {"contact_id": "01K0CON0000000000000000000"}}]
    )
    assert b.check_against_app(with_contact, ["SMS"], "CONVERSATION") == "CONVERSATION"
    with pytest.raises(InvalidRequest, match=r"recipient_and_params\[1\]\.recipient: contact_id cannot be used"):
        b.check_against_app(with_contact, ["SMS"], "DISPATCH")
    forced = accept(
        processing_strategy="DISPATCH_ONLY",
        recipient_and_params=[{"recipient": {"contact_id": "01K0CON0000000000000000000"}}],
    )
    with pytest.raises(InvalidRequest, match="contact_id cannot be used in DISPATCH"):
        b.check_against_app(forced, ["SMS"], "CONVERSATION")
    assert b.check_against_app(accept(processing_strategy="DISPATCH_ONLY"), ["SMS"], "CONVERSATION") == "DISPATCH"


CONTACT = {"contact_id": "01K0CON0000000000000000000"}
# Bodies for accept_batch's fast path and decode_batch's general one: usual, unusual but valid,
# and invalid in every way the fast path decides on its own.
AGREEMENT = [
    {},
    {
        "recipient_and_params": [
            {"recipient": ident(str(46700000000 + i)), "parameters": {"n": str(i)}} for i in range(1000)
        ]
    },
    {"recipient_and_params": [{"recipient": ident("1")}, {"recipient": CONTACT}]},
    {"recipient_and_params": [{"recipient": CONTACT}], "processing_strategy": "DISPATCH_ONLY"},
    {
        "recipient_and_params": [
            {
                "recipient": {
                    "identified_by": {"channel_identities": [{"channel": "SMS", "identity": "1", "app_id": APP}]}
                }
            }
        ]
    },  # valid, not the usual form
    {"recipient_and_params": [{"recipient": {**ident("1"), "extra": 1}}]},  # unknown key: ignored
    {"recipient_and_params": [{"recipient": ident("1"), "message_metadata": {"k": None}}]},  # a null
    {"recipient_and_params": [{"recipient": ident("1"), "message_metadata": {"a": "b"}}], "message_metadata": {"c": 1}},
    {"send_after": "2026-03-01T12:03:00Z", "ttl": "30s", "correlation_id": "c", "callback_url": "https://x.test/cb"},
    {"channel_priority_order": ["SMS"], "channel_properties": {"SMS_SENDER": "+12025550100"}},
    {"batch_metadata": {"k": "v"}},
    # invalid
    {"recipient_and_params": [{"recipient": ident(" ")}]},
    {"recipient_and_params": [{"recipient": {"contact_id": " "}}]},
    {"recipient_and_params": [{"recipient": {**ident("1"), **CONTACT}}]},
    {"recipient_and_params": [{"recipient": {}}]},
    {"recipient_and_params": [{"recipient": {"identified_by": {"channel_identities": []}}}]},
    {
        "recipient_and_params": [
            {
                "recipient": {
                    "identified_by": {"channel_identities": [{"channel": "SMS", "identity": str(i)} for i in range(21)]}
                }
            }
        ]
    },
    {
        "recipient_and_params": [
            {"recipient": {"identified_by": {"channel_identities": [{"channel": "PIGEON", "identity": "1"}]}}}
        ]
    },
    {"recipient_and_params": [{"recipient": {"identified_by": {"channel_identities": [{"channel": "SMS"}]}}}]},
    {
        "recipient_and_params": [
            {"recipient": {"identified_by": {"channel_identities": [{"identity": 5, "channel": "SMS"}]}}}
        ]
    },
    {"recipient_and_params": []},
    {"recipient_and_params": [{"recipient": ident("1")} for _ in range(1001)]},
    {"recipient_and_params": [{"recipient": ident("1"), "parameters": {"n": 1}}]},
    {"recipient_and_params": [{"recipient": ident("1"), "message_metadata": {"x": "y" * 1100}}]},
    {"app_id": "not-a-ulid"},
    {"message": {"text_message": {}}},
    {"send_after": "tomorrow"},
    {"send_after": "2026-03-09T12:00:00Z"},
    {"ttl": "30 seconds"},
    {"correlation_id": "c" * 129},
    {"callback_url": "not a url"},
    {"channel_properties": {"SMS_SENDER": "x" * 1025}},
]


@pytest.mark.parametrize("body", AGREEMENT)
def test_accept_batch_agrees_with_decode_batch(body):
    """accept_batch's fast path is decode_batch's checks at half the cost: the same 400 text for
    every bad body, and the same fields for every good one."""
    raw = json.dumps({**BODY, **body}).encode()
    try:
        full = b.decode_batch(raw, NOW)
    except InvalidRequest as e:
        with pytest.raises(InvalidRequest) as got:
            b.accept_batch(raw, NOW)
        assert got.value.text == e.text
        return
    a = b.accept_batch(raw, NOW)
    assert (a.app_id, a.processing_strategy, a.channel_priority_order, a.channel_properties, a.batch_metadata) == (
        full.app_id,
        full.processing_strategy,
        full.channel_priority_order,
        full.channel_properties,
        full.batch_metadata,
    )
    assert (a.requested_send_after, a.send_after) == (full.requested_send_after, full.send_after)
    first = next((i for i, rp in enumerate(full.recipient_and_params) if "contact_id" in rp.recipient), None)
    assert a.first_contact_id == first


def test_accept_batch_takes_the_fast_path_for_the_usual_body():
    raw = json.dumps({**BODY, **AGREEMENT[1]}).encode()
    assert b._lean(raw) is not None  # what the agreement above is worth for the usual body
    assert b._lean(json.dumps({**BODY, **AGREEMENT[4]}).encode()) is None


# --- the default checks, once messages.py and params.py exist ------------------------------


def test_default_checks():
    pytest.importorskip("openxms.conversation.messages")
    raw = json.dumps(BODY).encode()
    assert b.decode_batch(raw, NOW).app_id == APP
    with pytest.raises(InvalidRequest):
        b.decode_batch(json.dumps({**BODY, "message": {}}).encode(), NOW)
    with pytest.raises(InvalidRequest):
        b.decode_batch(
            json.dumps(
                {**BODY, "message": {"text_message": {"text": "a"}, "media_message": {"url": "https://a.b/c.png"}}}
            ).encode(),
            NOW,
        )


def test_default_substitute():
    pytest.importorskip("openxms.conversation.params")
    batch = decode(
        message={"text_message": {"text": "Hi ${name}"}},
        recipient_and_params=[{"recipient": ident("1"), "parameters": {"name": "Ann"}}],
    )
    assert next(b.generated_messages(batch, BATCH)).message == {"text_message": {"text": "Hi Ann"}}


def _outcome(raw: bytes, **checks) -> str:
    try:
        b.decode_batch(raw, NOW, **checks)
    except InvalidRequest as e:
        return e.text
    return "ok"


@pytest.mark.parametrize(
    "recipient",
    [
        ident("+46700000001"),
        {"contact_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ"},
        {"contact_id": " "},
        {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": str(i)} for i in range(20)]}},
        {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": str(i)} for i in range(21)]}},
        {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "1", "app_id": 5}]}},
        {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "1", "app_id": "A"}]}},
        {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": 7}]}},
        {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "1"}], "other": 1}},
        {**ident("1"), "extra": True},
        {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "1"}]}, "contact_id": "X"},
    ],
)
def test_usual_recipients_skip_the_conversion_with_the_same_verdict(recipient):
    """decode_batch skips converting recipients of the usual form (_plain_recipient): every
    recipient gets the verdict the full messages.validate_recipient check gives."""
    raw = json.dumps({**BODY, "recipient_and_params": [{"recipient": ident("1")}, {"recipient": recipient}]}).encode()
    full = _outcome(raw, check_recipient=b._default_check_recipient)
    assert _outcome(raw) == full


def test_nulls_dropped_only_when_the_body_has_one():
    with_null = {**BODY, "correlation_id": None, "batch_metadata": {"k": "v"}, "send_after": None}
    assert b.decode_batch(json.dumps(with_null).encode(), NOW).correlation_id == ""
    text = json.dumps({**BODY, "message": {"text_message": {"text": "null"}}}).encode()
    assert b.decode_batch(text, NOW).message == {"text_message": {"text": "null"}}


def test_metadata_sizes_checked_per_recipient_and_for_the_shared_case():
    big = {"k": "x" * 1000}
    rps = [{"recipient": ident("1")}, {"recipient": ident("2"), "message_metadata": big}]
    assert "recipient_and_params[1]: message_metadata" in _outcome(
        json.dumps({**BODY, "recipient_and_params": rps}).encode()
    )
    shared = {**BODY, "message_metadata": big, "recipient_and_params": [{"recipient": ident("1")}] * 3}
    assert "recipient_and_params[0]: message_metadata" in _outcome(json.dumps(shared).encode())
    fits = {**BODY, "message_metadata": {"k": "x" * 900}, "recipient_and_params": [{"recipient": ident("1")}] * 3}
    assert _outcome(json.dumps(fits).encode()) == "ok"


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"batch_metadata": {"k": "v"}, "message_metadata": {"a": [1, {"b": 2}]}, "conversation_metadata": {"c": 1}},
        {"send_after": "2024-06-06T10:00:00Z", "ttl": "30s", "correlation_id": "x", "callback_url": "https://a.b/c"},
        {"channel_priority_order": ["SMS"], "channel_properties": {"SMS_SENDER": "123"}, "queue": "HIGH_PRIORITY"},
        {"processing_strategy": "DISPATCH_ONLY", "unknown_field": {"deep": [1, 2]}},
        {"recipient_and_params": [{"recipient": ident("1"), "parameters": {"n": "v"}, "message_metadata": {"m": 1}}]},
    ],
)
def test_typed_decoding_gives_what_the_general_path_gives(extra):
    raw = json.dumps({**BODY, **extra}).encode()
    typed = b._typed(raw)
    assert typed is not None
    assert typed == b._general(raw)


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b"{", b'{"app_id": 5}', b'{"app_id": "A", "message": {}, "recipient_and_params": "x"}', b"null"],
)
def test_bodies_the_typed_decoder_refuses_take_the_general_path(body):
    assert b._typed(body) is None
    with pytest.raises(InvalidRequest):
        b.decode_batch(body, NOW)
