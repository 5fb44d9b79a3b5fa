"""The Sinch Python SDK's groups API against the real server, and groups as batch recipients."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx


def test_groups_lifecycle_with_the_sdk(sdk):
    g = sdk.sms.groups.create(name="Group master", members=["+12018881111", "+12018882222"])
    assert g.size == 2 and g.name == "Group master"
    # the SDK sends "name": null with every update: the name must survive an add
    u = sdk.sms.groups.update(group_id=g.id, add=["+12018883333"])
    assert u.size == 3 and u.name == "Group master"
    assert sorted(sdk.sms.groups.list_members(group_id=g.id).content()) == ["12018881111", "12018882222", "12018883333"]
    assert sdk.sms.groups.get(group_id=g.id).size == 3
    assert g.id in [x.id for x in sdk.sms.groups.list(page_size=1).iterator()]
    r = sdk.sms.groups.replace(group_id=g.id, name="Replaced", members=["+12017770000"])
    assert r.size == 1 and r.name == "Replaced"
    removed = sdk.sms.groups.update(group_id=g.id, name=None)  # all fields null: the name goes
    assert removed.name is None
    assert sdk.sms.groups.delete(group_id=g.id) is None


def test_group_batch_resolved_at_send_time(manual_server):
    from .conftest import plan_client

    client = plan_client(manual_server)
    g = client.sms.groups.create(name="later", members=["+12018881118"])
    now = datetime.fromisoformat(httpx.get(manual_server.url + "/clock").json()["now"].replace("Z", "+00:00"))
    b = client.sms.batches.send_sms(to=[g.id], from_="x", body="hi", send_at=now + timedelta(minutes=5))
    client.sms.groups.update(group_id=g.id, add=["+12018882228"])
    httpx.post(manual_server.url + "/clock/advance", json={"seconds": 300})
    deadline = time.monotonic() + 15
    while True:
        rep = client.sms.delivery_reports.get(batch_id=b.id, report_type="full")
        got = sorted(r for s in rep.statuses for r in (s.recipients or []))
        if got == ["12018881118", "12018882228"] and rep.statuses[0].status == "Delivered":
            break
        assert time.monotonic() < deadline, rep
        time.sleep(0.05)


def test_auto_update_end_to_end(server):
    from .conftest import plan_client

    client = plan_client(server)
    g = client.sms.groups.create(
        name="club", auto_update={"to": "+12025550100", "add": {"first_word": "JOIN"}, "remove": {"first_word": "STOP"}}
    )

    def reply(who, text):
        r = httpx.post(
            f"{server.url}/simulator/handsets/{who}/messages",
            json={"to": "+12025550100", "body": text, "service_plan_id": "SP1"},
        )
        assert r.status_code == 201, r.text

    reply("+12017770001", "JOIN")
    reply("+12017770002", "join us")
    assert sorted(client.sms.groups.list_members(group_id=g.id).content()) == ["12017770001", "12017770002"]
    reply("+12017770001", "stop")
    assert client.sms.groups.list_members(group_id=g.id).content() == ["12017770002"]
