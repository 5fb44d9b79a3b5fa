"""`/simulator/messages`: every outbound message across plans, really sent through the engine
(SQLite and PostgreSQL): fields as documented, search, filters, cursor pages, one message."""

from __future__ import annotations

import msgspec
from starlette.testclient import TestClient

from openxms.http.simulator_messages import SimMessageDetail, SimMessages

from .conftest import Api
from .conversation.support import add_app, send_text

APP = "01K0APP0000000000000000001"


def listed(api: Api, expect: int = 200, **params) -> dict:
    r = api.client.get("/simulator/messages", params=params)
    assert r.status_code == expect, r.text
    if expect == 200:
        msgspec.json.decode(r.content, type=SimMessages, strict=True)  # as the document says
    return r.json()


def test_messages_of_every_plan_newest_first_searchable(api: Api):
    a = api.send(
        to=["+12017770011", "+12017770012"],
        body="Hello ${name}",
        client_reference="order-4711",
        parameters={"name": {"+12017770011": "Ann", "default": "you"}},
    )
    b = api.send("SP2", to=["+46701234567"], body="Ünïcode ✓")
    failing = api.send(to=["+12010000001"], body="will fail")  # ends in 0001: Failed 153
    add_app(api.ctx, APP)
    conv_id = send_text(api.client, APP, "+12017770019", "from the app")
    api.wait_for(lambda: all(m["final"] for m in listed(api)["messages"]) and len(listed(api)["messages"]) == 5)

    got = listed(api)
    assert got["next"] is None
    msgs = got["messages"]
    assert [m["to"] for m in msgs] == ["12017770019", "12010000001", "46701234567", "12017770012", "12017770011"]
    conv, fail, uni, you, ann = msgs
    assert ann == {
        **ann,
        "batch_id": a["id"],
        "service_plan_id": "SP1",
        "origin": "sms",
        "conversation": None,
        "from": "12015555555",
        "body": "Hello Ann",  # as it reached the handset
        "encoding": "text",
        "parts": 1,
        "status": "Delivered",
        "code": 0,
        "client_reference": "order-4711",
    }
    assert you["body"] == "Hello you" and ann["received_at"].endswith("Z")
    assert uni["service_plan_id"] == "SP2" and uni["encoding"] == "unicode"
    assert (fail["status"], fail["code"]) == ("Failed", 153)
    assert conv["origin"] == "conversation" and conv["conversation"]["app_id"] == APP
    assert conv["conversation"]["message_id"] == conv_id == conv["batch_id"]

    def tos(**params):
        return [m["to"] for m in listed(api, **params)["messages"]]

    # search: text, any part of a number, batch id, client_reference; every word must occur
    assert tos(q="hello") == ["12017770012", "12017770011"]
    assert tos(q="+1 201 777 0012") == ["12017770012"]
    assert tos(q="770") == ["12017770019", "12017770012", "12017770011"]
    assert tos(q=b["id"]) == ["46701234567"]
    assert tos(q="order-47 ann") == []  # the template is indexed, the handset's text is not
    assert tos(q="order-47 hello") == ["12017770012", "12017770011"]
    assert tos(q="nïcode") == ["46701234567"]
    # filters
    assert tos(service_plan_id="SP2") == ["46701234567"]
    assert tos(status="failed") == ["12010000001"]
    assert tos(status="Delivered", code="0", q="app") == ["12017770019"]
    assert tos(batch_id=failing["id"]) == ["12010000001"]
    assert tos(start_date="2000-01-01T00:00:00Z", end_date="2001-01-01T00:00:00Z") == []
    # cursor pages
    seen, after = [], None
    while True:
        page = listed(api, limit=2, **({"after": after} if after else {}))
        seen += [m["id"] for m in page["messages"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == [m["id"] for m in msgs]
    # one message
    r = api.client.get(f"/simulator/messages/{ann['id']}")
    assert r.status_code == 200 and msgspec.json.decode(r.content, type=SimMessageDetail, strict=True)
    one = r.json()
    assert {k: one[k] for k in ann} == ann
    assert one["segments"] == [{"text": "Hello Ann", "units": 9, "unit": "septets", "udh": None}]
    # the report exactly as the SMS API serves it
    assert one["delivery_report"] == api.get(f"/batches/{a['id']}/delivery_report/+12017770011").json()
    conv_one = api.client.get(f"/simulator/messages/{conv['id']}").json()
    assert conv_one["delivery_report"] is None
    assert conv_one["segments"] == [{"text": "from the app", "units": 12, "unit": "septets", "udh": None}]
    long = api.send(to=["+12017770015"], body="x" * 150 + "€" * 10)  # € is an escape: 2 septets each
    api.wait_for(lambda: listed(api, batch_id=long["id"])["messages"][0]["final"])
    lid = listed(api, batch_id=long["id"])["messages"][0]["id"]
    segs = api.client.get(f"/simulator/messages/{lid}").json()["segments"]
    assert [s["units"] for s in segs] == [152, 18] and "".join(s["text"] for s in segs) == "x" * 150 + "€" * 10
    assert api.client.get("/simulator/messages/999999").status_code == 404
    assert api.client.get("/simulator/messages/x").status_code == 400
    # bad filters are 400s with the reason
    assert "unknown status" in listed(api, 400, status="Happy")["text"]
    assert listed(api, 400, limit=0)["code"] == "syntax_constraint_violation"
    assert listed(api, 400, start_date="yesterday")["code"]


def test_the_indexer_indexes_what_was_sent(database_url, tmp_path):
    from .conftest import make_api

    app, ctx = make_api(database_url, tmp_path)
    with TestClient(app) as client:
        api = Api(client, ctx)
        api.send(to=[f"+1201888{i:04d}" for i in range(30)], body="indexed soon")
        from openxms.store import search

        api.wait_for(
            lambda: (
                ctx.db.run_sync(search.watermark) > 0
                and ctx.db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM msg_search")) == 30
            )
        )
        assert len(listed(api, q="indexed soon", limit=100)["messages"]) == 30
