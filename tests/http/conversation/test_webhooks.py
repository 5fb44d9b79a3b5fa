"""Webhooks over HTTP: create (at most 5 per app), list per app, get, update, delete, and a webhook
made through the API receiving signed callbacks (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from ...engine.receiver import Receiver
from .resources import HANDSET

URL = "https://hooks.example/conv"


def test_create_defaults_to_http_and_reads_back(conv):
    a = conv.app()
    w = conv.webhook(a["id"], secret="s3cret", triggers=["MESSAGE_DELIVERY", "MESSAGE_INBOUND", "MESSAGE_DELIVERY"])
    assert w == {
        "id": w["id"],
        "app_id": a["id"],
        "target": URL,
        "target_type": "HTTP",
        "secret": "s3cret",
        "triggers": ["MESSAGE_DELIVERY", "MESSAGE_INBOUND"],
    }
    assert conv.ok("GET", f"/webhooks/{w['id']}") == w
    assert conv.ok("GET", f"/apps/{a['id']}/webhooks") == {"webhooks": [w]}
    oauth = {"client_id": "c", "client_secret": "s", "endpoint": "https://auth.example/token"}
    w2 = conv.webhook(a["id"], target_type="DISMISS", client_credentials=oauth)
    assert w2["target_type"] == "DISMISS" and w2["client_credentials"] == {
        **oauth,
        "scope": "",
        "response_type": "",
        "token_request_type": "BASIC",
    }
    assert [x["id"] for x in conv.ok("GET", f"/apps/{a['id']}/webhooks")["webhooks"]] == [w["id"], w2["id"]]


def test_at_most_five_webhooks_per_app(conv):
    a, b = conv.app(), conv.app()
    for i in range(5):
        conv.webhook(a["id"], target=f"{URL}/{i}")
    assert "5 webhooks" in conv.err(
        "POST", "/webhooks", 400, {"app_id": a["id"], "target": URL, "triggers": ["MESSAGE_DELIVERY"]}
    )
    assert len(conv.ok("GET", f"/apps/{a['id']}/webhooks")["webhooks"]) == 5
    conv.webhook(b["id"])  # the limit is per app
    first = conv.ok("GET", f"/apps/{a['id']}/webhooks")["webhooks"][0]
    conv.ok("DELETE", f"/webhooks/{first['id']}")
    conv.webhook(a["id"])  # room again


@pytest.mark.parametrize(
    "body,words",
    [
        ({"target": URL, "triggers": ["MESSAGE_DELIVERY"]}, "app_id is required"),
        ({"app_id": "short", "target": URL, "triggers": ["MESSAGE_DELIVERY"]}, "not a valid id"),
        ({"app_id": "APP", "triggers": ["MESSAGE_DELIVERY"]}, "target is required"),
        ({"app_id": "APP", "target": "ftp://x.example/", "triggers": ["MESSAGE_DELIVERY"]}, "http or https"),
        ({"app_id": "APP", "target": "https://x.example/" + "a" * 800, "triggers": ["MESSAGE_DELIVERY"]}, "742"),
        (
            {"app_id": "APP", "target": "https://conversation-api.eu.sinch.com/x", "triggers": ["MESSAGE_DELIVERY"]},
            "not allowed",
        ),
        ({"app_id": "APP", "target": URL}, "at least one trigger"),
        ({"app_id": "APP", "target": URL, "triggers": ["UNSPECIFIED_TRIGGER"]}, "UNSPECIFIED_TRIGGER"),
        ({"app_id": "APP", "target": URL, "triggers": ["MESSAGE_EXPLODED"]}, "unknown trigger"),
        ({"app_id": "APP", "target": URL, "triggers": "MESSAGE_DELIVERY"}, "triggers"),
        ({"app_id": "APP", "target": URL, "triggers": ["MESSAGE_DELIVERY"], "target_type": "EMAIL"}, "target_type"),
        (
            {
                "app_id": "APP",
                "target": URL,
                "triggers": ["MESSAGE_DELIVERY"],
                "client_credentials": {"client_id": "c"},
            },
            "client_secret is required",
        ),
    ],
)
def test_bad_webhooks_are_400(conv, body, words):
    a = conv.app()
    body = {k: (a["id"] if v == "APP" else v) for k, v in body.items()}
    assert words in conv.err("POST", "/webhooks", 400, body)
    assert conv.ok("GET", f"/apps/{a['id']}/webhooks") == {"webhooks": []}


def test_unknown_apps_and_webhooks_are_404(conv):
    ghost = "01K0APP0000000000000000099"
    assert f"app {ghost}" in conv.err(
        "POST", "/webhooks", 404, {"app_id": ghost, "target": URL, "triggers": ["MESSAGE_DELIVERY"]}
    )
    assert conv.err("GET", f"/apps/{ghost}/webhooks", 404)
    for method in ("GET", "PATCH", "DELETE"):
        assert conv.err(method, "/webhooks/01K0WH00000000000000000099", 404, {} if method == "PATCH" else None)


def test_update_with_a_mask_and_without(conv):
    a = conv.app()
    w = conv.webhook(a["id"], secret="s")
    u = conv.ok(
        "PATCH",
        f"/webhooks/{w['id']}?update_mask=triggers",
        {"triggers": ["MESSAGE_SUBMIT"], "target": "https://ignored.example/"},
    )
    assert u == {**w, "triggers": ["MESSAGE_SUBMIT"]}
    u = conv.ok(
        "PATCH",
        f"/webhooks/{w['id']}",
        {"target": "https://new.example/h", "secret": None, "app_id": "01K0APP0000000000000000099"},
    )
    assert (u["target"], u["secret"], u["app_id"]) == ("https://new.example/h", "", a["id"])
    assert conv.ok("GET", f"/webhooks/{w['id']}") == u
    assert "at least one trigger" in conv.err("PATCH", f"/webhooks/{w['id']}?update_mask=triggers", 400, {})
    assert "unknown field" in conv.err("PATCH", f"/webhooks/{w['id']}?update_mask=colour", 400, {})
    assert "not valid JSON" in conv.err("PATCH", f"/webhooks/{w['id']}", 400, content=b"{")
    assert conv.ok("GET", f"/webhooks/{w['id']}") == u


def test_delete(conv):
    w = conv.webhook(conv.app()["id"])
    assert conv.ok("DELETE", f"/webhooks/{w['id']}") == {}
    assert conv.err("GET", f"/webhooks/{w['id']}", 404)
    assert conv.err("DELETE", f"/webhooks/{w['id']}", 404)


def test_a_webhook_made_through_the_api_gets_signed_receipts(conv):
    from sinch.domains.conversation.sinch_events.v1.conversation_sinch_event import ConversationSinchEvent

    with Receiver() as rx:
        a = conv.app()
        conv.webhook(a["id"], target=rx.url + "/conv", secret="whsec", triggers=["MESSAGE_DELIVERY"])
        dismissed = conv.webhook(
            a["id"], target=rx.url + "/dismissed", target_type="DISMISS", triggers=["MESSAGE_DELIVERY"]
        )
        mid = conv.send(a["id"], {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": HANDSET}]}})
        conv.wait_for(
            lambda: any(r["json"].get("message_delivery_report", {}).get("status") == "DELIVERED" for r in rx.requests)
        )
        assert {r["path"] for r in rx.requests} == {"/conv"}, dismissed
        validator = ConversationSinchEvent("whsec")
        for req in rx.requests:
            assert validator.validate_authentication_header(req["headers"], req["raw"])
            event = validator.parse_event(req["raw"])
            assert event.app_id == a["id"] and event.message_delivery_report.message_id == mid
