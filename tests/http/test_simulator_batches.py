"""`/simulator/batches`: SMS batches of every plan with their state and recipients' statuses, one
batch as the API returns it, and the cancel without a plan token (SQLite and PostgreSQL)."""

from __future__ import annotations

import msgspec

from openxms.http.simulator_batches import SimBatchDetail, SimBatches

from .conftest import Api


def batches(api: Api, expect: int = 200, **params) -> dict:
    r = api.client.get("/simulator/batches", params=params)
    assert r.status_code == expect, r.text
    if expect == 200:
        msgspec.json.decode(r.content, type=SimBatches, strict=True)
    return r.json()


def detail(api: Api, batch_id: str) -> dict:
    r = api.client.get(f"/simulator/batches/{batch_id}")
    assert r.status_code == 200, r.text
    msgspec.json.decode(r.content, type=SimBatchDetail, strict=True)
    return r.json()


def test_states_counts_pages_and_cancel(api: Api):
    done = api.send(to=["+12017770011", "+12010000001"], body="two")  # ...0001 fails
    other = api.send("SP2", to=["+46701234567"], body="plan two")
    later = api.send(to=["+12017770012"], body="later", send_at="2099-01-01T00:00:00Z")
    doomed = api.send(to=["+12017770013"], body="doomed", send_at="2099-01-01T00:00:00Z")
    api.wait_for(lambda: detail(api, done["id"])["state"] == "done" and detail(api, other["id"])["state"] == "done")

    listed = batches(api)["batches"]
    assert [b["id"] for b in listed] == [doomed["id"], later["id"], other["id"], done["id"]]
    d = detail(api, done["id"])
    assert d == {
        **d,
        "service_plan_id": "SP1",
        "state": "done",
        "from": "12015555555",
        "to": ["12017770011", "12010000001"],
        "body": "two",
        "recipients": 2,
        "counts": {"Delivered": 1, "Failed": 1},
    }
    assert d["batch"] == api.get(f"/batches/{done['id']}").json()  # exactly as the API returns it
    s = detail(api, later["id"])
    assert (s["state"], s["recipients"], s["counts"], s["send_at"]) == ("scheduled", 0, {}, "2099-01-01T00:00:00.000Z")
    assert [b["id"] for b in batches(api, scheduled="true")["batches"]] == [doomed["id"], later["id"]]
    assert [b["id"] for b in batches(api, service_plan_id="SP2")["batches"]] == [other["id"]]

    # pages by cursor
    seen, after = [], None
    while True:
        page = batches(api, limit=3, **({"after": after} if after else {}))
        seen += [b["id"] for b in page["batches"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == [b["id"] for b in listed]
    assert "cursor" in batches(api, 400, after="nope")["text"]

    # cancel: a scheduled batch is cancelled for good, its recipient Cancelled (407)
    r = api.client.post(f"/simulator/batches/{doomed['id']}/cancel", json={})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cancelled" and r.json()["counts"] == {"Cancelled": 1}
    assert api.get(f"/batches/{doomed['id']}").json()["canceled"] is True
    # advancing the clock past send_at sends the other one
    assert api.client.post("/clock/advance", json={"to": "2099-01-01T00:00:00Z"}).status_code == 200
    api.wait_for(lambda: detail(api, later["id"])["state"] == "done")
    assert detail(api, doomed["id"])["counts"] == {"Cancelled": 1}
    assert api.client.get("/simulator/batches/01NOPE").status_code == 404
    assert api.client.post("/simulator/batches/01NOPE/cancel", json={}).status_code == 404
    assert api.client.get("/simulator/batches/bad%20id").status_code == 400


def test_the_request_and_its_dry_run_per_recipient_are_the_dry_run_endpoints(api: Api):
    r = api.post("/groups", {"name": "club", "members": ["+12017770031", "+12017770032"]})
    assert r.status_code == 201, r.text
    group = r.json()["id"]
    sent = api.send(
        to=["+12017770030", group],
        body="Hi ${name}, " + "€" * 80,  # 160+ septets once the name is in: 2 parts
        parameters={"name": {"+12017770030": "Ann", "default": "there"}},
        client_reference="ref-1",
        send_at="2099-01-01T00:00:00Z",
        delivery_report="per_recipient",
        callback_url="http://127.0.0.1:9/cb",
    )
    d = detail(api, sent["id"])
    assert d["request"] == {
        "to": ["12017770030", group],
        "body": "Hi ${name}, " + "€" * 80,
        "from": "12015555555",
        "type": "mt_text",
        "delivery_report": "per_recipient",
        "send_at": "2099-01-01T00:00:00.000Z",
        "callback_url": "http://127.0.0.1:9/cb",
        "client_reference": "ref-1",
        "parameters": {"name": {"+12017770030": "Ann", "default": "there"}},  # as given
    }
    r = api.client.get(f"/simulator/batches/{sent['id']}/dry_run")
    assert r.status_code == 200, r.text
    ours = r.json()
    # the dry run of the very request, through the Sinch API, answers the same
    theirs = api.post("/batches/dry_run?per_recipient=true", d["request"])
    assert theirs.status_code == 200, theirs.text
    assert ours == theirs.json()
    assert ours["number_of_recipients"] == 3
    assert [(p["recipient"], p["number_of_parts"], p["encoding"]) for p in ours["per_recipient"]] == [
        ("12017770030", 2, "text"),
        ("12017770031", 2, "text"),
        ("12017770032", 2, "text"),
    ]
    assert ours["per_recipient"][0]["body"].startswith("Hi Ann, ")
    limited = api.client.get(f"/simulator/batches/{sent['id']}/dry_run", params={"number_of_recipients": 1}).json()
    assert len(limited["per_recipient"]) == 1 and limited["number_of_messages"] == 6
    # a group changes: the dry run of the stored request follows it, as the endpoint would
    assert api.post(f"/groups/{group}", {"add": ["+12017770033"]}).status_code == 200
    assert api.client.get(f"/simulator/batches/{sent['id']}/dry_run").json()["number_of_recipients"] == 4
    # binary and media batches, and defaults left out of the request
    binary = api.send(to=["+12017770034"], type="mt_binary", body="AAEC", udh="050003010201", expire_at=None)
    assert detail(api, binary["id"])["request"] == {
        "to": ["12017770034"],
        "body": "AAEC",
        "from": "12015555555",
        "type": "mt_binary",
        "udh": "050003010201",
    }
    assert (
        api.client.get(f"/simulator/batches/{binary['id']}/dry_run").json()
        == api.post("/batches/dry_run?per_recipient=true", detail(api, binary["id"])["request"]).json()
    )
    # errors
    assert api.client.get("/simulator/batches/01NOSUCHBATCH0000000000000/dry_run").status_code == 404
    assert api.client.get("/simulator/batches/bad id/dry_run").status_code == 400
    r = api.client.get(f"/simulator/batches/{sent['id']}/dry_run", params={"number_of_recipients": 1001})
    assert r.status_code == 400 and r.json()["code"] == "syntax_constraint_violation"
