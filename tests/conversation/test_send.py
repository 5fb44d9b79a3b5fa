"""`messages:send` bodies: decoding, every 400, normalisation, the app checks, and the bodies the
Python SDK really sends."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from openxms.conversation import send
from openxms.errors import InvalidRequest

APP = "01K0APP0000000000000000000"
SMS = {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "46701234567"}]}}
BODY = {"app_id": APP, "recipient": SMS, "message": {"text_message": {"text": "Hello"}}}


def decode(**fields):
    return send.decode_send(json.dumps({**BODY, **fields}).encode())


def bad(match, raw=None, **fields):
    with pytest.raises(InvalidRequest, match=match) as e:
        send.decode_send(raw if raw is not None else json.dumps({**BODY, **fields}).encode())
    assert e.value.status == 400
    return e.value


def test_minimal_body_and_defaults():
    r = send.decode_send(json.dumps(BODY))
    assert r.app_id == APP and r.message.text_message.text == "Hello"
    assert r.recipient.identified_by.channel_identities[0].identity == "46701234567"
    assert (r.callback_url, r.channel_priority_order, r.channel_properties, r.message_metadata) == ("", [], {}, "")
    assert r.conversation_metadata is None and r.ttl_seconds is None
    assert (r.queue, r.processing_strategy, r.conversation_metadata_update_strategy, r.message_content_type) == (
        "NORMAL_PRIORITY",
        "DEFAULT",
        "REPLACE",
        "CONTENT_UNKNOWN",
    )
    assert r.sms == send.SmsProperties()


def test_every_field():
    r = decode(
        callback_url="https://hooks.example/cb",
        channel_priority_order=["SMS", "WHATSAPP"],
        channel_properties={
            "SMS_SENDER": " Acme ",
            "SMS_FLASH_MESSAGE": "false",
            "SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "3",
            "MESSENGER_NOTIFICATION_TYPE": "SILENT_PUSH",
        },
        message_metadata="order-42",
        conversation_metadata={"k": "v", "n": None, "deep": {"a": [1]}},
        queue="HIGH_PRIORITY",
        ttl="86400s",
        processing_strategy="DISPATCH_ONLY",
        correlation_id="corr-9",
        conversation_metadata_update_strategy="MERGE_PATCH",
        message_content_type="CONTENT_MARKETING",
        unknown_future_field={"x": 1},
    )
    assert r.callback_url == "https://hooks.example/cb" and r.channel_priority_order == ["SMS", "WHATSAPP"]
    assert r.sms == send.SmsProperties(sender="Acme", flash=False, max_parts=3)
    assert r.channel_properties["MESSENGER_NOTIFICATION_TYPE"] == "SILENT_PUSH"
    assert r.message_metadata == "order-42"
    assert r.conversation_metadata == {"k": "v", "n": None, "deep": {"a": [1]}}  # nulls inside are values
    assert (r.queue, r.ttl_seconds, r.processing_strategy, r.correlation_id) == (
        "HIGH_PRIORITY",
        86400,
        "DISPATCH_ONLY",
        "corr-9",
    )
    assert (r.conversation_metadata_update_strategy, r.message_content_type) == ("MERGE_PATCH", "CONTENT_MARKETING")


def test_explicit_nulls_are_absent_fields():
    r = decode(
        callback_url=None,
        channel_priority_order=None,
        channel_properties=None,
        message_metadata=None,
        conversation_metadata=None,
        queue=None,
        ttl=None,
        processing_strategy=None,
        correlation_id=None,
        conversation_metadata_update_strategy=None,
        message_content_type=None,
        recipient={"contact_id": None, **SMS},
        message={"text_message": {"text": "x"}, "media_message": None},
    )
    assert r.ttl_seconds is None and r.conversation_metadata is None and r.queue == "NORMAL_PRIORITY"
    assert decode(conversation_metadata={}).conversation_metadata == {}


@pytest.mark.parametrize("ttl, seconds", [("3s", 3), ("315576000000s", 315_576_000_000), (30, 30), ("0030s", 30)])
def test_ttl(ttl, seconds):
    assert decode(ttl=ttl).ttl_seconds == seconds


@pytest.mark.parametrize(
    "ttl, match",
    [
        ("2s", r"ttl \(seconds\) must be between 3 and 315576000000, got 2"),
        ("315576000001s", "must be between"),
        (2, "must be between"),
        (-5, "must be between"),
        ("30", r'ttl must look like "30s"'),
        ("30 s", "must look like"),
        ("1.5s", "must look like"),
        ("-3s", "must look like"),
        ("s", "must look like"),
        ("30S", "must look like"),
        (True, r"ttl: expected `int \| str \| null`, got `bool`"),
        (1.5, "got `float`"),
        ([30], "got `array`"),
    ],
)
def test_bad_ttl(ttl, match):
    bad(match, ttl=ttl)


def test_parse_ttl_directly():
    assert send.parse_ttl(None) is None
    with pytest.raises(InvalidRequest, match="must look like"):
        send.parse_ttl(True)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"", "^app_id is required$"),
        (b"{", "request body is not valid JSON"),
        (b"[]", "request body must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (json.dumps({"recipient": SMS, "message": BODY["message"]}).encode(), "^app_id is required$"),
        (json.dumps({**BODY, "app_id": None}).encode(), "^app_id is required$"),
        (json.dumps({"app_id": APP, "message": BODY["message"]}).encode(), "^recipient is required$"),
        (json.dumps({"app_id": APP, "recipient": SMS}).encode(), "^message is required$"),
    ],
)
def test_malformed_or_incomplete(raw, match):
    bad(match, raw=raw)


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"app_id": "not-a-ulid"}, "app_id is not a valid id"),
        ({"app_id": ""}, "app_id is required"),
        ({"app_id": 7}, r"app_id: expected `str`, got `int`"),
        (
            {"message": {"text_message": {"text": "a"}, "media_message": {"url": "u"}}},
            r"^message: exactly one message type is required .* got text_message and media_message$",
        ),
        ({"message": {}}, "message: exactly one message type is required"),
        ({"message": {"text_message": {}}}, r"^message\.text_message\.text is required$"),
        ({"message": "hello"}, r"^message: expected `object`, got `str`$"),
        (
            {"message": {"card_message": {"choices": [{"text_message": {"text": "a"}}] * 3 + [{}]}}},
            r"^message\.card_message\.choices\[3\]: exactly one choice type is required",
        ),
        ({"recipient": {}}, "recipient must have exactly one of contact_id and identified_by"),
        ({"recipient": {"contact_id": "c", **SMS}}, "exactly one of contact_id and identified_by"),
        (
            {"recipient": {"identified_by": {"channel_identities": [{"channel": "FAX", "identity": "1"}]}}},
            r"recipient\.identified_by\.channel_identities\[0\]\.channel: unknown channel 'FAX'",
        ),
        ({"channel_priority_order": ["SMS", "FAX"]}, r"channel_priority_order\[1\]: invalid enum value 'FAX'"),
        ({"channel_priority_order": "SMS"}, r"channel_priority_order: expected `array \| null`"),
        ({"queue": "LOW"}, r"queue: invalid enum value 'LOW'"),
        ({"processing_strategy": "FAST"}, "processing_strategy: invalid enum value"),
        ({"conversation_metadata_update_strategy": "MERGE"}, "conversation_metadata_update_strategy: invalid enum"),
        ({"message_content_type": "SPAM"}, "message_content_type: invalid enum"),
        ({"message_metadata": {"k": "v"}}, r"message_metadata: expected `str \| null`, got `object`"),
        ({"message_metadata": "x" * 1025}, "message_metadata is longer than 1024 characters"),
        ({"conversation_metadata": "k=v"}, r"conversation_metadata: expected `object \| null`, got `str`"),
        (
            {"conversation_metadata": {"k": "x" * 2041}},
            r"conversation_metadata is 2049 characters as JSON; at most 2048",
        ),
        ({"correlation_id": "c" * 129}, "correlation_id is longer than 128 characters"),
        ({"callback_url": "ftp://x/y"}, "callback_url must be an http or https URL"),
        ({"callback_url": "not a url"}, "callback_url must be an http or https URL"),
        ({"channel_properties": {"SMS_SENDER": 5}}, r"channel_properties\[\.\.\.\]: expected `str`, got `int`"),
        ({"channel_properties": {"WHATSAPP_X": "y" * 1025}}, r"channel_properties\.WHATSAPP_X is longer than 1024"),
        ({"channel_properties": {"SMS_SENDER": "y" * 33}}, r"channel_properties\.SMS_SENDER is longer than 32"),
        ({"channel_properties": {"SMS_SENDER": " "}}, r"channel_properties\.SMS_SENDER must not be empty"),
        ({"channel_properties": {"SMS_FLASH_MESSAGE": "yes"}}, r'SMS_FLASH_MESSAGE must be "true" or "false"'),
        ({"channel_properties": {"SMS_FLASH_MESSAGE": "1"}}, r'must be "true" or "false"'),
        ({"channel_properties": {"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "0"}}, "must be a positive integer, got '0'"),
        ({"channel_properties": {"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "-1"}}, "must be a positive integer"),
        ({"channel_properties": {"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "2.5"}}, "must be a positive integer"),
        ({"channel_properties": {"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "three"}}, "must be a positive integer"),
        (
            {"channel_properties": {"SMS_SENDR": "Acme"}},
            r"channel_properties: unknown SMS channel property 'SMS_SENDR'",
        ),
    ],
)
def test_bad_fields(fields, match):
    bad(match, **fields)


def test_limits_are_inclusive():
    assert len(decode(message_metadata="x" * 1024).message_metadata) == 1024
    assert decode(conversation_metadata={"k": "x" * 2040}).conversation_metadata  # {"k":"..."} = 2048
    assert decode(correlation_id="c" * 128).correlation_id == "c" * 128
    assert decode(channel_properties={"SMS_SENDER": "s" * 32}).sms.sender == "s" * 32
    assert decode(channel_properties={"SMS_FLASH_MESSAGE": "TRUE"}).sms.flash is True
    assert decode(channel_properties={"SMS_FLASH_MESSAGE": "True"}).sms.flash is True  # Python's str(True)
    assert decode(channel_properties={"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "255"}).sms.max_parts == 255


def test_channel_properties_directly():
    assert send.channel_properties({}) == send.SmsProperties()
    with pytest.raises(InvalidRequest, match=r"^recipient_and_params\[0\]\.channel_properties\.SMS_SENDER must"):
        send.channel_properties({"SMS_SENDER": ""}, "recipient_and_params[0].channel_properties")


def test_check_against_app():
    r = decode(channel_priority_order=["SMS"])
    assert send.check_against_app(r, ["SMS", "RCS"], "CONVERSATION") == "CONVERSATION"
    assert send.check_against_app(r, ["SMS"], "DISPATCH") == "DISPATCH"
    with pytest.raises(InvalidRequest, match=r"channel_priority_order\[1\]: channel WHATSAPP is not configured on app"):
        send.check_against_app(decode(channel_priority_order=["SMS", "WHATSAPP"]), ["SMS"], "CONVERSATION")
    contact = decode(recipient={"contact_id": "01K0CON0000000000000000000"})
    assert send.check_against_app(contact, ["SMS"], "CONVERSATION") == "CONVERSATION"
    with pytest.raises(InvalidRequest, match="contact_id cannot be used in DISPATCH processing mode"):
        send.check_against_app(contact, ["SMS"], "DISPATCH")
    forced = decode(recipient={"contact_id": "01K0CON0000000000000000000"}, processing_strategy="DISPATCH_ONLY")
    with pytest.raises(InvalidRequest, match="contact_id cannot be used in DISPATCH"):
        send.check_against_app(forced, ["SMS"], "CONVERSATION")
    assert send.check_against_app(decode(processing_strategy="DISPATCH_ONLY"), ["SMS"], "CONVERSATION") == "DISPATCH"
    for name, value in (("conversation_metadata", {"k": "v"}), ("correlation_id", "c")):
        r = decode(processing_strategy="DISPATCH_ONLY", **{name: value})
        with pytest.raises(InvalidRequest, match=f"{name} is not supported with processing_strategy DISPATCH_ONLY"):
            send.check_against_app(r, ["SMS"], "CONVERSATION")
        assert send.check_against_app(r, ["SMS"], "DISPATCH") == "DISPATCH"


def test_response():
    assert send.response("01K0MSG0000000000000000000", 1_772_359_200_123) == {
        "message_id": "01K0MSG0000000000000000000",
        "accepted_time": "2026-03-01T10:00:00.123Z",
    }


# --- what the official Python SDK sends --------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/oauth2/token":
            out = {"access_token": "t", "expires_in": 3599, "scope": "", "token_type": "bearer"}
        else:
            type(self).bodies.append(body)
            out = {"message_id": "01K0MSG0000000000000000000", "accepted_time": "2026-03-01T10:00:00.123Z"}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def sdk():
    sinch = pytest.importorskip("sinch")
    _Recorder.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    client = sinch.SinchClient(project_id="proj1", key_id="kid", key_secret="ksecret", conversation_region="eu")
    client.configuration.auth_origin = origin
    client.configuration.conversation_domain = origin
    yield client, _Recorder.bodies
    server.shutdown()
    server.server_close()


def test_python_sdk_bodies_decode(sdk):
    client, bodies = sdk
    ids = [{"channel": "SMS", "identity": "46701234567"}]
    msgs = client.conversation.messages
    msgs.send_text_message(app_id=APP, text="Hello", recipient_identities=ids)
    msgs.send_text_message(
        app_id=APP,
        text="Hello",
        contact_id="01K0CON0000000000000000000",
        ttl=30,
        message_metadata="mm",
        channel_properties={"SMS_FLASH_MESSAGE": "true"},
        event_destination_target="https://hooks.example/cb",
        correlation_id="corr",
        conversation_metadata={"k": "v"},
        channel_priority_order=["SMS"],
        processing_strategy="DISPATCH_ONLY",
        queue="HIGH_PRIORITY",
    )
    msgs.send_card_message(
        app_id=APP,
        recipient_identities=ids,
        card_message={
            "title": "T",
            "description": "D",
            "media_message": {"url": "https://example.com/a.png"},
            "choices": [
                {"text_message": {"text": "Yes"}, "postback_data": "y"},
                {"url_message": {"title": "Site", "url": "https://example.com"}},
            ],
        },
    )
    msgs.send_choice_message(
        app_id=APP,
        recipient_identities=ids,
        choice_message={
            "text_message": {"text": "Pick"},
            "choices": [{"text_message": {"text": "A"}}, {"call_message": {"title": "Call", "phone_number": "+4670"}}],
        },
    )
    msgs.send_location_message(
        app_id=APP,
        recipient_identities=ids,
        location_message={"title": "Office", "coordinates": {"latitude": 55.6, "longitude": 13.0}},
    )
    assert len(bodies) == 5
    plain, full, card, choice, location = (send.decode_send(b) for b in bodies)
    assert plain.message.text_message.text == "Hello"
    assert (full.recipient.contact_id, full.ttl_seconds, full.message_metadata, full.callback_url) == (
        "01K0CON0000000000000000000",
        30,
        "mm",
        "https://hooks.example/cb",
    )
    assert (full.sms.flash, full.correlation_id, full.conversation_metadata, full.queue) == (
        True,
        "corr",
        {"k": "v"},
        "HIGH_PRIORITY",
    )
    assert [c.postback_data for c in card.message.card_message.choices] == ["y", None]
    assert choice.message.choice_message.choices[1].call_message.phone_number == "+4670"
    assert location.message.location_message.coordinates.latitude == 55.6


@pytest.mark.parametrize("depth", [600, 5000])
def test_deep_nesting_is_skipped_or_a_400_never_a_crash(depth):
    nested = "[" * depth + "]" * depth
    raw = json.dumps(BODY)[:-1] + f', "unknown": {nested}}}'
    try:  # an unknown field is skipped, while the decoder takes its nesting
        assert send.decode_send(raw.encode()).app_id == APP
    except InvalidRequest as e:
        assert "nested too deeply" in e.text or "not valid JSON" in e.text
    bad(
        "nested too deeply|not valid JSON",
        raw=raw.replace(f'"unknown": {nested}', f'"unknown": null, "u": {nested}').encode(),
    )
    raw = json.dumps({**BODY, "conversation_metadata": {}})[:-3] + f'{{"k": {nested}}}}}'
    try:  # free JSON, walked by nothing recursive: accepted while the decoder takes it
        assert send.decode_send(raw.encode()).conversation_metadata["k"]
    except InvalidRequest as e:
        assert "nested too deeply" in e.text or "not valid JSON" in e.text or "characters as JSON" in e.text


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"message": {"card_message": {"title": "t", "choices": [{"text_message": {"text": "x"}}]}}},
        {"conversation_metadata": {"a": [1, {"b": 2}]}, "message_metadata": "m", "correlation_id": "c"},
        {"ttl": 30, "channel_priority_order": ["SMS"], "channel_properties": {"SMS_SENDER": "123"}},
        {"ttl": "30s", "queue": "HIGH_PRIORITY", "unknown": {"deep": [1]}},
    ],
)
def test_typed_decoding_gives_what_the_general_path_gives(extra):
    raw = json.dumps({**BODY, **extra})
    assert send.decode_send(raw.encode()) == send.decode_send(raw.replace("}", ', "pad": null}', 1))


@pytest.mark.parametrize("body", [b"", b"[]", b"{", b'{"app_id": 5}', b"null", b'{"recipient": {}, "message": {}}'])
def test_bodies_the_typed_decoder_refuses_are_400s(body):
    with pytest.raises(InvalidRequest):
        send.decode_send(body)
