"""Helpers for the Conversation API resource tests: calls as a project (two projects are
configured, PROJ1 and PROJ2), checked error bodies, and objects made through the API."""

from __future__ import annotations

import base64
import time
from typing import Any

from starlette.testclient import TestClient

from openxms.conversation.errors import GRPC_STATUS

ENV = {"OPENXMS_PROJECTS": "PROJ1:KEY1:SECRET1,PROJ2:KEY2:SECRET2"}
HANDSET = "+12017777777"


def basic(key: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


class Conv:
    """The Conversation API as one project sees it."""

    def __init__(
        self, client: TestClient, ctx, project: str = "PROJ1", key: str = "KEY1", secret: str = "SECRET1"
    ) -> None:
        self.client, self.ctx, self.project = client, ctx, project
        self.key, self.secret = key, secret
        self.headers = basic(key, secret)

    def url(self, path: str) -> str:
        return f"/v1/projects/{self.project}{path}"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        **kw,
    ):
        h = {**self.headers, **(headers or {})}
        if content is not None:
            return self.client.request(
                method, self.url(path), content=content, headers={"Content-Type": "application/json", **h}, **kw
            )
        return self.client.request(method, self.url(path), json=body, headers=h, **kw)

    def ok(self, method: str, path: str, body: Any = None, **kw) -> Any:
        r = self.call(method, path, body, **kw)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/json")
        return r.json()

    def err(self, method: str, path: str, status: int, body: Any = None, **kw) -> str:
        """The error's message, after checking the whole body is Sinch's error shape."""
        r = self.call(method, path, body, **kw)
        assert r.status_code == status, r.text
        e = r.json()["error"]
        assert set(r.json()) == {"error"} and set(e) == {"code", "message", "status", "details"}
        assert e["code"] == status and e["status"] == GRPC_STATUS[status] and e["details"] == []
        return e["message"]

    def token(self) -> str:
        r = self.client.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=(self.key, self.secret))
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    # objects made through the API ------------------------------------------------------
    def app(self, plan: str = "SP1", token: str | None = None, **fields) -> dict:
        body = {
            "display_name": "Shop",
            "channel_credentials": [
                {"channel": "SMS", "static_bearer": {"claimed_identity": plan, "token": token or f"TOKEN{plan[-1]}"}}
            ],
            **fields,
        }
        return self.ok("POST", "/apps", body)

    def contact(self, number: str = HANDSET, **fields) -> dict:
        return self.ok(
            "POST",
            "/contacts",
            {"channel_identities": [{"channel": "SMS", "identity": number}], "language": "EN_US", **fields},
        )

    def webhook(self, app_id: str, target: str = "https://hooks.example/conv", **fields) -> dict:
        return self.ok(
            "POST", "/webhooks", {"app_id": app_id, "target": target, "triggers": ["MESSAGE_DELIVERY"], **fields}
        )

    def conversation(self, app_id: str, contact_id: str, **fields) -> dict:
        return self.ok("POST", "/conversations", {"app_id": app_id, "contact_id": contact_id, **fields})

    def send(self, app_id: str, recipient: dict, text: str = "Hello") -> str:
        """messages:send (the plans here have no number of their own: the sender is given)."""
        return self.ok(
            "POST",
            "/messages:send",
            {
                "app_id": app_id,
                "recipient": recipient,
                "message": {"text_message": {"text": text}},
                "channel_properties": {"SMS_SENDER": "12025550100"},
            },
        )["message_id"]

    def wait_for(self, fn, timeout: float = 10.0):
        """Poll `fn()` until it returns something truthy (the engine works in the background)."""
        deadline = time.monotonic() + timeout
        while not (value := fn()):
            assert time.monotonic() < deadline, f"timed out; last value {value!r}"
            time.sleep(0.02)
        return value

    def handset(self, number: str = HANDSET) -> list[dict]:
        return self.client.get(f"/simulator/handsets/{number}/messages").json()["messages"]

    def row(self, sql: str, *args) -> Any:
        return self.ctx.db.run_sync(lambda tx: tx.one(sql, args))
