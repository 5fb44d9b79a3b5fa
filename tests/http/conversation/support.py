"""Conversation API test helpers: an app bound to a plan, webhooks, and calls as a project."""

from __future__ import annotations

import base64
import json

import msgspec

from openxms.conversation.apps import decode_app_create, new_app

PROJECT, KEY, SECRET = "PROJ1", "KEY1", "SECRET1"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()}


def add_app(
    ctx, app_id: str, plan: str = "SP1", token: str = "TOKEN1", mode: str = "DISPATCH", project: str = PROJECT, **extra
) -> None:
    """Store an app directly (the apps API has its own tests)."""
    body = {
        "display_name": "test",
        "processing_mode": mode,
        **extra,
        "channel_credentials": [{"channel": "SMS", "static_bearer": {"claimed_identity": plan, "token": token}}],
    }
    app = new_app(decode_app_create(json.dumps(body).encode()), app_id)
    doc = msgspec.json.encode(app).decode()
    ctx.db.run_sync(
        lambda tx: tx.execute(
            "INSERT INTO conv_apps (id, project_id, plan_id, created_at, doc) VALUES (?, ?, ?, 0, ?)",
            (app_id, project, plan, doc),
        )
    )


def add_webhook(
    ctx, webhook_id: str, app_id: str, target: str, triggers: list[str], secret: str = "", project: str = PROJECT
) -> None:
    doc = json.dumps(
        {
            "id": webhook_id,
            "app_id": app_id,
            "target": target,
            "target_type": "HTTP",
            "secret": secret,
            "triggers": triggers,
        }
    )
    ctx.db.run_sync(
        lambda tx: tx.execute(
            "INSERT INTO conv_webhooks (id, project_id, app_id, created_at, doc) VALUES (?, ?, ?, 0, ?)",
            (webhook_id, project, app_id, doc),
        )
    )


def url(path: str, project: str = PROJECT) -> str:
    return f"/v1/projects/{project}{path}"


def send_text(client, app_id: str, identity: str, text: str, sender: str = "12025550100") -> str:
    """messages:send of a text from `app_id` to an SMS identity; returns the message id."""
    r = client.post(
        url("/messages:send"),
        headers=BASIC,
        json={
            "app_id": app_id,
            "message": {"text_message": {"text": text}},
            "channel_properties": {"SMS_SENDER": sender},
            "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": identity}]}},
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["message_id"]
