"""The Conversation API end to end: the real server process, the official Python SDK, the real
engine and simulator, signed callbacks to a real receiver (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import signal
import time

import httpx
import pytest

from ..engine.receiver import Receiver
from .conftest import launch, stop
from .conversation_support import APP, add_app, add_webhook, batch_call, sdk

SECRET = "conv-webhook-secret"
SENDER = {"SMS_SENDER": "+12025550100"}


@pytest.fixture
def conv(database_url, tmp_path):
    with Receiver() as rx:
        server = launch(database_url, tmp_path)
        add_app(database_url)
        add_webhook(database_url, rx.url + "/conv", ["MESSAGE_DELIVERY", "MESSAGE_INBOUND"], SECRET)
        server.rx = rx
        try:
            yield server
        finally:
            stop(server)


def wait(fn, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last value {v!r}")
        time.sleep(0.05)


def handset(server, number: str) -> list[str]:
    r = httpx.get(f"{server.url}/simulator/handsets/{number}/messages", timeout=10).json()
    return [m["body"] for m in r["messages"]]


def delivered(server, message_id: str) -> bool:
    return any(
        b.get("message_delivery_report", {}).get("message_id") == message_id
        and b["message_delivery_report"]["status"] == "DELIVERED"
        for b in server.rx.bodies()
    )


def test_python_sdk_sends_rich_messages_and_validates_receipts(conv):
    client = sdk(conv)
    ids = [{"channel": "SMS", "identity": "+12017771001"}]
    text = client.conversation.messages.send_text_message(
        app_id=APP, text="Hello from the SDK", recipient_identities=ids, channel_properties=SENDER
    )
    card = client.conversation.messages.send_card_message(
        app_id=APP,
        recipient_identities=[{"channel": "SMS", "identity": "+12017771002"}],
        channel_properties=SENDER,
        card_message={
            "title": "Order 42",
            "description": "Ready for pickup",
            "choices": [
                {"text_message": {"text": "Yes"}},
                {"url_message": {"title": "Track", "url": "https://example.com/42"}},
            ],
        },
    )
    choice = client.conversation.messages.send_choice_message(
        app_id=APP,
        recipient_identities=[{"channel": "SMS", "identity": "+12017771003"}],
        channel_properties=SENDER,
        choice_message={
            "text_message": {"text": "Pick one"},
            "choices": [
                {"text_message": {"text": "A"}},
                {"call_message": {"title": "Call us", "phone_number": "+12025550199"}},
            ],
        },
    )
    wait(lambda: handset(conv, "+12017771001") == ["Hello from the SDK"])
    card_text = wait(lambda: handset(conv, "+12017771002"))[0]
    assert "Order 42" in card_text and "Track: https://example.com/42" in card_text
    assert "Call us: +12025550199" in wait(lambda: handset(conv, "+12017771003"))[0]
    for m in (text, card, choice):
        wait(lambda m=m: delivered(conv, m.message_id))
    from sinch.domains.conversation.sinch_events.v1.conversation_sinch_event import ConversationSinchEvent

    events = (
        client.conversation.sinch_events(SECRET)
        if hasattr(client.conversation, "sinch_events")
        else ConversationSinchEvent(SECRET)
    )
    for req in conv.rx.requests:
        assert events.validate_authentication_header(req["headers"], req["raw"])
        parsed = events.parse_event(req["raw"])
        assert type(parsed).__name__ == "MessageDeliveryReceiptEvent"
    got = client.conversation.messages.get(message_id=text.message_id)
    assert got.app_message.text_message.text == "Hello from the SDK"
    listed = [m.id for m in client.conversation.messages.list(app_id=APP, page_size=2).iterator()]
    assert sorted(listed) == sorted([text.message_id, card.message_id, choice.message_id])


def test_a_reply_reaches_the_app_as_message_inbound(conv):
    client = sdk(conv)
    sent = client.conversation.messages.send_text_message(
        app_id=APP,
        text="Reply YES",
        recipient_identities=[{"channel": "SMS", "identity": "+12017771004"}],
        channel_properties=SENDER,
        conversation_metadata={"ticket": "T-9"},
    )
    wait(lambda: delivered(conv, sent.message_id))
    r = httpx.post(f"{conv.url}/simulator/handsets/+12017771004/messages", json={"to": "+12025550100", "body": "YES"})
    assert r.status_code == 201, r.text
    inbound = wait(lambda: [q for q in conv.rx.requests if "message" in q["json"]])[0]
    from sinch.domains.conversation.sinch_events.v1.conversation_sinch_event import ConversationSinchEvent

    ev = ConversationSinchEvent(SECRET)
    assert ev.validate_authentication_header(inbound["headers"], inbound["raw"])
    assert type(ev.parse_event(inbound["raw"])).__name__ == "MessageInboundEvent"
    assert inbound["json"]["message"]["contact_message"]["text_message"]["text"] == "YES"
    assert json.loads(inbound["json"]["message_metadata"]) == {"ticket": "T-9"}


def _batch(n: int, start: int, **extra) -> dict:
    return {
        "app_id": APP,
        "message": {"text_message": {"text": "Hi ${name}"}},
        "recipient_and_params": [
            {
                "recipient": {
                    "identified_by": {"channel_identities": [{"channel": "SMS", "identity": f"+1301{start + i:07d}"}]}
                },
                "parameters": {"name": f"n{i}"},
            }
            for i in range(n)
        ],
        "channel_properties": SENDER,
        "batch_metadata": {"run": "e2e"},
        **extra,
    }


def test_batch_api_through_the_sdk_transport(conv):
    client = sdk(conv)
    status, body = batch_call(client, "POST", "", _batch(3, 1000, message_metadata={"campaign": "c1"}))
    assert status == 200 and set(body) == {"batch_id", "send_after"}
    batch_id = body["batch_id"]
    wait(lambda: batch_call(client, "GET", f"/{batch_id}")[1]["status"] == "PROCESSED")
    wait(lambda: handset(conv, "+13010001001") == ["Hi n1"])
    receipts = wait(
        lambda: (
            (
                r := [
                    b["message_delivery_report"]
                    for b in conv.rx.bodies()
                    if b.get("message_delivery_report", {}).get("status") == "DELIVERED"
                ]
            )
            and len(r) == 3
            and r
        )
    )
    assert all(json.loads(r["metadata"]) == {"campaign": "c1", "_batch_id": batch_id} for r in receipts)
    status, found = batch_call(client, "GET", "?metadataKey=run&metadataValue=e2e")
    assert status == 200 and [b["batch_id"] for b in found] == [batch_id]


def test_kill_9_during_fan_out_loses_and_duplicates_nothing(database_url, tmp_path):
    """20 batches of 1000: the server is killed while it fans them out; after the restart every
    recipient has exactly one message and one handset copy."""
    server = launch(database_url, tmp_path, env={"OPENXMS_SERVICE_PLANS": "SP1:TOKEN1:0"})
    add_app(database_url)
    try:
        client = sdk(server)
        for b in range(20):
            status, body = batch_call(client, "POST", "", _batch(1000, b * 1000))
            assert status == 200, body
        time.sleep(0.3)  # fan-out and dispatch under way
        server.kill(signal.SIGKILL)
        server = server.restart()
        from openxms.store.db import Database

        db = Database(database_url)

        def count(sql):
            return db.run_sync(lambda tx: tx.scalar(sql))

        wait(lambda: count("SELECT count(*) FROM conv_batches WHERE status = 'PROCESSED'") == 20, timeout=120)
        assert count("SELECT count(*) FROM conv_messages") == 20_000
        assert (
            count("SELECT count(*) FROM (SELECT identity FROM conv_messages GROUP BY identity HAVING count(*) > 1) d")
            == 0
        )
        # every message handed over (the magic numbers ending 0005 never get a receipt: still Dispatched)
        wait(lambda: count("SELECT count(*) FROM recipients WHERE status = 'Queued'") == 0, timeout=120)
        assert count("SELECT count(*) FROM recipients") == 20_000
        assert (
            count("SELECT count(*) FROM (SELECT msisdn FROM sim_messages GROUP BY msisdn HAVING count(*) > 1) d") == 0
        )
        assert count("SELECT count(*) FROM sim_messages") == 20_000
    finally:
        stop(server)
