"""Who may call the resource routes: Bearer tokens from /oauth2/token or Basic key:secret; 401 for
none, a bad one or an expired one (with the `WWW-Authenticate ... expired` the SDKs refresh on),
403 for another project's credentials; and a project never sees another project's apps,
contacts, webhooks or conversations, on any route (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

APP, CONTACT, WEBHOOK, CONV = (
    "01K0APP0000000000000000099",
    "01K0CON0000000000000000099",
    "01K0WH00000000000000000099",
    "01K0CNV0000000000000000099",
)

# Every resource route, with a body that would be accepted.
ROUTES = [
    ("POST", "/apps", {"display_name": "x", "channel_credentials": []}),
    ("GET", "/apps", None),
    ("GET", "/apps/{app}", None),
    ("PATCH", "/apps/{app}", {}),
    ("DELETE", "/apps/{app}", None),
    ("GET", "/apps/{app}/webhooks", None),
    ("POST", "/webhooks", {"app_id": "{app}", "target": "https://h.example/", "triggers": ["MESSAGE_DELIVERY"]}),
    ("GET", "/webhooks/{webhook}", None),
    ("PATCH", "/webhooks/{webhook}", {}),
    ("DELETE", "/webhooks/{webhook}", None),
    ("POST", "/contacts", {"channel_identities": [{"channel": "SMS", "identity": "12015550199"}], "language": "EN"}),
    ("GET", "/contacts", None),
    ("GET", "/contacts/{contact}", None),
    ("PATCH", "/contacts/{contact}", {}),
    ("DELETE", "/contacts/{contact}", None),
    ("POST", "/contacts/{contact}:merge", {"source_id": "{contact2}"}),
    ("GET", "/contacts:identityConflicts", None),
    (
        "POST",
        "/contacts:getChannelProfile",
        {"app_id": "{app}", "recipient": {"contact_id": "{contact}"}, "channel": "MESSENGER"},
    ),
    ("POST", "/conversations", {"app_id": "{app}", "contact_id": "{contact}", "active": False}),
    ("GET", "/conversations?app_id={app}", None),
    ("GET", "/conversations:recent?app_id={app}", None),
    ("GET", "/conversations/{conv}", None),
    ("PATCH", "/conversations/{conv}", {}),
    ("POST", "/conversations/{conv}:stop", None),
    ("DELETE", "/conversations/{conv}", None),
]
IDS = {"app": APP, "contact": CONTACT, "contact2": CONTACT, "webhook": WEBHOOK, "conv": CONV}


def fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize("method,path,body", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_credentials_are_required_and_checked(conv, method, path, body):
    path, body = fill(path, IDS), fill(body, IDS)
    assert "missing credentials" in conv.err(method, path, 401, body, headers={"Authorization": ""})
    assert conv.err(method, path, 401, body, headers={"Authorization": "Bearer not-a-token"})
    assert conv.err(method, path, 401, body, headers={"Authorization": "Basic S0VZMTpXUk9ORw=="})  # KEY1:WRONG
    other = conv.other.token()
    assert "PROJ1" in conv.err(method, path, 403, body, headers={"Authorization": f"Bearer {other}"})


def test_an_expired_token_is_401_with_the_header_the_sdks_refresh_on(conv):
    token = conv.token()
    bearer = {"Authorization": f"Bearer {token}"}
    assert conv.ok("GET", "/apps", headers=bearer) == {"apps": []}
    r = conv.client.post("/clock/advance", json={"ms": (conv.ctx.settings.oauth_token_ttl + 1) * 1000})
    assert r.status_code == 200, r.text
    for method, path, body in (("GET", "/apps", None), ("POST", "/contacts", {}), ("GET", "/conversations", None)):
        r = conv.call(method, path, body, headers=bearer)
        assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"
        assert "expired" in r.headers["www-authenticate"]
    assert conv.ok("GET", "/apps", headers={"Authorization": f"Bearer {conv.token()}"}) == {"apps": []}


def test_a_project_never_sees_another_projects_objects(conv):
    app = conv.app()["id"]
    contact = conv.contact()["id"]
    contact2 = conv.contact("+12017777778")["id"]
    webhook = conv.webhook(app)["id"]
    conversation = conv.conversation(app, contact)["id"]
    ids = {"app": app, "contact": contact, "contact2": contact2, "webhook": webhook, "conv": conversation}
    other = conv.other
    for method, path, body in ROUTES:
        if "{" not in path and method != "GET":
            continue  # creates: below
        if "{" not in path or "?" in path:  # lists (and list filters naming PROJ1's app): PROJ2's own, empty
            listed = other.ok(method, fill(path, ids))
            assert [v for v in listed.values() if isinstance(v, list)] == [[]], (path, listed)
        else:
            assert "not found" in other.err(method, fill(path, ids), 404, fill(body, ids)), path
    # creating with PROJ1's ids from PROJ2: the objects are unknown there
    assert other.err("POST", "/webhooks", 404, fill(ROUTES[6][2], ids))
    assert other.err("POST", "/conversations", 404, {"app_id": app, "contact_id": contact})
    assert other.err("POST", "/contacts:getChannelProfile", 404, fill(ROUTES[17][2], ids))
    # and PROJ1 still has everything
    assert conv.ok("GET", f"/apps/{app}")["id"] == app
    assert conv.ok("GET", f"/contacts/{contact2}")["id"] == contact2
    assert conv.ok("GET", f"/webhooks/{webhook}")["id"] == webhook
    assert conv.ok("GET", f"/conversations/{conversation}")["active"] is True


def test_bearer_and_basic_are_both_accepted(conv):
    a = conv.app()
    assert conv.ok("GET", f"/apps/{a['id']}", headers={"Authorization": f"Bearer {conv.token()}"}) == a
    assert conv.ok("GET", f"/apps/{a['id']}") == a  # Basic (the default of these tests)


def test_unknown_paths_and_methods_get_the_conversation_error_body(conv):
    assert conv.err("GET", "/gadgets", 404)
    assert conv.err("PUT", "/apps", 405)


@pytest.mark.parametrize("levels", [33, 900, 100_000])
def test_bodies_nested_too_deeply_are_400_on_every_route(conv, levels):
    app = conv.app()["id"]
    contact = conv.contact()["id"]
    ids = {
        "app": app,
        "contact": contact,
        "contact2": contact,
        "webhook": conv.webhook(app)["id"],
        "conv": conv.conversation(app, contact)["id"],
    }
    deep = b'{"metadata_json": ' + b'{"a": ' * levels + b"1" + b"}" * levels + b"}"
    for method, path, body in ROUTES:
        if body is not None:
            assert "nested deeper than 32" in conv.err(method, fill(path, ids), 400, content=deep), path


def test_free_json_may_nest_up_to_32_levels(conv):
    app, contact = conv.app()["id"], conv.contact()["id"]
    nested = 1
    for _ in range(31):
        nested = {"a": nested}
    c = conv.conversation(app, contact, metadata_json=nested)
    u = conv.ok("PATCH", f"/conversations/{c['id']}?metadata_update_strategy=MERGE_PATCH", {"metadata_json": nested})
    assert u["metadata_json"] == nested
