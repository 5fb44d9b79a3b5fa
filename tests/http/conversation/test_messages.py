"""messages:send on the SMS channel through the real engine: the handset gets the rendered text,
signed MESSAGE_DELIVERY receipts reach the app's webhooks (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from ...engine.receiver import Receiver
from ..conftest import Api, make_api
from .support import BASIC, add_app, add_webhook, url

APP = "01K0APP0000000000000000001"
HANDSET = "+12017777777"


@pytest.fixture
def conv(database_url, tmp_path):
    with Receiver() as rx:
        app, ctx = make_api(database_url, tmp_path)
        with TestClient(app) as client:
            api = Api(client, ctx)
            api.rx = rx
            add_app(ctx, APP)
            add_webhook(
                ctx,
                "01K0WH00000000000000000001",
                APP,
                rx.url + "/conv",
                ["MESSAGE_DELIVERY", "MESSAGE_SUBMIT"],
                secret="whsec",
            )
            yield api


def send(api, body: dict, status: int = 200) -> dict:
    r = api.client.post(url("/messages:send"), json=body, headers=BASIC)
    assert r.status_code == status, r.text
    return r.json()


def recipient(number: str = HANDSET) -> dict:
    return {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": number}]}}


def deliveries(api, message_id: str) -> list[str]:
    return [
        b["message_delivery_report"]["status"]
        for b in api.rx.bodies()
        if "message_delivery_report" in b and b["message_delivery_report"]["message_id"] == message_id
    ]


def test_a_text_message_is_delivered_with_signed_receipts(conv):
    r = send(
        conv,
        {
            "app_id": APP,
            "recipient": recipient(),
            "message": {"text_message": {"text": "Hello"}},
            "message_metadata": "order-42",
            "correlation_id": "corr-1",
            "channel_properties": {"SMS_SENDER": "+12025550100"},
        },
    )
    assert set(r) == {"message_id", "accepted_time"}
    # posted concurrently: the order of arrival is not the order of events
    conv.wait_for(lambda: sorted(deliveries(conv, r["message_id"])) == ["DELIVERED", "QUEUED_ON_CHANNEL"])
    got = conv.client.get("/simulator/handsets/+12017777777/messages").json()["messages"][0]
    assert got["body"] == "Hello" and got["from"] == "12025550100"
    from sinch.domains.conversation.sinch_events.v1.conversation_sinch_event import ConversationSinchEvent

    validator = ConversationSinchEvent("whsec")
    for req in conv.rx.requests:
        assert validator.validate_authentication_header(req["headers"], req["raw"])
        event = validator.parse_event(req["raw"])
        assert event.app_id == APP and event.project_id == "PROJ1"
    receipt = next(
        b
        for b in conv.rx.bodies()
        if "message_delivery_report" in b and b["message_delivery_report"]["status"] == "DELIVERED"
    )
    assert receipt["message_delivery_report"]["metadata"] == "order-42" and receipt["correlation_id"] == "corr-1"
    assert receipt["message_delivery_report"]["channel_identity"] == {
        "channel": "SMS",
        "identity": "12017777777",
        "app_id": "",
    }
    assert any("message_submit_notification" in b for b in conv.rx.bodies())
    m = conv.client.get(url(f"/messages/{r['message_id']}"), headers=BASIC).json()
    assert m["app_message"] == {"text_message": {"text": "Hello"}} and m["direction"] == "TO_CONTACT"
    lst = conv.client.get(url("/messages"), headers=BASIC).json()
    assert [x["id"] for x in lst["messages"]] == [r["message_id"]] and lst["next_page_token"] == ""


def test_a_failing_handset_gives_a_failed_receipt_with_a_reason(conv):
    r = send(
        conv,
        {
            "app_id": APP,
            "recipient": recipient("+12010000001"),
            "message": {"text_message": {"text": "x"}},
            "channel_properties": {"SMS_SENDER": "+12025550100"},
        },
    )
    conv.wait_for(lambda: "FAILED" in deliveries(conv, r["message_id"]))
    failed = [b for b in conv.rx.bodies() if b.get("message_delivery_report", {}).get("status") == "FAILED"][0]
    assert failed["message_delivery_report"]["reason"]["code"] == "RECIPIENT_NOT_REACHABLE"


def test_per_recipient_problems_are_failed_receipts_not_errors(conv):
    r = send(
        conv,
        {
            "app_id": APP,
            "recipient": {"contact_id": "01K0CON0000000000000000009"},
            "message": {"text_message": {"text": "x"}},
        },
        status=400,
    )  # DISPATCH mode: contact_id refused
    assert r["error"]["status"] == "INVALID_ARGUMENT"
    r = send(
        conv,
        {
            "app_id": APP,
            "recipient": recipient(),
            "message": {"template_message": {"omni_template": {"template_id": "nope", "version": "1"}}},
        },
    )
    conv.wait_for(lambda: deliveries(conv, r["message_id"]) == ["FAILED"])
    failed = [b for b in conv.rx.bodies() if b.get("message_delivery_report", {}).get("message_id") == r["message_id"]]
    assert failed[0]["message_delivery_report"]["reason"]["code"] == "TEMPLATE_NOT_FOUND"


def test_no_sender_is_a_channel_configuration_failure(conv):
    r = send(conv, {"app_id": APP, "recipient": recipient(), "message": {"text_message": {"text": "x"}}})
    conv.wait_for(lambda: deliveries(conv, r["message_id"]) == ["FAILED"])
    failed = [b for b in conv.rx.bodies() if b.get("message_delivery_report", {}).get("message_id") == r["message_id"]]
    assert failed[0]["message_delivery_report"]["reason"]["code"] == "CHANNEL_BAD_CONFIGURATION"


def test_too_many_parts_fails_without_sending(conv):
    r = send(
        conv,
        {
            "app_id": APP,
            "recipient": recipient("+12017777778"),
            "message": {"text_message": {"text": "€" * 200}},
            "channel_properties": {"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "1"},
        },
    )
    conv.wait_for(lambda: deliveries(conv, r["message_id"]) == ["FAILED"])
    assert conv.client.get("/simulator/handsets/+12017777778/messages").json()["messages"] == []


def test_errors_are_conversation_shaped(conv):
    r = conv.client.post(url("/messages:send"), content=b"{", headers={**BASIC, "Content-Type": "application/json"})
    assert r.status_code == 400 and set(r.json()["error"]) == {"code", "message", "status", "details"}
    body = {
        "app_id": "01K0APP0000000000000000099",
        "recipient": recipient(),
        "message": {"text_message": {"text": "x"}},
    }
    r = conv.client.post(url("/messages:send"), json=body, headers=BASIC)
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"
    assert conv.client.post(url("/messages:send"), json=body).status_code == 401
    r = conv.client.get(url("/messages/nope", project="SP1"), headers=BASIC)
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
    two = {
        "app_id": APP,
        "recipient": recipient(),
        "message": {"text_message": {"text": "x"}, "media_message": {"url": "https://x.example/a.png"}},
    }
    assert conv.client.post(url("/messages:send"), json=two, headers=BASIC).status_code == 400


def test_a_reply_is_message_inbound_with_the_conversation_metadata(conv):
    add_webhook(conv.ctx, "01K0WH00000000000000000002", APP, conv.rx.url + "/mo", ["MESSAGE_INBOUND"])
    r = send(
        conv,
        {
            "app_id": APP,
            "recipient": recipient(),
            "message": {"text_message": {"text": "Shall we?"}},
            "conversation_metadata": {"order": "42"},
            "correlation_id": "corr-9",
            "channel_properties": {"SMS_SENDER": "+12025550100"},
        },
    )
    conv.wait_for(lambda: "DELIVERED" in deliveries(conv, r["message_id"]))
    reply = conv.client.post("/simulator/handsets/+12017777777/messages", json={"to": "+12025550100", "body": "YES"})
    assert reply.status_code == 201, reply.text
    inbound = conv.wait_for(lambda: [b for b in conv.rx.bodies() if "message" in b])[0]
    m = inbound["message"]
    assert m["contact_message"] == {"text_message": {"text": "YES"}} and m["direction"] == "TO_APP"
    assert m["channel_identity"]["identity"] == "12017777777" and m["sender_id"] == "12025550100"
    assert inbound["message_metadata"] == '{"order":"42"}' and inbound["correlation_id"] == "corr-9"
    from sinch.domains.conversation.sinch_events.v1.conversation_sinch_event import ConversationSinchEvent

    event = ConversationSinchEvent("x").parse_event(next(q["raw"] for q in conv.rx.requests if q["path"] == "/mo"))
    assert type(event).__name__ == "MessageInboundEvent"
    lst = conv.client.get(url("/messages?direction=TO_APP"), headers=BASIC).json()["messages"]
    assert [x["contact_message"] for x in lst] == [{"text_message": {"text": "YES"}}]


def test_conversation_mode_keeps_one_conversation_per_contact(conv):
    app2 = "01K0APP0000000000000000002"
    add_app(conv.ctx, app2, mode="CONVERSATION")
    body = {
        "app_id": app2,
        "recipient": recipient("+12017777779"),
        "message": {"text_message": {"text": "a"}},
        "channel_properties": {"SMS_SENDER": "+12025550100"},
    }
    first, second = send(conv, body), send(conv, body)
    m1 = conv.client.get(url(f"/messages/{first['message_id']}"), headers=BASIC).json()
    m2 = conv.client.get(url(f"/messages/{second['message_id']}"), headers=BASIC).json()
    assert m1["contact_id"] and m1["conversation_id"] and m1["processing_mode"] == "CONVERSATION"
    assert (m1["contact_id"], m1["conversation_id"]) == (m2["contact_id"], m2["conversation_id"])
    # the contact can now be addressed by id
    third = send(conv, {**body, "recipient": {"contact_id": m1["contact_id"]}})
    m3 = conv.client.get(url(f"/messages/{third['message_id']}"), headers=BASIC).json()
    assert m3["conversation_id"] == m1["conversation_id"] and m3["channel_identity"]["identity"] == "12017777779"


@pytest.mark.parametrize(
    "change",
    [
        {
            "recipient": {
                "identified_by": {
                    "channel_identities": [{"channel": "SMS", "identity": f"+1201555{i:04d}"} for i in range(1001)]
                }
            }
        },
        {"ttl": "10 minutes"},
        {"ttl": "1s"},
        {"recipient": {"identified_by": {"channel_identities": [{"channel": "CARRIER_PIGEON", "identity": "x"}]}}},
        {"recipient": {}},
        {"message": {}},
        {"app_id": None},
        {"channel_priority_order": ["WHATSAPP"]},
        {"channel_properties": {"SMS_FLASH_MESSAGE": "maybe"}},
        {"message_metadata": "x" * 1025},
        {"correlation_id": "x" * 129},
    ],
)
def test_bad_sends_are_400_invalid_argument(conv, change):
    body = {"app_id": APP, "recipient": recipient(), "message": {"text_message": {"text": "x"}}, **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = conv.client.post(url("/messages:send"), json=body, headers=BASIC)
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT", r.text


def test_a_foreign_projects_message_is_invisible(database_url, tmp_path):
    import base64

    app, ctx = make_api(database_url, tmp_path, env={"OPENXMS_PROJECTS": "PROJ1:KEY1:SECRET1,PROJ2:KEY2:SECRET2"})
    with TestClient(app) as client:
        add_app(ctx, APP)
        body = {"app_id": APP, "recipient": recipient(), "message": {"text_message": {"text": "x"}}}
        r = client.post(url("/messages:send"), json=body, headers=BASIC).json()
        other = {"Authorization": "Basic " + base64.b64encode(b"KEY2:SECRET2").decode()}
        assert client.get(url(f"/messages/{r['message_id']}", project="PROJ2"), headers=other).status_code == 404
        assert client.get(url("/messages", project="PROJ2"), headers=other).json()["messages"] == []
        assert client.delete(url(f"/messages/{r['message_id']}", project="PROJ2"), headers=other).status_code == 404
        assert client.post(url("/messages:send", project="PROJ2"), json=body, headers=other).status_code == 404
        assert client.get(url(f"/messages/{r['message_id']}"), headers=BASIC).status_code == 200
