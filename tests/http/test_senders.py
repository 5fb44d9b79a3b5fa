"""A number configured on a plan is that plan's: another plan may not send from it (it would
capture the replies, which are routed by number)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from .conftest import Api, make_api

TOML = """
[[service_plans]]
id = "SP1"
token = "TOKEN1"
numbers = ["+12025550100"]
"""


@pytest.fixture
def api(database_url, tmp_path):
    app, ctx = make_api(database_url, tmp_path, toml=TOML)
    with TestClient(app) as client:
        yield Api(client, ctx)


def test_another_plan_cannot_send_from_a_configured_number(api):
    body = {"to": ["+12017777777"], "from": "+12025550100", "body": "hi"}
    assert api.post("/batches", body, "SP1").status_code == 201
    r = api.post("/batches", body, "SP2")
    assert r.status_code == 400 and r.json()["code"] == "syntax_constraint_violation", r.text
    b = api.post("/batches", {**body, "from": "+12025550199"}, "SP2").json()
    assert api.post(f"/batches/{b['id']}", {"from": "12025550100"}, "SP2").status_code == 400  # update
    assert api.put(f"/batches/{b['id']}", body, "SP2").status_code == 400  # replace


def test_replies_to_an_unconfigured_number_go_to_the_plan_that_last_sent_from_it(api):
    b = api.post("/batches", {"to": ["+12017777777"], "from": "+12025550199", "body": "hi"}, "SP2").json()
    api.wait_for(lambda: api.statuses(b["id"], "SP2") == {"Delivered": 1})
    r = api.client.post("/simulator/handsets/+12017777777/messages", json={"to": "+12025550199", "body": "yes"})
    assert r.status_code == 201 and r.json()["account_id"] == "SP2", r.text
