"""A recipient whose dispatch fails ends Aborted (403) alone; the rest of its chunk, and the
account's queue, go on (SQLite and PostgreSQL). Failures are injected at the connector and
renderer boundaries."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from openxms.connectors.simulator import Simulator
from openxms.sms.messages import Template

from ..http.conftest import Api, make_api

POISON = "12017770013"


@pytest.fixture
def api(database_url, tmp_path):
    app, ctx = make_api(database_url, tmp_path)
    with TestClient(app) as client:
        yield Api(client, ctx)


def _settled(api, batch_id):
    st = api.statuses(batch_id)
    return st if st and not {"Queued", "Dispatched"} & set(st) else None


def test_a_connector_failing_on_one_message_aborts_only_it(api, monkeypatch):
    real = Simulator.submit

    async def submit(self, messages):
        if any(m.msisdn == POISON for m in messages):
            raise ValueError("cannot encode this one")
        return await real(self, messages)

    monkeypatch.setattr(Simulator, "submit", submit)
    b = api.send(to=["+12017770011", "+" + POISON, "+12017770012"])
    assert api.wait_for(lambda: _settled(api, b["id"])) == {"Delivered": 2, "Aborted": 1}
    assert api.get(f"/batches/{b['id']}/delivery_report/{POISON}").json()["code"] == 403
    later = api.send(to=["+12017770014"])  # the queue was not wedged
    assert api.wait_for(lambda: _settled(api, later["id"])) == {"Delivered": 1}


def test_a_render_failure_aborts_only_that_recipient(api, monkeypatch):
    real = Template.render

    def render(self, recipient, **kw):
        if recipient == POISON:
            raise RuntimeError("boom")
        return real(self, recipient, **kw)

    monkeypatch.setattr(Template, "render", render)
    b = api.send(to=["+12017770011", "+" + POISON], body="Hi ${name}", parameters={"name": {"default": "you"}})
    assert api.wait_for(lambda: _settled(api, b["id"])) == {"Delivered": 1, "Aborted": 1}
