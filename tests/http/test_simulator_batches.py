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
