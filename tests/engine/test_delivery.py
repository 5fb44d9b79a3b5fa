"""The delivery engine end to end in-process: queue -> simulator -> receipts -> reports -> callbacks.

Real store (SQLite and PostgreSQL), real engine, real simulator; a real HTTP server receives
the callbacks. The clock is manual, so scheduling and retries are driven by advancing it.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from ..http.conftest import Api, make_api
from .receiver import Receiver

RULES = """
[simulator]
seed = 7
rules = [
  { match = "*0001", status = "Failed", code = 153 },
  { match = "*0003", accept = false, status = "Rejected", code = 88 },
  { match = "*0005", profile = "dead" },
  { match = "*0009", delay_ms = 60000, status = "Delivered", code = 0 },
]
"""


def plans_toml(receiver_url: str = "http://127.0.0.1:9/unused", secret: str | None = None, rate: float = 0) -> str:
    sec = f'webhook_secret = "{secret}"' if secret else ""
    return (
        f"""
[[service_plans]]
id = "CB1"
token = "TOKEN1"
rate = {rate}
callback_url = "{receiver_url}/dr"
mo_callback_url = "{receiver_url}/mo"
numbers = ["12025550100"]
{sec}
"""
        + RULES
    )


@pytest.fixture
def engine_api(database_url, tmp_path, request):
    params = getattr(request, "param", {})
    with Receiver(params.get("statuses")) as rx:
        app, ctx = make_api(
            database_url,
            tmp_path,
            env={"OPENXMS_SERVICE_PLANS": "SP1:TOKEN1:0"},
            toml=plans_toml(rx.url, params.get("secret"), params.get("rate", 0)),
        )
        with TestClient(app) as client:
            api = Api(client, ctx)
            api.rx = rx
            yield api


def test_send_is_delivered_and_reports_agree(engine_api):
    api = engine_api
    b = api.send(to=["+12017777777", "+12018888888"], plan="CB1")
    api.wait_for(lambda: api.statuses(b["id"], "CB1") == {"Delivered": 2})
    full = api.report(b["id"], "CB1", type="full")
    assert full["type"] == "delivery_report_sms" and full["total_message_count"] == 2
    assert full["statuses"] == [
        {"code": 0, "status": "Delivered", "count": 2, "recipients": ["12017777777", "12018888888"]}
    ]
    r = api.get(f"/batches/{b['id']}/delivery_report/+12017777777", "CB1").json()
    assert r["type"] == "recipient_delivery_report_sms" and r["status"] == "Delivered" and r["code"] == 0
    assert r["recipient"] == "12017777777" and r["at"].endswith("Z") and r["number_of_message_parts"] == 1
    assert api.get(f"/batches/{b['id']}/delivery_report/+12010000000", "CB1").status_code == 404
    lst = api.get("/delivery_reports", "CB1").json()
    assert lst["count"] == 2 and {d["recipient"] for d in lst["delivery_reports"]} == {"12017777777", "12018888888"}


def test_outcome_rules_reach_the_reports(engine_api):
    api = engine_api
    b = api.send(to=["+12010000001", "+12010000003", "+12010000008"], plan="CB1")
    api.wait_for(
        lambda: (
            sum(api.statuses(b["id"], "CB1").values()) == 3
            and "Queued" not in api.statuses(b["id"], "CB1")
            and "Dispatched" not in api.statuses(b["id"], "CB1")
        )
    )
    rep = {s["code"]: (s["status"], s["count"]) for s in api.report(b["id"], "CB1")["statuses"]}
    assert rep[153] == ("Failed", 1) and rep[88] == ("Rejected", 1) and rep[0] == ("Delivered", 1)
    # filters: status case-insensitive, codes as integers
    f = api.report(b["id"], "CB1", status="FAILED,rejected")
    assert {s["status"] for s in f["statuses"]} == {"Failed", "Rejected"}
    assert [s["code"] for s in api.report(b["id"], "CB1", code="153")["statuses"]] == [153]
    lst = api.get("/delivery_reports", "CB1", params={"status": "failed", "code": "153"}).json()
    assert lst["count"] == 1 and lst["delivery_reports"][0]["recipient"] == "12010000001"
    assert api.get("/delivery_reports", "CB1", params={"status": "sleepy"}).status_code == 400


def test_preflight_failures(engine_api):
    api = engine_api
    b = api.send(
        plan="CB1", to=["+12017777777", "+12018888888"], body="Code ${code}", parameters={"code": {"+12017777777": "1"}}
    )
    api.wait_for(
        lambda: "Queued" not in api.statuses(b["id"], "CB1") and "Dispatched" not in api.statuses(b["id"], "CB1")
    )
    rep = {s["code"]: s["status"] for s in api.report(b["id"], "CB1")["statuses"]}
    assert rep == {0: "Delivered", 405: "Aborted"}
    long = api.send(plan="CB1", body="x" * 161, max_number_of_message_parts=1)
    api.wait_for(lambda: api.statuses(long["id"], "CB1") == {"Aborted": 1})
    assert api.report(long["id"], "CB1")["statuses"][0]["code"] == 411
    trunc = api.send(plan="CB1", body="x" * 400, truncate_concat=True, max_number_of_message_parts=1)
    api.wait_for(lambda: api.statuses(trunc["id"], "CB1") == {"Delivered": 1})
    # no `from` and the plan has a number: that number is the originator; SP1 has none -> 410
    nofrom = api.post("/batches", {"to": ["+12017777777"], "body": "hi"}).json()
    api.wait_for(lambda: api.statuses(nofrom["id"]) == {"Aborted": 1})
    assert api.report(nofrom["id"])["statuses"][0]["code"] == 410


def test_scheduled_batch_waits_for_send_at_and_groups_resolve_then(engine_api):
    api = engine_api
    now = api.ctx.clock.now_ms()
    from openxms.sms import dates

    b = api.send(plan="CB1", send_at=dates.format(now + 3600_000))
    assert api.report(b["id"], "CB1")["total_message_count"] == 0
    api.advance(3599)
    assert api.report(b["id"], "CB1")["total_message_count"] == 0
    api.advance(1)
    api.wait_for(lambda: api.statuses(b["id"], "CB1") == {"Delivered": 1})


def test_cancel_before_send_at_cancels_every_recipient(engine_api):
    api = engine_api
    from openxms.sms import dates

    b = api.send(
        plan="CB1", to=["+12017777777", "+12018888888"], send_at=dates.format(api.ctx.clock.now_ms() + 3600_000)
    )
    api.delete(f"/batches/{b['id']}", "CB1")
    assert api.statuses(b["id"], "CB1") == {"Cancelled": 2}
    assert api.report(b["id"], "CB1")["statuses"][0]["code"] == 407
    api.advance(7200)
    assert api.statuses(b["id"], "CB1") == {"Cancelled": 2}
    assert api.client.get("/simulator/handsets/12018888888/messages").json()["messages"] == []


def test_expiry_aborts_what_is_still_queued(database_url, tmp_path):
    with Receiver() as rx:
        app, ctx = make_api(
            database_url, tmp_path, env={"OPENXMS_SERVICE_PLANS": "SP1:TOKEN1:0"}, toml=plans_toml(rx.url, rate=2)
        )
        with TestClient(app) as client:
            api = Api(client, ctx)
            b = api.send(plan="CB1", to=[f"+1201000{i:04d}" for i in range(10, 60)])
            api.advance(3 * 24 * 3600)
            api.wait_for(lambda: "Queued" not in api.statuses(b["id"], "CB1"))
            st = api.statuses(b["id"], "CB1")
            assert st.get("Aborted", 0) >= 40
            assert all(s["code"] == 406 for s in api.report(b["id"], "CB1")["statuses"] if s["status"] == "Aborted")
            assert sum(st.values()) == 50


def test_callbacks_per_recipient_and_summary(engine_api):
    api = engine_api
    b = api.send(plan="CB1", to=["+12017777777", "+12018888888"], delivery_report="per_recipient")
    s = api.send(plan="CB1", to=["+12017777777", "+12010000001"], delivery_report="full", client_reference="cr")
    api.wait_for(
        lambda: (
            len(api.rx.bodies("delivery_report_sms")) == 1
            and len([x for x in api.rx.bodies("recipient_delivery_report_sms") if x["status"] == "Delivered"]) == 2
        )
    )
    per = [x for x in api.rx.bodies("recipient_delivery_report_sms") if x["batch_id"] == b["id"]]
    assert {x["status"] for x in per} <= {"Dispatched", "Delivered"}
    summary = api.rx.bodies("delivery_report_sms")[0]
    assert summary["batch_id"] == s["id"] and summary["client_reference"] == "cr"
    assert summary["total_message_count"] == 2
    assert {(x["status"], x["code"], tuple(x["recipients"])) for x in summary["statuses"]} == {
        ("Delivered", 0, ("12017777777",)),
        ("Failed", 153, ("12010000001",)),
    }
    # the SDK's own webhook parser accepts our payloads
    from sinch.domains.sms.sinch_events.v1.sms_sinch_event import SmsSinchEvent

    parser = SmsSinchEvent()
    for raw in [r["raw"] for r in api.rx.requests]:
        parser.parse_event(raw)


def outbox_row(api):
    """The one callback in the outbox, as the sender last left it (read from the database)."""
    rows = api.ctx.db.run_sync(
        lambda tx: tx.all(
            "SELECT state, attempts, first_failure_at, next_attempt_at, last_status FROM outbox ORDER BY id"
        )
    )
    assert len(rows) == 1, rows
    return tuple(rows[0])


def settled(api, attempts):
    """Wait until the sender has recorded attempt number `attempts` (it settles after the post)."""
    return api.wait_for(lambda: (row := outbox_row(api))[1] == attempts and row[0] != "sending" and row)


@pytest.mark.parametrize("engine_api", [{"statuses": [500, 503], "secret": "KayakingTheSwell"}], indirect=True)
def test_callback_retries_on_5xx_with_sinch_schedule_and_signature(engine_api):
    api = engine_api
    t0 = api.ctx.clock.now_ms()  # the manual clock stands still: the first failure is at t0
    api.send(plan="CB1", delivery_report="summary")
    api.wait_for(lambda: len(api.rx.requests) == 1)
    # retry 1 is due 5 s after the first failure; the sender only takes rows already due
    # (tests/store/test_outbox.py), so this row is what keeps it from retrying early
    assert settled(api, 1) == ("pending", 1, t0, t0 + 5_000, 500)
    assert len(api.rx.requests) == 1
    api.advance(5)
    api.wait_for(lambda: len(api.rx.requests) == 2)
    # retry 2: 10 s after the first failure (not 10 s after retry 1)
    assert settled(api, 2) == ("pending", 2, t0, t0 + 10_000, 503)
    api.advance(5)
    api.wait_for(lambda: len(api.rx.requests) == 3)
    assert settled(api, 3) == ("done", 3, t0, t0 + 10_000, 200)
    assert [r["status"] for r in api.rx.requests] == [500, 503, 200]
    from sinch.domains.sms.sinch_events.v1.sms_sinch_event import SmsSinchEvent

    for r in api.rx.requests:
        assert SmsSinchEvent("KayakingTheSwell").validate_authentication_header(r["headers"], r["raw"])
        assert not SmsSinchEvent("wrong").validate_authentication_header(r["headers"], r["raw"])


@pytest.mark.parametrize("engine_api", [{"statuses": [404]}], indirect=True)
def test_callback_4xx_is_not_retried(engine_api):
    api = engine_api
    t0 = api.ctx.clock.now_ms()
    api.send(plan="CB1", delivery_report="summary")
    api.wait_for(lambda: len(api.rx.requests) == 1)
    assert settled(api, 1) == ("failed", 1, t0, t0, 404)  # given up: no retry time, never claimed again
    api.advance(100_000)
    assert outbox_row(api) == ("failed", 1, t0, t0, 404)
    assert len(api.rx.requests) == 1


def test_inbound_from_handset_reply_is_listed_and_pushed(engine_api):
    api = engine_api
    b = api.send(plan="CB1", **{"from": "+12025550100"}, client_reference="campaign-7")
    api.wait_for(lambda: api.statuses(b["id"], "CB1") == {"Delivered": 1})
    r = api.client.post("/simulator/handsets/+12017777777/messages", json={"to": "+12025550100", "body": "STOP"})
    assert r.status_code == 201, r.text
    mo = r.json()
    lst = api.get("/inbounds", "CB1").json()
    assert lst["count"] == 1
    got = lst["inbounds"][0]
    assert got["type"] == "mo_text" and got["from"] == "12017777777" and got["to"] == "12025550100"
    assert got["body"] == "STOP" and got["client_reference"] == "campaign-7" and got["id"] == mo["id"]
    assert api.get(f"/inbounds/{mo['id']}", "CB1").json() == got
    assert api.get("/inbounds", "CB1", params={"to": "+12025550100"}).json()["count"] == 1
    assert api.get("/inbounds", "CB1", params={"to": "12029999999"}).json()["count"] == 0
    assert api.get("/inbounds/01XXXXXXXXXXXXXXXXXXXXXXXX", "CB1").status_code == 404
    api.wait_for(lambda: api.rx.bodies("mo_text"))
    assert api.rx.bodies("mo_text")[0]["body"] == "STOP"


def test_delivery_feedback_marks_dispatched_recipients_delivered(engine_api):
    api = engine_api
    b = api.send(plan="CB1", to=["+12010000005", "+12020000005"], feedback_enabled=True)  # "dead": no receipt
    api.wait_for(lambda: api.statuses(b["id"], "CB1") == {"Dispatched": 2})
    assert (
        api.post(f"/batches/{b['id']}/delivery_feedback", {"recipients": ["+12010000005"]}, plan="CB1").status_code
        == 202
    )
    assert api.statuses(b["id"], "CB1") == {"Delivered": 1, "Dispatched": 1}


def test_handset_api_and_wait(engine_api):
    api = engine_api
    b = api.send(plan="CB1", to=["+12017777777"], body="€ and emoji 😀")
    m = api.client.get("/simulator/handsets/12017777777/messages/wait", params={"timeout": 5}).json()
    assert m["body"] == "€ and emoji 😀" and m["encoding"] == "unicode" and m["batch_id"] == b["id"]
    r = api.client.get("/simulator/handsets/12017777777/messages/wait", params={"timeout": 0, "after": m["id"]})
    assert r.status_code == 408
    hs = api.client.get("/simulator/handsets").json()["handsets"]
    assert hs[0]["msisdn"] == "12017777777"
    assert api.client.get("/simulator/handsets/12017777777/messages").json()["messages"][0]["id"] == m["id"]


def test_no_receipt_becomes_unknown_after_expiry(engine_api):
    api = engine_api
    b = api.send(plan="CB1", to=["+12010000005"], delivery_report="summary")  # "dead": never a receipt
    api.wait_for(lambda: api.statuses(b["id"], "CB1") == {"Dispatched": 1})
    api.advance(3 * 24 * 3600)  # expired: the dispatched message stays Dispatched for a grace period
    # once the scheduler has swept the expiry (the batch row says so), the recipient is still Dispatched
    api.wait_for(
        lambda: (
            api.ctx.db.run_sync(lambda tx: tx.scalar("SELECT state FROM batches WHERE id = ?", (b["id"],)))
            in ("expired", "closed")
        )
    )
    assert api.statuses(b["id"], "CB1") == {"Dispatched": 1}
    api.advance(3600)
    api.wait_for(lambda: api.statuses(b["id"], "CB1") == {"Unknown": 1})
    assert api.report(b["id"], "CB1")["statuses"][0]["code"] == 401
    api.wait_for(lambda: api.rx.bodies("delivery_report_sms"))  # the batch is complete: summary sent


def test_cancel_pushes_cancelled_callbacks_at_once(engine_api):
    api = engine_api
    from openxms.sms import dates

    b = api.send(
        plan="CB1",
        to=["+12017777777", "+12018888888"],
        delivery_report="per_recipient_final",
        send_at=dates.format(api.ctx.clock.now_ms() + 3600_000),
    )
    api.delete(f"/batches/{b['id']}", "CB1")
    got = api.wait_for(
        lambda: (
            len(api.rx.bodies("recipient_delivery_report_sms")) == 2 and api.rx.bodies("recipient_delivery_report_sms")
        )
    )
    assert {(x["status"], x["code"]) for x in got} == {("Cancelled", 407)}
