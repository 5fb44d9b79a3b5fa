"""The Conversation Batch API on the real engine: fan-out with parameters and metadata,
send_after rounding on the manual clock, cancel, status (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from openxms.sms import dates

from ...engine.receiver import Receiver
from ..conftest import Api, make_api
from .support import BASIC, add_app, add_webhook

APP = "01K0APP0000000000000000001"
B = "/conversationbatch/v1/projects/PROJ1/messages"


@pytest.fixture
def conv(database_url, tmp_path):
    with Receiver() as rx:
        app, ctx = make_api(database_url, tmp_path)
        with TestClient(app) as client:
            api = Api(client, ctx)
            api.rx = rx
            add_app(ctx, APP)
            add_webhook(ctx, "01K0WH00000000000000000001", APP, rx.url + "/conv", ["MESSAGE_DELIVERY"], "whsec")
            token = client.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=BASIC).json()
            api.bearer = {"Authorization": f"Bearer {token['access_token']}"}
            yield api


def rp(number: str, **extra) -> dict:
    return {"recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": number}]}}, **extra}


def batch(**extra) -> dict:
    return {
        "app_id": APP,
        "message": {"text_message": {"text": "Hi ${name}, code ${code}"}},
        "recipient_and_params": [
            rp("+12017770011", parameters={"name": "Ann", "code": "123"}, message_metadata={"row": "1"}),
            rp("+12017770012", parameters={"name": "Bo"}),
        ],
        "batch_metadata": {"campaign_id": "spring"},
        "message_metadata": {"campaign": "spring", "row": "0"},
        "channel_properties": {"SMS_SENDER": "+12025550100"},
        **extra,
    }


def post(api, body, status=200):
    r = api.client.post(B, json=body, headers=api.bearer)
    assert r.status_code == status, r.text
    return r.json()


def status_of(api, batch_id):
    return api.client.get(f"{B}/{batch_id}", headers=api.bearer).json()


def texts(api, number):
    return [m["body"] for m in api.client.get(f"/simulator/handsets/{number}/messages").json()["messages"]]


def test_fan_out_with_parameters_and_metadata(conv):
    r = post(conv, batch())
    assert set(r) == {"batch_id", "send_after"} and r["send_after"].endswith("Z")
    conv.wait_for(lambda: status_of(conv, r["batch_id"])["status"] == "PROCESSED")
    conv.wait_for(lambda: texts(conv, "+12017770011") == ["Hi Ann, code 123"])
    assert texts(conv, "+12017770012") == ["Hi Bo, code ${code}"]  # unknown parameter left as it is
    done = conv.wait_for(
        lambda: (
            (
                d := [
                    b["message_delivery_report"]
                    for b in conv.rx.bodies()
                    if b.get("message_delivery_report", {}).get("status") == "DELIVERED"
                ]
            )
            and len(d) == 2
            and d
        )
    )
    metas = sorted(json.loads(d["metadata"])["row"] for d in done)
    assert metas == ["0", "1"] and all(json.loads(d["metadata"])["_batch_id"] == r["batch_id"] for d in done)
    assert all(json.loads(d["metadata"])["campaign"] == "spring" for d in done)
    s = status_of(conv, r["batch_id"])
    assert s == {
        "batch_id": r["batch_id"],
        "meta_data": {"campaign_id": "spring"},
        "status": "PROCESSED",
        "send_after": r["send_after"],
    }


def _at(api, offset_ms: int) -> str:
    return dates.format(api.ctx.clock.now_ms() + offset_ms)


def test_send_after_rounding_and_scheduling(conv):
    now = conv.ctx.clock.now_ms()
    near = post(conv, batch(send_after=_at(conv, 40_700)))  # under a minute: as given, to the second
    assert near["send_after"] == dates.format((now + 40_700) // 1000 * 1000)[:19] + "Z"
    later = post(conv, batch(send_after=_at(conv, 3 * 60_000)))  # else: up to the next 5-minute mark
    mark = -(-(now + 180_000) // 300_000) * 300_000
    assert later["send_after"] == dates.format(mark)[:19] + "Z"
    assert status_of(conv, later["batch_id"])["status"] == "SCHEDULED"
    err = post(conv, batch(send_after=_at(conv, 8 * 86_400_000)), status=400)  # more than 7 days
    assert err["error"]["status"] == "INVALID_ARGUMENT"
    conv.advance((mark - now) / 1000 + 1)
    conv.wait_for(lambda: status_of(conv, later["batch_id"])["status"] == "PROCESSED")


def test_cancel_by_id_and_by_metadata(conv):
    a = post(conv, batch(send_after=_at(conv, 600_000)))
    b = post(conv, batch(send_after=_at(conv, 600_000), batch_metadata={"campaign_id": "summer"}))
    now = post(conv, batch())  # immediate: cannot be cancelled
    assert conv.client.request("DELETE", B, json={"batch_id": a["batch_id"]}, headers=conv.bearer).json() == {}
    r = conv.client.request(
        "DELETE", B, json={"metadata_key": "campaign_id", "metadata_value": "summer"}, headers=conv.bearer
    )
    assert r.status_code == 200 and r.json() == {}
    assert (
        conv.client.request(
            "DELETE", B, json={"batch_id": "01NOPE0000000000000000000A"}, headers=conv.bearer
        ).status_code
        == 200
    )  # unknown: still 200
    assert conv.client.request("DELETE", B, content=b"garbage", headers=conv.bearer).status_code == 200
    assert status_of(conv, a["batch_id"])["status"] == "CANCELLED"
    assert status_of(conv, b["batch_id"])["status"] == "CANCELLED"
    conv.wait_for(lambda: status_of(conv, now["batch_id"])["status"] == "PROCESSED")
    conv.advance(901)  # past their mark, wherever the wall-clock start put it (at most 900 s ahead)
    assert status_of(conv, a["batch_id"])["status"] == "CANCELLED"
    conv.wait_for(lambda: len(texts(conv, "+12017770011")) == 1)  # only the immediate batch was sent
    found = conv.client.get(
        B, params={"metadataKey": "campaign_id", "metadataValue": "summer"}, headers=conv.bearer
    ).json()
    assert [x["batch_id"] for x in found] == [b["batch_id"]]
    assert (
        conv.client.get(B, params={"metadataKey": "campaign_id", "metadataValue": "none"}, headers=conv.bearer).json()
        == []
    )
    assert conv.client.get(B, params={"metadataKey": "campaign_id"}, headers=conv.bearer).status_code == 400


@pytest.mark.parametrize(
    "change, text",
    [
        ({"recipient_and_params": []}, "at least one"),
        ({"recipient_and_params": [rp(f"+1201777{i:04d}") for i in range(1001)]}, "at most 1000"),
        ({"app_id": None}, "app_id is required"),
        ({"ttl": "5m"}, "ttl"),
        ({"message": {"text_message": {"text": "a"}, "media_message": {"url": "https://x.example/a.png"}}}, "message"),
    ],
)
def test_validation_errors(conv, change, text):
    body = {k: v for k, v in {**batch(), **change}.items() if v is not None}
    err = post(conv, body, status=400)
    assert err["error"]["status"] == "INVALID_ARGUMENT" and text in err["error"]["message"], err


def test_auth_and_projects(conv):
    assert conv.client.post(B, json=batch(), headers=BASIC).status_code == 401  # bearer only
    assert post(conv, {**batch(), "app_id": "01K0APP0000000000000000099"}, status=404)["error"]["status"] == "NOT_FOUND"
    r = post(conv, batch())
    other = "/conversationbatch/v1/projects/PROJ2/messages"
    assert conv.client.get(f"{other}/{r['batch_id']}", headers=conv.bearer).status_code == 403
    assert conv.client.get(f"{B}/01NOPE0000000000000000000A", headers=conv.bearer).status_code == 404


def test_a_reply_to_a_batch_message_carries_its_batch_id(conv):
    add_webhook(conv.ctx, "01K0WH00000000000000000002", APP, conv.rx.url + "/mo", ["MESSAGE_INBOUND"])
    r = post(conv, batch(conversation_metadata={"campaign": "spring"}))
    conv.wait_for(
        lambda: any(b.get("message_delivery_report", {}).get("status") == "DELIVERED" for b in conv.rx.bodies())
    )  # dispatched: the reply route is recorded
    reply = conv.client.post("/simulator/handsets/+12017770011/messages", json={"to": "+12025550100", "body": "STOP"})
    assert reply.status_code == 201, reply.text
    inbound = conv.wait_for(lambda: [b for b in conv.rx.bodies() if "message" in b])[0]
    assert json.loads(inbound["message_metadata"]) == {"campaign": "spring", "_batch_id": r["batch_id"]}


def test_a_batch_that_cannot_be_fanned_out_does_not_wedge_the_others(conv):
    bad = post(conv, batch(send_after=_at(conv, 600_000)))
    conv.ctx.db.run_sync(
        lambda tx: tx.execute("UPDATE conv_batches SET request = '{\"broken\": 1}' WHERE id = ?", (bad["batch_id"],))
    )
    conv.advance(1000)  # past its five-minute mark
    good = post(conv, batch())
    conv.wait_for(lambda: status_of(conv, good["batch_id"])["status"] == "PROCESSED")
    conv.wait_for(lambda: status_of(conv, bad["batch_id"])["status"] == "PROCESSED")


def test_a_sender_of_another_plan_is_refused(database_url, tmp_path):
    toml = '[[service_plans]]\nid = "SP2"\ntoken = "TOKEN2"\nnumbers = ["+12025550177"]\n'
    app, ctx = make_api(database_url, tmp_path, toml=toml)
    with TestClient(app) as client:
        add_app(ctx, APP)
        token = client.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=BASIC).json()
        r = client.post(
            B,
            json=batch(channel_properties={"SMS_SENDER": "+12025550177"}),
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert r.status_code == 400 and "another service plan" in r.json()["error"]["message"], r.text


def test_a_batch_stored_before_bodies_were_kept_as_sent_still_fans_out(conv):
    """Rows written before migration `conv_batches_body` hold the checked request as JSON
    (request_form 'checked'); the fan-out still reads them."""
    import msgspec

    from openxms.conversation import batches as rules

    now = conv.ctx.clock.now_ms()
    due = now + 120_000
    checked = rules.decode_batch(json.dumps(batch(send_after=_at(conv, 120_000))).encode(), now)
    conv.ctx.db.run_sync(
        lambda tx: tx.execute(
            "INSERT INTO conv_batches (id, project_id, app_id, status, send_after, created_at, metadata, request) "
            "VALUES (?, 'PROJ1', ?, 'SCHEDULED', ?, ?, '{}', ?)",
            ("01K0OLDBATCH00000000000001", APP, checked.send_after or due, now, msgspec.json.encode(checked).decode()),
        )
    )
    assert status_of(conv, "01K0OLDBATCH00000000000001")["status"] == "SCHEDULED"
    new = post(conv, batch(send_after=_at(conv, 120_000)))  # the scheduler learns of new due times from sends
    # The manual clock starts at the wall clock, so the five-minute mark lies 120-420 s ahead.
    assert checked.send_after is not None and rules.format_time(checked.send_after) == new["send_after"]
    conv.advance((checked.send_after - now) / 1000 + 1)
    conv.wait_for(lambda: status_of(conv, "01K0OLDBATCH00000000000001")["status"] == "PROCESSED")
    conv.wait_for(lambda: texts(conv, "+12017770011") == ["Hi Ann, code 123"] * 2)


def test_the_body_is_stored_as_sent(conv):
    body = json.dumps(batch(), indent=1)  # spacing kept: nothing is re-encoded
    r = conv.client.post(B, content=body, headers={**conv.bearer, "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    row = conv.ctx.db.run_sync(
        lambda tx: tx.one("SELECT request, request_form FROM conv_batches WHERE id = ?", (r.json()["batch_id"],))
    )
    assert (row.request, row.request_form) == (body, "body")
    conv.wait_for(lambda: texts(conv, "+12017770012") == ["Hi Bo, code ${code}"])
