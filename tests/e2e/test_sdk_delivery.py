"""Delivery with the Sinch Python SDK against the real server: reports, schedule, cancel, expiry,
callbacks (failing first, signed) and inbounds."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
import pytest
from sinch.domains.sms.sinch_events.v1.sms_sinch_event import SmsSinchEvent

from ..engine.receiver import Receiver
from .conftest import launch, plan_client, stop

SECRET = "KayakingTheSwell"


def wait_for(fn, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out, last {value!r}"
        time.sleep(0.05)


@pytest.fixture
def setup(database_url, tmp_path):
    with Receiver([500]) as rx:
        cfg = tmp_path / "openxms.toml"
        cfg.write_text(f"""
[[service_plans]]
id = "SP1"
token = "TOKEN1"
rate = 0
callback_url = "{rx.url}/dr"
mo_callback_url = "{rx.url}/mo"
webhook_secret = "{SECRET}"
numbers = ["12025550100"]
""")
        s = launch(
            database_url,
            tmp_path,
            "--clock",
            "manual",
            "--config",
            str(cfg),
            env={"OPENXMS_SERVICE_PLANS": "", "OPENXMS_PROJECTS": ""},
        )
        try:
            yield s, plan_client(s), rx
        finally:
            stop(s)


def advance(server, seconds):
    r = httpx.post(server.url + "/clock/advance", json={"seconds": seconds})
    assert r.status_code == 200
    return r.json()


def statuses(client, batch_id):
    return {s.status: s.count for s in client.sms.delivery_reports.get(batch_id=batch_id).statuses}


def test_send_poll_delivered_and_callback_retry(setup):
    server, client, rx = setup
    b = client.sms.batches.send_sms(to=["+12017777777"], from_="+12025550100", body="hello", delivery_report="summary")
    wait_for(lambda: statuses(client, b.id) == {"Delivered": 1})
    rdr = client.sms.delivery_reports.get_for_number(batch_id=b.id, recipient="+12017777777")
    assert rdr.status == "Delivered" and rdr.code == 0
    listed = list(client.sms.delivery_reports.list(page_size=10).iterator())
    assert [r.recipient for r in listed] == ["12017777777"]
    # the receiver failed the first callback with 500: the retry comes 5 s (engine clock) later
    wait_for(lambda: len(rx.requests) == 1)
    advance(server, 5)
    wait_for(lambda: len(rx.requests) == 2)
    ok = rx.requests[1]
    events = SmsSinchEvent(SECRET)
    assert events.validate_authentication_header(ok["headers"], ok["raw"])
    parsed = events.parse_event(ok["raw"])
    assert parsed.batch_id == b.id and parsed.statuses[0].status == "Delivered"


def test_scheduled_cancel_and_expiry_with_manual_clock(setup):
    server, client, _ = setup
    now = datetime.fromisoformat(httpx.get(server.url + "/clock").json()["now"].replace("Z", "+00:00"))
    later = now + timedelta(hours=1)
    sched = client.sms.batches.send_sms(to=["+12017777777"], from_="x", body="later", send_at=later)
    doomed = client.sms.batches.send_sms(to=["+12018888888"], from_="x", body="never", send_at=later)
    client.sms.batches.cancel(batch_id=doomed.id)
    assert client.sms.delivery_reports.get(batch_id=sched.id).total_message_count == 0
    advance(server, 3600)
    wait_for(lambda: statuses(client, sched.id) == {"Delivered": 1})
    assert statuses(client, doomed.id) == {"Cancelled": 1}
    # expiry: expire_at passes while the batch is still scheduled -> nothing is ever sent
    t = now + timedelta(hours=1, minutes=30)
    exp = client.sms.batches.send_sms(
        to=["+12019999999"], from_="x", body="late", send_at=t, expire_at=t + timedelta(seconds=1)
    )
    advance(server, 3600 * 2)
    wait_for(lambda: statuses(client, exp.id) and "Queued" not in statuses(client, exp.id))
    rep = client.sms.delivery_reports.get(batch_id=exp.id)
    assert [(s.status, s.code) for s in rep.statuses] == [("Aborted", 406)]


def test_inbound_and_mo_callback(setup):
    server, client, rx = setup
    r = httpx.post(server.url + "/simulator/handsets/+12017777777/messages", json={"to": "12025550100", "body": "hi"})
    assert r.status_code == 201
    inbound = client.sms.inbounds.get(inbound_id=r.json()["id"])
    assert inbound.body == "hi" and inbound.from_ == "12017777777"
    assert [m.id for m in client.sms.inbounds.list(page_size=5).iterator()] == [inbound.id]
    wait_for(lambda: [x for x in rx.requests if x["path"] == "/mo"])
    mo = [x for x in rx.requests if x["path"] == "/mo"][0]
    assert SmsSinchEvent(SECRET).validate_authentication_header(mo["headers"], mo["raw"])
    assert SmsSinchEvent(SECRET).parse_event(mo["raw"]).body == "hi"
