"""Conversations over HTTP: create (one active per app and contact), list, recent, get, update with
metadata strategies, stop, delete (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from .resources import HANDSET

GHOST_APP, GHOST_CONTACT = "01K0APP0000000000000000099", "01K0CON0000000000000000099"


@pytest.fixture
def pair(conv):
    """An app in CONVERSATION mode and a contact."""
    return conv.app(processing_mode="CONVERSATION")["id"], conv.contact()["id"]


def test_create_and_get(conv, pair):
    app_id, contact_id = pair
    c = conv.conversation(
        app_id,
        contact_id,
        id="IGNORED",
        metadata="m",
        metadata_json={"k": [1, None]},
        correlation_id="corr",
        last_received="2030-01-01T00:00:00Z",
    )
    assert c == {
        "id": c["id"],
        "app_id": app_id,
        "contact_id": contact_id,
        "active": True,
        "active_channel": "CHANNEL_UNSPECIFIED",
        "metadata": "m",
        "metadata_json": {"k": [1, None]},
        "correlation_id": "corr",
        "last_received": "1970-01-01T00:00:00Z",
    }
    assert len(c["id"]) == 26
    assert conv.ok("GET", f"/conversations/{c['id']}") == c


def test_one_active_conversation_per_app_and_contact(conv, pair):
    app_id, contact_id = pair
    first = conv.conversation(app_id, contact_id)
    assert first["id"] in conv.err("POST", "/conversations", 409, {"app_id": app_id, "contact_id": contact_id})
    inactive = conv.conversation(app_id, contact_id, active=False)
    assert inactive["active"] is False
    other = conv.conversation(conv.app()["id"], contact_id)  # another app: its own
    assert other["active"] is True


@pytest.mark.parametrize(
    "body,status,words",
    [
        ({"contact_id": "CONTACT"}, 400, "app_id is required"),
        ({"app_id": "APP"}, 400, "contact_id is required"),
        ({"app_id": "nope", "contact_id": "CONTACT"}, 400, "not a valid id"),
        ({"app_id": GHOST_APP, "contact_id": "CONTACT"}, 404, "app"),
        ({"app_id": "APP", "contact_id": GHOST_CONTACT}, 404, "contact"),
        ({"app_id": "APP", "contact_id": "CONTACT", "active_channel": "PIGEON"}, 400, "active_channel"),
        ({"app_id": "APP", "contact_id": "CONTACT", "metadata_json": "not an object"}, 400, "metadata_json"),
        ({"app_id": "APP", "contact_id": "CONTACT", "correlation_id": "c" * 129}, 400, "correlation_id"),
        ({"app_id": "APP", "contact_id": "CONTACT", "active": "yes"}, 400, "active"),
    ],
)
def test_bad_creates(conv, pair, body, status, words):
    app_id, contact_id = pair
    body = {k: {"APP": app_id, "CONTACT": contact_id}.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    assert words in conv.err("POST", "/conversations", status, body)
    assert conv.ok("GET", f"/conversations?app_id={app_id}")["total_size"] == 0


def test_list_filters_and_pages(conv, pair):
    app_id, contact_id = pair
    other_contact = conv.contact("+12017777778")["id"]
    stopped = conv.conversation(app_id, contact_id)
    conv.ok("POST", f"/conversations/{stopped['id']}:stop")
    active = conv.conversation(app_id, contact_id)
    third = conv.conversation(app_id, other_contact)
    page = conv.ok("GET", f"/conversations?app_id={app_id}&page_size=2")
    assert [c["id"] for c in page["conversations"]] == [stopped["id"], active["id"]] and page["total_size"] == 3
    rest = conv.ok("GET", f"/conversations?app_id={app_id}&page_size=2&page_token={page['next_page_token']}")
    assert [c["id"] for c in rest["conversations"]] == [third["id"]] and rest["next_page_token"] == ""
    assert [
        c["id"] for c in conv.ok("GET", f"/conversations?contact_id={contact_id}&only_active=True")["conversations"]
    ] == [active["id"]]
    both = conv.ok("GET", f"/conversations?app_id={app_id}&contact_id={other_contact}&only_active=true")
    assert [c["id"] for c in both["conversations"]] == [third["id"]] and both["total_size"] == 1
    conv.ok("PATCH", f"/conversations/{third['id']}", {"active_channel": "SMS"})
    assert [c["id"] for c in conv.ok("GET", f"/conversations?app_id={app_id}&active_channel=SMS")["conversations"]] == [
        third["id"]
    ]


@pytest.mark.parametrize(
    "query,words",
    [
        ("", "app_id or contact_id is required"),
        ("app_id=A&only_active=maybe", "only_active"),
        ("app_id=A&active_channel=FAX", "active_channel"),
        ("app_id=A&page_size=-2", "page_size"),
        ("app_id=A&page_token=xyz", "page_token"),
    ],
)
def test_bad_list_queries(conv, query, words):
    assert words in conv.err("GET", f"/conversations?{query}", 400)


def test_recent_orders_by_the_newest_message_and_carries_it(conv, pair):
    app_id, contact_id = pair
    other_contact = conv.contact("+12017777778")["id"]
    quiet = conv.conversation(app_id, other_contact)  # no messages
    first = conv.send(app_id, {"contact_id": contact_id}, "first")  # makes the contact's conversation
    conv.client.post("/clock/advance", json={"ms": 1000})
    second = conv.send(app_id, {"contact_id": contact_id}, "second")
    busy = conv.ok("GET", f"/messages/{first}")["conversation_id"]
    assert conv.ok("GET", f"/messages/{second}")["conversation_id"] == busy
    page = conv.ok("GET", f"/conversations:recent?app_id={app_id}")
    assert [i["conversation"]["id"] for i in page["conversations"]] == [busy, quiet["id"]]
    assert page["total_size"] == 2 and page["next_page_token"] == ""
    last = page["conversations"][0]["last_message"]
    assert last["id"] == second and last["app_message"] == {"text_message": {"text": "second"}}
    assert "last_message" not in page["conversations"][1]
    asc = conv.ok("GET", f"/conversations:recent?app_id={app_id}&order=ASC&page_size=1")
    assert [i["conversation"]["id"] for i in asc["conversations"]] == [quiet["id"]]
    more = conv.ok(
        "GET", f"/conversations:recent?app_id={app_id}&order=ASC&page_size=1&page_token={asc['next_page_token']}"
    )
    assert [i["conversation"]["id"] for i in more["conversations"]] == [busy] and more["next_page_token"] == ""
    conv.ok("POST", f"/conversations/{quiet['id']}:stop")
    only = conv.ok("GET", f"/conversations:recent?app_id={app_id}&only_active=true")
    assert [i["conversation"]["id"] for i in only["conversations"]] == [busy]


@pytest.mark.parametrize(
    "query,words",
    [("", "app_id is required"), ("app_id=A&order=SIDEWAYS", "order"), ("app_id=A&page_size=x", "page_size")],
)
def test_bad_recent_queries(conv, query, words):
    assert words in conv.err("GET", f"/conversations:recent?{query}", 400)


def test_update_replaces_or_merges_metadata_json(conv, pair):
    c = conv.conversation(*pair, metadata_json={"a": 1, "b": {"c": 2, "d": 3}})
    path = f"/conversations/{c['id']}"
    u = conv.ok("PATCH", f"{path}?metadata_update_strategy=MERGE_PATCH", {"metadata_json": {"b": {"c": None}, "e": 5}})
    assert u["metadata_json"] == {"a": 1, "b": {"d": 3}, "e": 5}
    u = conv.ok("PATCH", f"{path}?metadata_update_strategy=REPLACE", {"metadata_json": {"z": 0}})
    assert u["metadata_json"] == {"z": 0}
    u = conv.ok("PATCH", f"{path}?update_mask=metadata", {"metadata": "md", "correlation_id": "ignored"})
    assert (u["metadata"], u["correlation_id"], u["metadata_json"]) == ("md", "", {"z": 0})
    # read-only fields are not written
    u = conv.ok("PATCH", path, {"active": False, "app_id": GHOST_APP, "contact_id": GHOST_CONTACT})
    assert (u["active"], u["app_id"], u["contact_id"]) == (True, c["app_id"], c["contact_id"])
    assert conv.ok("GET", path) == u


@pytest.mark.parametrize(
    "query,body,words",
    [
        ("?metadata_update_strategy=UPSERT", {}, "metadata_update_strategy"),
        ("?update_mask=colour", {}, "unknown field"),
        ("", {"metadata": "x" * 1025}, "metadata"),
        ("", {"metadata_json": [1]}, "metadata_json"),
    ],
)
def test_bad_updates(conv, pair, query, body, words):
    c = conv.conversation(*pair)
    assert words in conv.err("PATCH", f"/conversations/{c['id']}{query}", 400, body)
    assert conv.ok("GET", f"/conversations/{c['id']}") == c


def test_stop_ends_it_and_the_next_message_starts_another(conv, pair):
    app_id, contact_id = pair
    c = conv.conversation(app_id, contact_id)
    # Node sends no body but Content-Type: application/json
    assert conv.ok("POST", f"/conversations/{c['id']}:stop", content=b"") == {}
    assert conv.ok("GET", f"/conversations/{c['id']}")["active"] is False
    assert conv.ok("POST", f"/conversations/{c['id']}:stop") == {}  # again: nothing changes
    m = conv.send(app_id, {"contact_id": contact_id})
    fresh = conv.ok("GET", f"/messages/{m}")["conversation_id"]
    assert fresh != c["id"] and conv.ok("GET", f"/conversations/{fresh}")["active"] is True


def test_delete_takes_its_messages(conv, pair):
    app_id, contact_id = pair
    m = conv.send(app_id, {"contact_id": contact_id})
    cid = conv.ok("GET", f"/messages/{m}")["conversation_id"]
    assert conv.ok("DELETE", f"/conversations/{cid}") == {}
    assert conv.err("GET", f"/conversations/{cid}", 404)
    assert conv.err("GET", f"/messages/{m}", 404)
    for method, path in (("GET", ""), ("DELETE", ""), ("PATCH", ""), ("POST", ":stop")):
        assert conv.err(method, f"/conversations/{cid}{path}", 404, {} if method == "PATCH" else None)


def test_last_received_is_the_newest_inbound_message(conv, pair):
    app_id, contact_id = pair
    m = conv.send(app_id, {"contact_id": contact_id})
    cid = conv.ok("GET", f"/messages/{m}")["conversation_id"]
    conv.wait_for(lambda: conv.handset())
    r = conv.client.post(
        f"/simulator/handsets/{HANDSET}/messages", json={"to": "12025550100", "body": "YES", "service_plan_id": "SP1"}
    )
    assert r.status_code == 201, r.text
    got = conv.wait_for(
        lambda: (c := conv.ok("GET", f"/conversations/{cid}"))["last_received"] != "1970-01-01T00:00:00Z" and c
    )
    assert got["last_received"].endswith("Z") and got["active"] is True


def test_a_forged_page_token_is_400_not_an_overflow(conv, pair):
    from openxms.conversation import query as q
    from openxms.store.conversation.conversations import ConversationQuery

    app_id, _ = pair
    scope = repr(ConversationQuery("PROJ1", app_id, None, False, None))
    assert "page_token" in conv.err(
        "GET", f"/conversations?app_id={app_id}&page_token={q.encode_page_token(10**30, scope)}", 400
    )
    recent = f"recent|{ConversationQuery('PROJ1', app_id, None, False)!r}|DESC"
    assert "page_token" in conv.err(
        "GET", f"/conversations:recent?app_id={app_id}&page_token={q.encode_page_token(2**40, recent)}", 400
    )
