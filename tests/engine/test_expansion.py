"""Batches to large groups are expanded in bounded chunks (one unit of work each), complete,
in order, with one batch report at the end; a per-batch ceiling holds (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from openxms.engine import expansion
from openxms.sms import dates

from ..http.conftest import Api, make_api
from .receiver import Receiver
from .test_delivery import plans_toml


@pytest.fixture
def api(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(expansion, "CHUNK_ROWS", 10)
    with Receiver() as rx:
        toml = "[server]\nmax_batch_recipients = 40\n" + plans_toml(rx.url)
        app, ctx = make_api(database_url, tmp_path, env={"OPENXMS_SERVICE_PLANS": "SP1:TOKEN1:0"}, toml=toml)
        with TestClient(app) as client:
            a = Api(client, ctx)
            a.rx = rx
            yield a


def _group(api, n: int, start: int = 100) -> str:  # no magic endings (0001-0006)
    r = api.post(
        "/groups", {"name": f"g{start}", "members": [f"+1301555{i:04d}" for i in range(start, start + n)]}, "CB1"
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _states(api, batch_id: str) -> list[str]:
    return api.ctx.db.run_sync(
        lambda tx: [r.state for r in tx.all("SELECT state FROM batches WHERE id = ?", (batch_id,))]
    )


def test_a_large_group_is_expanded_in_chunks_and_reported_once(api, monkeypatch):
    seen_chunks = []
    real = expansion.step

    def step(tx, now, accounts, max_recipients):
        account = real(tx, now, accounts, max_recipients)
        if account is not None:
            seen_chunks.append(account)
        return account

    monkeypatch.setattr(expansion, "step", step)
    g = _group(api, 25)
    b = api.send(plan="CB1", to=["+12017777777", g], delivery_report="summary")
    api.wait_for(lambda: api.statuses(b["id"], "CB1") == {"Delivered": 26})
    assert len(seen_chunks) == 3  # 25 members in chunks of 10, each its own unit of work
    assert _states(api, b["id"]) == ["active"]
    api.wait_for(lambda: len(api.rx.bodies("delivery_report_sms")) == 1)
    assert api.rx.bodies("delivery_report_sms")[0]["total_message_count"] == 26


def test_a_small_group_is_still_expanded_in_the_send(api):
    g = _group(api, 5)
    b = api.send(plan="CB1", to=[g])
    assert _states(api, b["id"]) in (["active"], ["expired"])
    assert sum(api.statuses(b["id"], "CB1").values()) == 5  # all there at once


def test_a_send_over_the_ceiling_is_refused(api):
    g = _group(api, 41)
    r = api.post("/batches", {"to": [g], "from": "+12025550100", "body": "hi"}, "CB1")
    assert r.status_code == 400 and r.json()["code"] == "syntax_constraint_violation", r.text
    assert "max_batch_recipients" in r.json()["text"]


def test_a_scheduled_batch_stops_at_the_ceiling(api):
    g = _group(api, 30)
    b = api.send(plan="CB1", to=[g], send_at=dates.format(api.ctx.clock.now_ms() + 60_000))
    api.post(f"/groups/{g}", {"add": [f"+1302555{i:04d}" for i in range(100, 120)]}, "CB1")  # now 50 members
    api.advance(61)
    api.wait_for(lambda: sum(api.statuses(b["id"], "CB1").values()) == 40 and _states(api, b["id"]) == ["active"])


def test_cancelling_a_scheduled_batch_to_a_large_group_cancels_every_chunk(api):
    g = _group(api, 25)
    b = api.send(plan="CB1", to=[g], send_at=dates.format(api.ctx.clock.now_ms() + 3600_000))
    assert api.delete(f"/batches/{b['id']}", "CB1").status_code == 200
    api.wait_for(lambda: api.statuses(b["id"], "CB1") == {"Cancelled": 25})
