"""Contacts over HTTP: create, list with filters and paging, get, update, delete, merge, identity
conflicts and channel profiles (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from .resources import HANDSET

OTHER = "+12017777778"


def sms(number: str) -> list[dict]:
    return [{"channel": "SMS", "identity": number}]


def holder(conv, channel: str, identity: str):
    r = conv.row(
        "SELECT contact_id FROM conv_identities WHERE project_id = ? AND channel = ? AND identity = ?",
        conv.project,
        channel,
        identity,
    )
    return None if r is None else r.contact_id


def test_create_returns_every_field_with_the_identity_as_digits(conv):
    c = conv.contact("+1 (201) 777-7777", display_name="Ann", metadata="m")
    assert c == {
        "id": c["id"],
        "channel_identities": [{"channel": "SMS", "identity": "12017777777", "app_id": ""}],
        "channel_priority": [],
        "display_name": "Ann",
        "email": "",
        "external_id": "",
        "metadata": "m",
        "language": "EN_US",
    }
    assert conv.ok("GET", f"/contacts/{c['id']}") == c
    assert holder(conv, "SMS", "12017777777") == c["id"]
    assert conv.contact(OTHER)["display_name"] == "Unknown"


@pytest.mark.parametrize(
    "body,words",
    [
        ({"language": "EN_US"}, "channel_identities is required"),
        ({"channel_identities": [], "language": "EN_US"}, "at least one"),
        ({"channel_identities": sms(HANDSET)}, "language is required"),
        ({"channel_identities": sms(HANDSET), "language": "KLINGON"}, "language"),
        ({"channel_identities": sms("not a number"), "language": "EN_US"}, "not a phone number"),
        ({"channel_identities": [{"channel": "SMS"}], "language": "EN_US"}, "identity is required"),
        ({"channel_identities": [{"channel": "FAX", "identity": "1"}], "language": "EN_US"}, "channel"),
        ({"channel_identities": [{"channel": "MESSENGER", "identity": "psid"}], "language": "EN_US"}, "app_id"),
        ({"channel_identities": sms(HANDSET), "language": "EN_US", "metadata": "x" * 1025}, "metadata"),
        ({"channel_identities": sms(HANDSET), "language": "EN_US", "email": 7}, "email"),
        ({"channel_identities": sms(HANDSET), "language": "EN_US", "channel_priority": ["SMTP"]}, "channel_priority"),
    ],
)
def test_bad_contacts_are_400(conv, body, words):
    assert words in conv.err("POST", "/contacts", 400, body)


def test_nulls_and_unknown_fields_are_accepted(conv):
    c = conv.ok(
        "POST",
        "/contacts",
        {"channel_identities": sms(HANDSET), "language": "EN_US", "email": None, "display_name": None, "nickname": "x"},
    )
    assert c["display_name"] == "Unknown" and c["email"] == "" and "nickname" not in c


def test_an_identity_belongs_to_one_contact(conv):
    first = conv.contact(HANDSET)
    msg = conv.err("POST", "/contacts", 409, {"channel_identities": sms("12017777777"), "language": "EN_US"})
    assert f"already belongs to contact {first['id']}" in msg
    assert [c["id"] for c in conv.ok("GET", "/contacts")["contacts"]] == [first["id"]]
    # another project may hold the same number
    assert conv.other.contact(HANDSET)["id"] != first["id"]


def test_paging_visits_every_contact_once(conv):
    ids = [conv.contact(f"+1201555000{i}")["id"] for i in range(5)]
    seen, token, pages = [], None, 0
    while True:
        page = conv.ok("GET", "/contacts", params={"page_size": 2, **({"page_token": token} if token else {})})
        seen += [c["id"] for c in page["contacts"]]
        pages += 1
        token = page["next_page_token"]
        if not token:
            break
    assert seen == ids and pages == 3
    assert len(conv.ok("GET", "/contacts")["contacts"]) == 5  # default 10
    assert len(conv.ok("GET", "/contacts?page_size=0")["contacts"]) == 5  # 0: the default


def test_the_page_size_is_capped_at_20(conv):
    for i in range(21):
        conv.contact(f"+120155510{i:02d}")
    page = conv.ok("GET", "/contacts?page_size=500")
    assert len(page["contacts"]) == 20 and page["next_page_token"]
    assert len(conv.ok("GET", "/contacts", params={"page_token": page["next_page_token"]})["contacts"]) == 1


@pytest.mark.parametrize(
    "query,words",
    [
        ("page_size=-1", "negative"),
        ("page_size=ten", "integer"),
        ("page_token=garbage", "page_token"),
        ("channel=SMS", "together"),
        ("identity=1201", "together"),
        ("channel=PIGEON&identity=1", "channel"),
        ("external_id=e&channel=SMS&identity=1", "cannot be combined"),
    ],
)
def test_bad_list_queries_are_400(conv, query, words):
    assert words in conv.err("GET", f"/contacts?{query}", 400)


def test_a_page_token_is_bound_to_its_filter(conv):
    for i in range(3):
        conv.contact(f"+1201555000{i}", external_id="e")
    token = conv.ok("GET", "/contacts?page_size=1&external_id=e")["next_page_token"]
    assert "another query" in conv.err("GET", f"/contacts?page_token={token}", 400)


@pytest.mark.parametrize(
    "identity", ["+12017777777", "%2B12017777777", "%2012017777777", "12017777777", "+1%20201%20777%207777"]
)
def test_filter_by_identity_in_every_form_the_sdks_send(conv, identity):
    c = conv.contact(HANDSET)
    conv.contact(OTHER)
    page = conv.ok("GET", f"/contacts?channel=SMS&identity={identity}")
    assert [x["id"] for x in page["contacts"]] == [c["id"]] and page["next_page_token"] == ""


def test_filter_by_external_id(conv):
    c = conv.contact(HANDSET, external_id="crm-1")
    conv.contact(OTHER, external_id="crm-2")
    assert [x["id"] for x in conv.ok("GET", "/contacts?external_id=crm-1")["contacts"]] == [c["id"]]
    assert conv.ok("GET", "/contacts?external_id=none")["contacts"] == []


def test_update_with_a_mask_clears_a_null_field(conv):
    c = conv.contact(HANDSET, email="a@example.com", display_name="Ann")
    u = conv.ok("PATCH", f"/contacts/{c['id']}?update_mask=email", {"email": None})
    assert u["email"] == "" and u["display_name"] == "Ann"
    u = conv.ok(
        "PATCH",
        f"/contacts/{c['id']}?update_mask=channel_priority%2Cdisplay_name",
        {"channel_priority": ["SMS"], "display_name": "Bob"},
    )
    assert (u["channel_priority"], u["display_name"]) == (["SMS"], "Bob")
    assert conv.ok("PATCH", f"/contacts/{c['id']}?update_mask=display_name", {})["display_name"] == "Unknown"
    assert conv.ok("GET", f"/contacts/{c['id']}")["display_name"] == "Unknown"


def test_changing_identities_moves_them_in_the_index(conv):
    c = conv.contact(HANDSET)
    u = conv.ok("PATCH", f"/contacts/{c['id']}", {"channel_identities": sms(OTHER)})
    assert u["channel_identities"][0]["identity"] == "12017777778"
    assert holder(conv, "SMS", "12017777777") is None and holder(conv, "SMS", "12017777778") == c["id"]
    conv.contact(HANDSET)  # the old number is free again


def test_taking_another_contacts_identity_is_409_and_changes_nothing(conv):
    a, b = conv.contact(HANDSET), conv.contact(OTHER, display_name="B")
    body = {"channel_identities": [*sms("+12019999999"), *sms(HANDSET)], "display_name": "taken"}
    assert a["id"] in conv.err("PATCH", f"/contacts/{b['id']}", 409, body)
    assert conv.ok("GET", f"/contacts/{b['id']}") == b
    assert holder(conv, "SMS", "12019999999") is None and holder(conv, "SMS", "12017777778") == b["id"]


@pytest.mark.parametrize(
    "query,body,words",
    [
        ("?update_mask=channel_identities", {}, "at least one"),
        ("", {"language": "XX"}, "language"),
        ("?update_mask=shoe_size", {}, "unknown field"),
    ],
)
def test_bad_updates_are_400(conv, query, body, words):
    c = conv.contact()
    assert words in conv.err("PATCH", f"/contacts/{c['id']}{query}", 400, body)
    assert conv.ok("GET", f"/contacts/{c['id']}") == c


def test_delete_frees_the_identities_and_ends_the_conversations(conv):
    a = conv.app()
    c = conv.contact(HANDSET)
    cv = conv.conversation(a["id"], c["id"])
    assert conv.ok("DELETE", f"/contacts/{c['id']}") == {}
    for method in ("GET", "DELETE"):
        assert conv.err(method, f"/contacts/{c['id']}", 404)
    assert conv.err("GET", f"/conversations/{cv['id']}", 404)
    assert holder(conv, "SMS", "12017777777") is None
    conv.contact(HANDSET)


def test_merge_moves_identities_fields_and_conversations(conv):
    a = conv.app(processing_mode="CONVERSATION")
    other_app = conv.app(display_name="Other")
    dest = conv.contact(HANDSET, display_name="Dest")
    source = conv.ok(
        "POST",
        "/contacts",
        {
            "channel_identities": [*sms(OTHER), {"channel": "MESSENGER", "identity": "psid-1", "app_id": a["id"]}],
            "language": "SV",
            "email": "s@example.com",
            "display_name": "Source",
        },
    )
    kept = conv.conversation(a["id"], dest["id"])
    joined = conv.conversation(a["id"], source["id"])
    moved = conv.conversation(other_app["id"], source["id"])
    message = conv.send(a["id"], {"contact_id": source["id"]})  # joins the source's active conversation
    assert conv.ok("GET", f"/messages/{message}")["conversation_id"] == joined["id"]

    merged = conv.ok("POST", f"/contacts/{dest['id']}:merge", {"source_id": source["id"]})
    assert merged["id"] == dest["id"] and merged["display_name"] == "Dest"
    assert merged["channel_identities"] == [
        dest["channel_identities"][0],
        {"channel": "MESSENGER", "identity": "psid-1", "app_id": a["id"]},
    ]
    assert merged["channel_priority"] == ["MESSENGER"] and merged["email"] == "s@example.com"
    assert merged["language"] == "EN_US"  # the destination's, not empty
    assert conv.ok("GET", f"/contacts/{dest['id']}") == merged
    assert conv.err("GET", f"/contacts/{source['id']}", 404)
    # identities: moved ones point at the destination, the dropped SMS one is free
    assert holder(conv, "MESSENGER", "psid-1") == dest["id"] and holder(conv, "SMS", "12017777778") is None
    # the same app: the source's messages joined the destination's active conversation
    assert conv.err("GET", f"/conversations/{joined['id']}", 404)
    m = conv.ok("GET", f"/messages/{message}")
    assert (m["conversation_id"], m["contact_id"]) == (kept["id"], dest["id"])
    # another app: the conversation itself moved
    assert conv.ok("GET", f"/conversations/{moved['id']}")["contact_id"] == dest["id"]


def test_merge_is_the_contacts_sdk_shape(conv):
    dest, source = conv.contact(HANDSET), conv.contact(OTHER)
    # Node: {"source_id"}; the strategy, when sent, is MERGE; explicit nulls are fine
    conv.ok("POST", f"/contacts/{dest['id']}:merge", {"source_id": source["id"], "strategy": None})
    assert conv.err("GET", f"/contacts/{source['id']}", 404)


@pytest.mark.parametrize(
    "body,status,words",
    [
        ({}, 400, "source_id is required"),
        ({"source_id": ""}, 400, "source_id is required"),
        ({"source_id": "SELF"}, 400, "into itself"),
        ({"source_id": "01K0CON0000000000000000099"}, 404, "not found"),
        ({"source_id": "SRC", "strategy": "SQUASH"}, 400, "strategy"),
        ({"source_id": 5}, 400, "source_id"),
    ],
)
def test_bad_merges(conv, body, status, words):
    dest, source = conv.contact(HANDSET), conv.contact(OTHER)
    body = {
        k: {"SELF": dest["id"], "SRC": source["id"]}.get(v, v) if isinstance(v, str) else v for k, v in body.items()
    }
    assert words in conv.err("POST", f"/contacts/{dest['id']}:merge", status, body)
    assert conv.ok("GET", f"/contacts/{source['id']}") == source
    assert conv.err("POST", "/contacts/01K0CON0000000000000000099:merge", 404, {"source_id": source["id"]})


def test_identity_conflicts_are_always_empty(conv):
    conv.contact(HANDSET)
    assert conv.ok("GET", "/contacts:identityConflicts") == {"conflicts": [], "next_page_token": ""}
    assert conv.ok("GET", "/contacts:identityConflicts?page_size=5")["conflicts"] == []
    assert "page_size" in conv.err("GET", "/contacts:identityConflicts?page_size=x", 400)


def test_channel_profiles(conv):
    a = conv.app()
    c = conv.contact()
    body = {"app_id": a["id"], "recipient": {"contact_id": c["id"]}, "channel": "SMS"}
    assert "MESSENGER" in conv.err("POST", "/contacts:getChannelProfile", 400, body)
    for missing in ("app_id", "recipient", "channel"):
        assert f"{missing} is required" in conv.err(
            "POST", "/contacts:getChannelProfile", 400, {k: v for k, v in body.items() if k != missing}
        )
    assert conv.err("POST", "/contacts:getChannelProfile", 400, {**body, "recipient": {}})
    assert conv.err(
        "POST",
        "/contacts:getChannelProfile",
        404,
        {**body, "channel": "MESSENGER", "app_id": "01K0APP0000000000000000099"},
    )
    assert "SMS channel only" in conv.err("POST", "/contacts:getChannelProfile", 501, {**body, "channel": "MESSENGER"})
