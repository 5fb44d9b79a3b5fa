"""The engine's retention sweep: a delivered batch is gone once the clock passes
`retention.days`, and not before."""

from __future__ import annotations

from starlette.testclient import TestClient

from ..http.conftest import Api, make_api


def test_the_sweep_deletes_old_batches_as_the_clock_moves(database_url, tmp_path):
    app, ctx = make_api(database_url, tmp_path, toml="[retention]\ndays = 1\ninterval = 0.05\n")
    with TestClient(app) as client:
        api = Api(client, ctx)
        b = api.send()
        api.wait_for(lambda: api.statuses(b["id"]) == {"Delivered": 1})
        api.advance(3600)  # an hour: still kept
        api.wait_for(lambda: ctx.db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM batches")) == 1)
        assert api.get(f"/batches/{b['id']}").status_code == 200
        api.advance(2 * 86400)
        api.wait_for(lambda: api.get(f"/batches/{b['id']}").status_code == 404)
        assert ctx.db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM recipients")) == 0
