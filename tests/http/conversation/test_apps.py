"""Conversation apps over HTTP: create (an SMS channel is one of our service plans, proven by its
token), list, get, update with update_mask, delete (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from .resources import HANDSET

SMS = {"channel": "SMS", "static_bearer": {"claimed_identity": "SP1", "token": "TOKEN1"}}


def plan_of(conv, app_id: str):
    return conv.row("SELECT plan_id FROM conv_apps WHERE id = ?", app_id).plan_id


def test_create_returns_every_documented_field_and_binds_the_plan(conv):
    a = conv.app(processing_mode="CONVERSATION", retention_policy={"retention_type": "PERSIST_RETENTION_POLICY"})
    assert len(a["id"]) == 26 and a["display_name"] == "Shop" and a["processing_mode"] == "CONVERSATION"
    assert a["channel_credentials"] == [
        {
            **SMS,
            "callback_secret": "",
            "state": {"status": "ACTIVE", "description": ""},
            "channel_known_id": "",
            "credential_ordinal_number": 0,
        }
    ]
    assert a["rate_limits"] == {"inbound": 25, "outbound": 25, "webhooks": 25}
    assert a["queue_stats"] == {"outbound_size": 0, "outbound_limit": 500000}
    assert a["retention_policy"] == {"retention_type": "PERSIST_RETENTION_POLICY", "ttl_days": 180}
    assert {
        "dispatch_retention_policy",
        "smart_conversation",
        "callback_settings",
        "message_retry_settings",
        "delivery_report_based_fallback",
        "conversation_metadata_report_view",
    } <= set(a)
    assert plan_of(conv, a["id"]) == "SP1"
    assert conv.ok("GET", f"/apps/{a['id']}") == a


def test_an_app_made_through_the_api_sends_through_its_plan(conv):
    a = conv.app(plan="SP2")
    conv.send(a["id"], {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": HANDSET}]}}, "Via SP2")
    got = conv.wait_for(lambda: [m for m in conv.handset() if m["body"] == "Via SP2"])
    assert got[0]["service_plan_id"] == "SP2"


@pytest.mark.parametrize(
    "bearer",
    [
        {"claimed_identity": "SP1", "token": "TOKEN2"},
        {"claimed_identity": "NOPLAN", "token": "TOKEN1"},
        {"claimed_identity": "PROJ1", "token": "SECRET1"},
    ],
)
def test_an_sms_credential_must_be_a_plan_and_its_token(conv, bearer):
    msg = conv.err(
        "POST",
        "/apps",
        400,
        {"display_name": "x", "channel_credentials": [{"channel": "SMS", "static_bearer": bearer}]},
    )
    # the same words whether the plan exists or not: a wrong token confirms nothing
    assert msg == (
        "channel_credentials[0].static_bearer: claimed_identity must be a service plan id and token "
        "that plan's API token"
    )
    assert conv.ok("GET", "/apps") == {"apps": []}


def test_other_channels_are_stored_as_given_and_pending(conv):
    a = conv.ok(
        "POST",
        "/apps",
        {
            "display_name": "FB",
            "channel_credentials": [{"channel": "MESSENGER", "static_token": {"token": "fb-token", "extra": None}}],
        },
    )
    cred = a["channel_credentials"][0]
    assert cred["static_token"] == {"token": "fb-token", "extra": None} and cred["state"]["status"] == "PENDING"
    assert plan_of(conv, a["id"]) is None


def test_one_sms_channel_per_app(conv):
    second = {**SMS, "credential_ordinal_number": 1}
    assert "one SMS channel" in conv.err(
        "POST", "/apps", 400, {"display_name": "x", "channel_credentials": [SMS, second]}
    )


@pytest.mark.parametrize(
    "body,words",
    [
        ({"channel_credentials": [SMS]}, "display_name is required"),
        ({"display_name": "   ", "channel_credentials": [SMS]}, "display_name is required"),
        ({"display_name": "x"}, "channel_credentials is required"),
        ({"display_name": 5, "channel_credentials": [SMS]}, "display_name is required"),
        ({"display_name": "x", "channel_credentials": [SMS], "processing_mode": "BATCH"}, "processing_mode"),
        ({"display_name": "x", "channel_credentials": [{"channel": "PIGEON", "static_bearer": {}}]}, "channel"),
        ({"display_name": "x", "channel_credentials": [{"channel": "SMS"}]}, "static_bearer is required"),
        ({"display_name": "x", "channel_credentials": [SMS], "retention_policy": {"ttl_days": "180"}}, "ttl_days"),
        (
            {"display_name": "x", "channel_credentials": [SMS], "message_retry_settings": {"retry_duration": 5}},
            "retry_duration",
        ),
        ([SMS], "JSON object"),
    ],
)
def test_bad_create_bodies_are_400_naming_the_field(conv, body, words):
    assert words in conv.err("POST", "/apps", 400, body)


def test_bad_json_and_body_limits_are_400(conv):
    assert "not valid JSON" in conv.err("POST", "/apps", 400, content=b'{"display_name": ')
    assert "not valid UTF-8" in conv.err("POST", "/apps", 400, content=b'{"display_name": "\xff"}')
    too_big = b'{"display_name": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    assert "exceeds" in conv.err("POST", "/apps", 400, content=too_big)


def test_unknown_fields_are_ignored_and_nulls_accepted(conv):
    a = conv.ok(
        "POST",
        "/apps",
        {
            "display_name": "x",
            "channel_credentials": [{**SMS, "callback_secret": None}],
            "processing_mode": None,
            "future_field": {"a": 1},
            "rate_limits": {"inbound": 1},
        },
    )
    assert a["processing_mode"] == "DISPATCH" and "future_field" not in a and a["rate_limits"]["inbound"] == 25


def test_list_in_creation_order(conv):
    ids = [conv.app(display_name=f"a{i}")["id"] for i in range(3)]
    assert [a["id"] for a in conv.ok("GET", "/apps")["apps"]] == ids


def test_get_and_delete_unknown_apps_are_404(conv):
    for method in ("GET", "DELETE", "PATCH"):
        assert "not found" in conv.err(
            method, "/apps/01K0APP0000000000000000099", 404, {} if method == "PATCH" else None
        )
    assert conv.err("GET", "/apps/not-an-id", 404)


def test_update_with_a_mask_writes_exactly_the_listed_fields(conv):
    a = conv.app(processing_mode="CONVERSATION")
    # the Python SDK: mask = the body's keys; null clears
    u = conv.ok("PATCH", f"/apps/{a['id']}?update_mask=display_name", {"display_name": None})
    assert u["display_name"] == "" and u["processing_mode"] == "CONVERSATION"
    # listed but absent: reset to the default; not listed: untouched
    u = conv.ok(
        "PATCH",
        f"/apps/{a['id']}?update_mask=display_name%2Cprocessing_mode",
        {"display_name": "N2", "conversation_metadata_report_view": "FULL"},
    )
    assert (u["display_name"], u["processing_mode"], u["conversation_metadata_report_view"]) == (
        "N2",
        "DISPATCH",
        "NONE",
    )
    # Node: a raw comma; camelCase paths are protobuf's JSON form
    u = conv.ok(
        "PATCH",
        f"/apps/{a['id']}?update_mask=displayName,processing_mode",
        {"display_name": "N3", "processing_mode": "CONVERSATION"},
    )
    assert (u["display_name"], u["processing_mode"]) == ("N3", "CONVERSATION")
    # gRPC-gateway's form, the parameter repeated
    u = conv.ok(
        "PATCH",
        f"/apps/{a['id']}?update_mask.paths=display_name&update_mask.paths=processing_mode",
        {"display_name": "N4"},
    )
    assert (u["display_name"], u["processing_mode"]) == ("N4", "DISPATCH")
    assert conv.ok("GET", f"/apps/{a['id']}") == u


def test_update_without_a_mask_writes_the_fields_present(conv):
    a = conv.app(processing_mode="CONVERSATION")
    u = conv.ok("PATCH", f"/apps/{a['id']}", {"display_name": "New", "id": "01K0APP0000000000000000099"})
    assert (u["id"], u["display_name"], u["processing_mode"]) == (a["id"], "New", "CONVERSATION")


def test_update_rebinds_the_plan_only_with_the_right_token(conv):
    a = conv.app()
    creds = [{"channel": "SMS", "static_bearer": {"claimed_identity": "SP2", "token": "TOKEN1"}}]
    assert "static_bearer" in conv.err(
        "PATCH", f"/apps/{a['id']}?update_mask=channel_credentials", 400, {"channel_credentials": creds}
    )
    assert plan_of(conv, a["id"]) == "SP1"
    creds[0]["static_bearer"]["token"] = "TOKEN2"
    u = conv.ok("PATCH", f"/apps/{a['id']}?update_mask=channel_credentials", {"channel_credentials": creds})
    assert u["channel_credentials"][0]["static_bearer"]["claimed_identity"] == "SP2"
    assert plan_of(conv, a["id"]) == "SP2"
    # dropping the SMS channel unbinds the plan
    conv.ok(
        "PATCH",
        f"/apps/{a['id']}",
        {"channel_credentials": [{"channel": "TELEGRAM", "telegram_credentials": {"token": "t"}}]},
    )
    assert plan_of(conv, a["id"]) is None


@pytest.mark.parametrize(
    "query,body,words",
    [
        ("?update_mask=colour", {}, "update_mask: unknown field"),
        ("", {"processing_mode": "LATER"}, "processing_mode"),
        ("", {"channel_credentials": "SMS"}, "channel_credentials"),
        ("", {"channel_credentials": [{"channel": "SMS", "static_token": {"token": "t"}}]}, "static_bearer"),
    ],
)
def test_bad_updates_are_400_and_change_nothing(conv, query, body, words):
    a = conv.app()
    assert words in conv.err("PATCH", f"/apps/{a['id']}{query}", 400, body)
    assert conv.ok("GET", f"/apps/{a['id']}") == a


def test_a_listed_but_absent_credential_list_is_emptied(conv):
    a = conv.app()
    assert conv.ok("PATCH", f"/apps/{a['id']}?update_mask=channel_credentials", {})["channel_credentials"] == []
    assert plan_of(conv, a["id"]) is None


def test_delete_takes_the_apps_webhooks_and_conversations(conv):
    a = conv.app()
    w = conv.webhook(a["id"])
    c = conv.contact()
    cv = conv.conversation(a["id"], c["id"])
    assert conv.ok("DELETE", f"/apps/{a['id']}") == {}
    assert conv.err("GET", f"/apps/{a['id']}", 404)
    assert conv.err("GET", f"/webhooks/{w['id']}", 404)
    assert conv.err("GET", f"/conversations/{cv['id']}", 404)
    assert conv.ok("GET", f"/contacts/{c['id']}") == c  # contacts are the project's
    assert conv.err("DELETE", f"/apps/{a['id']}", 404)
