"""Conversation end-to-end helpers: an app stored in the server's database, the Python SDK
pointed at the server, the Batch API through the SDK's own OAuth transport."""

from __future__ import annotations

import json

import msgspec

from openxms.conversation.apps import decode_app_create, new_app
from openxms.store.db import Database

from .conftest import KEY_ID, KEY_SECRET, PLAN, PROJECT, TOKEN, Server

APP = "01K0APP00000000000000000E1"


def add_app(database_url: str, app_id: str = APP, mode: str = "DISPATCH") -> None:
    body = {
        "display_name": "e2e",
        "processing_mode": mode,
        "channel_credentials": [{"channel": "SMS", "static_bearer": {"claimed_identity": PLAN, "token": TOKEN}}],
    }
    doc = msgspec.json.encode(new_app(decode_app_create(json.dumps(body).encode()), app_id)).decode()
    Database(database_url).run_sync(
        lambda tx: tx.execute(
            "INSERT INTO conv_apps (id, project_id, plan_id, created_at, doc) VALUES (?, ?, ?, 0, ?)",
            (app_id, PROJECT, PLAN, doc),
        )
    )


def add_webhook(database_url: str, target: str, triggers: list[str], secret: str, app_id: str = APP) -> None:
    doc = json.dumps(
        {
            "id": "01K0WH00000000000000000E1",
            "app_id": app_id,
            "target": target,
            "target_type": "HTTP",
            "secret": secret,
            "triggers": triggers,
        }
    )
    Database(database_url).run_sync(
        lambda tx: tx.execute(
            "INSERT INTO conv_webhooks (id, project_id, app_id, created_at, doc) VALUES (?, ?, ?, 0, ?)",
            ("01K0WH00000000000000000E1", PROJECT, app_id, doc),
        )
    )


def sdk(server: Server):
    from sinch import SinchClient

    client = SinchClient(project_id=PROJECT, key_id=KEY_ID, key_secret=KEY_SECRET, conversation_region="eu")
    client.configuration.auth_origin = server.url
    client.configuration.conversation_domain = server.url
    return client


def batch_call(client, method: str, path: str, body=None):
    """A Batch API call through the SDK's transport (its OAuth token, refresh and error
    handling): none of the official SDKs has the Batch API itself."""
    from sinch.core.endpoint import HTTPEndpoint
    from sinch.core.enums import HTTPAuthentication

    origin = client.configuration.conversation_domain + "/conversationbatch"

    class Call(HTTPEndpoint):
        ENDPOINT_URL = "{origin}/v1/projects/{project_id}/messages{path}"
        HTTP_METHOD = method
        HTTP_AUTHENTICATION = HTTPAuthentication.OAUTH.value

        def build_url(self, sinch):
            return self.ENDPOINT_URL.format(origin=origin, project_id=self.project_id, path=path)

        def request_body(self):
            return None if self.request_data is None else json.dumps(self.request_data)

        def handle_response(self, response):
            return response.status_code, response.body

    return client.configuration.transport.request(Call(PROJECT, body))
