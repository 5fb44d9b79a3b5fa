"""messages:send decided from a per-process copy of the app (`MessageService._prepare`) and
written in groups (`_send_group`): a stale copy never decides a send (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.testclient import TestClient

from openxms.conversation.send import decode_send

from ..conftest import Api, make_api
from .support import BASIC, PROJECT, add_app, url

APP = "01K0APP0000000000000000001"
APP2 = "01K0APP0000000000000000002"


@pytest.fixture
def conv(database_url, tmp_path):
    app, ctx = make_api(database_url, tmp_path)
    with TestClient(app) as client:
        add_app(ctx, APP)
        add_app(ctx, APP2, plan="SP2", token="TOKEN2")
        yield Api(client, ctx)


def body(app_id: str = APP, number: str = "+12017777777", text: str = "hi") -> dict:
    return {
        "app_id": app_id,
        "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": number}]}},
        "message": {"text_message": {"text": text}},
        "channel_properties": {"SMS_SENDER": "+12025550100"},
    }


def send(api, b: dict, status: int = 200) -> dict:
    r = api.client.post(url("/messages:send"), json=b, headers=BASIC)
    assert r.status_code == status, r.text
    return r.json()


def message(api, message_id: str) -> dict:
    return api.client.get(url(f"/messages/{message_id}"), headers=BASIC).json()


def carrier_plan(api, message_id: str) -> str:
    return api.ctx.db.run_sync(
        lambda tx: tx.scalar(
            "SELECT r.account_id FROM conv_messages m JOIN recipients r ON r.id = m.recipient_id WHERE m.id = ?",
            (message_id,),
        )
    )


def set_app(api, app_id: str, **changes) -> None:
    """Change an app in the store behind this process's back, as another node's request would."""

    def change(tx):
        doc = json.loads(tx.scalar("SELECT doc FROM conv_apps WHERE id = ?", (app_id,)))
        plan = changes.pop("plan", None)
        doc.update(changes)
        if plan is not None:
            tx.execute("UPDATE conv_apps SET plan_id = ? WHERE id = ?", (plan, app_id))
        tx.execute("UPDATE conv_apps SET doc = ? WHERE id = ?", (json.dumps(doc), app_id))

    api.ctx.db.run_sync(change)


def test_an_app_changed_elsewhere_decides_the_next_send(conv):
    first = send(conv, body())
    assert (PROJECT, APP) in conv.ctx.conversation_messages.apps
    assert message(conv, first["message_id"])["processing_mode"] == "DISPATCH"
    set_app(conv, APP, processing_mode="CONVERSATION")
    second = message(conv, send(conv, body())["message_id"])
    assert second["processing_mode"] == "CONVERSATION" and second["conversation_id"] and second["contact_id"]
    set_app(conv, APP, processing_mode="DISPATCH", plan="SP2")
    third = send(conv, body())["message_id"]
    assert carrier_plan(conv, first["message_id"]) == "SP1" and carrier_plan(conv, third) == "SP2"


def test_a_deleted_app_is_not_found_although_it_was_cached(conv):
    send(conv, body())
    assert conv.client.delete(url(f"/apps/{APP}"), headers=BASIC).status_code == 200
    r = conv.client.post(url("/messages:send"), json=body(), headers=BASIC)
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"
    assert (PROJECT, APP) not in conv.ctx.conversation_messages.apps
    add_app(conv.ctx, APP)
    send(conv, body())


def test_a_group_of_sends_checks_each_app_once_and_decides_a_stale_one_again(conv):
    svc = conv.ctx.conversation_messages
    send(conv, body())
    send(conv, body(APP2))
    now = conv.ctx.clock.now_ms()
    units = []
    for i, app_id in enumerate([APP, APP2, APP, APP2, APP]):
        req = decode_send(json.dumps(body(app_id, f"+1201888000{i}", f"m{i}")).encode())
        message_id = svc.messaging.ids.new()
        prepared = svc._prepare(svc.apps[(PROJECT, app_id)], req, message_id, now)
        assert prepared is not None
        units.append((PROJECT, req, message_id, now, prepared))
    set_app(conv, APP2, processing_mode="CONVERSATION")  # stale in the cache now
    results = conv.ctx.db.run_sync(svc._send_group, units)
    assert [plan for plan, _ in results] == ["SP1", "SP2", "SP1", "SP2", "SP1"]
    modes = [message(conv, u[2])["processing_mode"] for u in units]
    assert modes == ["DISPATCH", "CONVERSATION", "DISPATCH", "CONVERSATION", "DISPATCH"]
    # every message has its carrier, queued in the order of the sends
    rows = conv.ctx.db.run_sync(
        lambda tx: tx.all(
            "SELECT m.id, r.id AS rid, r.msisdn FROM conv_messages m JOIN recipients r ON r.id = m.recipient_id "
            "WHERE m.id IN (?, ?, ?, ?, ?)",
            [u[2] for u in units],
        )
    )
    assert len(rows) == 5
    by_id = {r.id: r for r in rows}
    sp1 = [by_id[u[2]].rid for u in units if u[4].app.id == APP]
    assert sp1 == sorted(sp1)


def test_concurrent_sends_are_each_stored_once(conv):
    send(conv, body())
    numbers = [f"+1201999{i:04d}" for i in range(60)]
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda n: send(conv, body(APP if n[-1] in "02468" else APP2, n))["message_id"], numbers))
    assert len(set(ids)) == 60
    stored = conv.ctx.db.run_sync(
        lambda tx: tx.all(
            "SELECT m.id, r.msisdn, r.account_id FROM conv_messages m JOIN recipients r ON r.id = m.recipient_id "
            "WHERE r.msisdn LIKE '1201999%'"
        )
    )
    assert sorted(r.msisdn for r in stored) == sorted(n[1:] for n in numbers)
    assert all(r.account_id == ("SP1" if r.msisdn[-1] in "02468" else "SP2") for r in stored)
