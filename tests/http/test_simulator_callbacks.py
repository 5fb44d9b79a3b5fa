"""`/simulator/callbacks`: the outbox with every attempt (its answer and signature headers) and
"retry now", against a real receiver that fails first (SQLite and PostgreSQL)."""

from __future__ import annotations

import msgspec
from starlette.testclient import TestClient

from openxms.http.simulator_callbacks import SimCallbackDetail, SimCallbacks

from ..engine.receiver import Receiver
from ..engine.test_delivery import plans_toml
from .conftest import Api, make_api


def test_attempts_signatures_and_retry_now(database_url, tmp_path):
    with Receiver(statuses=[500, 404]) as rx:
        app, ctx = make_api(database_url, tmp_path, toml=plans_toml(rx.url, secret="s3cret"))
        with TestClient(app) as client:
            api = Api(client, ctx)

            def detail(cid: int) -> dict:
                r = client.get(f"/simulator/callbacks/{cid}")
                assert r.status_code == 200, r.text
                msgspec.json.decode(r.content, type=SimCallbackDetail, strict=True)
                return r.json()

            def listed(**params) -> list[dict]:
                r = client.get("/simulator/callbacks", params=params)
                assert r.status_code == 200, r.text
                msgspec.json.decode(r.content, type=SimCallbacks, strict=True)
                return r.json()["callbacks"]

            b = api.send("CB1", to=["+12017770031"], **{"from": "12025550100"}, delivery_report="full")
            api.wait_for(lambda: listed() and listed()[0]["attempts"] == 1)
            cb = listed()[0]
            assert cb == {
                **cb,
                "service_plan_id": "CB1",
                "kind": "delivery_report",
                "url": rx.url + "/dr",
                "state": "pending",
                "last_status": 500,
            }
            assert cb["payload"]["batch_id"] == b["id"] and cb["next_attempt_at"] is not None
            d = detail(cb["id"])
            [first] = d["history"]
            assert first["attempt"] == 1 and first["status"] == 500
            sent = rx.requests[0]["headers"]
            assert first["headers"]["X-Sinch-Webhook-Signature"] == sent["X-Sinch-Webhook-Signature"]
            assert set(first["headers"]) == {
                "X-Sinch-Webhook-Signature",
                "X-Sinch-Webhook-Signature-Nonce",
                "X-Sinch-Webhook-Signature-Timestamp",
                "X-Sinch-Webhook-Signature-Algorithm",
            }

            # the manual clock never reaches the retry: "retry now" does; the receiver says 404
            r = client.post(f"/simulator/callbacks/{cb['id']}/retry", json={})
            assert r.status_code == 200, r.text
            api.wait_for(lambda: detail(cb["id"])["state"] == "failed")
            assert [a["status"] for a in detail(cb["id"])["history"]] == [500, 404]
            assert listed(state="failed")[0]["id"] == cb["id"] and listed(state="pending") == []
            # a failed one can be tried once more; now the receiver answers 200
            assert client.post(f"/simulator/callbacks/{cb['id']}/retry", json={}).status_code == 200
            api.wait_for(lambda: detail(cb["id"])["state"] == "done")
            d = detail(cb["id"])
            assert [a["status"] for a in d["history"]] == [500, 404, 200] and d["next_attempt_at"] is None
            assert len(rx.requests) == 3
            # delivered: nothing to retry
            assert client.post(f"/simulator/callbacks/{cb['id']}/retry", json={}).status_code == 409
            assert client.post("/simulator/callbacks/999999/retry", json={}).status_code == 404
            assert client.get("/simulator/callbacks/999999").status_code == 404
            assert client.get("/simulator/callbacks", params={"state": "lost"}).status_code == 400
