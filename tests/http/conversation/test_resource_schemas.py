"""Live responses of the resource routes decode strictly as the types their OpenAPI operations
declare (the document is generated from those same types), and the document lists them."""

from __future__ import annotations

import msgspec
from starlette.routing import Route

from openxms.http.spec import ConversationError, operation


def declared(conv, method: str, path: str):
    """The response type the route serving `method path` declares."""
    for r in conv.client.app.routes:
        if isinstance(r, Route) and method in (r.methods or ()) and r.path_regex.match(conv.url(path)):
            return operation(r.endpoint).response
    raise AssertionError(f"no route for {method} {path}")


def strict(conv, method: str, path: str, body=None):
    r = conv.call(method, path, body)
    assert r.status_code == 200, r.text
    t = declared(conv, method, path.split("?")[0])
    return r.json() if t is None else msgspec.json.decode(r.content, type=t, strict=True)


def test_every_resource_response_is_its_documented_type(conv):
    app = strict(
        conv,
        "POST",
        "/apps",
        {
            "display_name": "x",
            "channel_credentials": [
                {"channel": "SMS", "static_bearer": {"claimed_identity": "SP1", "token": "TOKEN1"}}
            ],
            "processing_mode": "CONVERSATION",
        },
    )
    strict(conv, "GET", "/apps")
    strict(conv, "GET", f"/apps/{app.id}")
    strict(conv, "PATCH", f"/apps/{app.id}?update_mask=display_name", {"display_name": "y"})
    contact = strict(
        conv,
        "POST",
        "/contacts",
        {"channel_identities": [{"channel": "SMS", "identity": "12017777777"}], "language": "EN_US"},
    )
    source = strict(
        conv,
        "POST",
        "/contacts",
        {"channel_identities": [{"channel": "SMS", "identity": "12017777778"}], "language": "EN_US"},
    )
    strict(conv, "GET", "/contacts?page_size=1")
    strict(conv, "GET", f"/contacts/{contact.id}")
    strict(conv, "PATCH", f"/contacts/{contact.id}", {"email": "a@example.com"})
    strict(conv, "POST", f"/contacts/{contact.id}:merge", {"source_id": source.id})
    strict(conv, "GET", "/contacts:identityConflicts")
    webhook = strict(
        conv,
        "POST",
        "/webhooks",
        {
            "app_id": app.id,
            "target": "https://h.example/",
            "triggers": ["MESSAGE_DELIVERY"],
            "client_credentials": {"client_id": "c", "client_secret": "s", "endpoint": "https://a.example/t"},
        },
    )
    strict(conv, "GET", f"/apps/{app.id}/webhooks")
    strict(conv, "GET", f"/webhooks/{webhook.id}")
    strict(conv, "PATCH", f"/webhooks/{webhook.id}", {"secret": "s"})
    conversation = strict(conv, "POST", "/conversations", {"app_id": app.id, "contact_id": contact.id})
    conv.send(app.id, {"contact_id": contact.id})
    strict(conv, "GET", f"/conversations?app_id={app.id}")
    recent = strict(conv, "GET", f"/conversations:recent?app_id={app.id}")
    assert recent.conversations[0].last_message.app_message == {"text_message": {"text": "Hello"}}
    strict(conv, "GET", f"/conversations/{conversation.id}")
    strict(conv, "PATCH", f"/conversations/{conversation.id}", {"metadata_json": {"a": 1}})
    for method, path in (
        ("POST", f"/conversations/{conversation.id}:stop"),
        ("DELETE", f"/conversations/{conversation.id}"),
        ("DELETE", f"/webhooks/{webhook.id}"),
        ("DELETE", f"/contacts/{contact.id}"),
        ("DELETE", f"/apps/{app.id}"),
    ):
        assert strict(conv, method, path) == {}
    error = conv.call("GET", f"/apps/{app.id}")
    assert msgspec.json.decode(error.content, type=ConversationError, strict=True).error.code == 404


def test_the_document_lists_the_resource_operations(conv):
    paths = conv.client.get("/openapi.json").json()["paths"]
    p = "/v1/projects/{project_id}"
    assert set(paths[f"{p}/apps/{{app_id}}"]) == {"get", "patch", "delete"}
    assert set(paths[f"{p}/contacts/{{contact_id}}:merge"]) == {"post"}
    assert "409" in paths[f"{p}/contacts"]["post"]["responses"]
    assert "501" in paths[f"{p}/contacts:getChannelProfile"]["post"]["responses"]
    assert [x["name"] for x in paths[f"{p}/conversations/{{conversation_id}}"]["patch"]["parameters"]] == [
        "project_id",
        "conversation_id",
        "update_mask",
        "metadata_update_strategy",
    ]
    assert paths[f"{p}/apps"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AppList"
    }
