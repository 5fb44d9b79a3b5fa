"""An in-process app on a real database (SQLite file and PostgreSQL), manual clock."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from openxms import config
from openxms.app import build

ENV = {
    "OPENXMS_SERVICE_PLANS": "SP1:TOKEN1:0,SP2:TOKEN2:0",
    "OPENXMS_PROJECTS": "PROJ1:KEY1:SECRET1",
}


class Api:
    def __init__(self, client: TestClient, ctx) -> None:
        self.client = client
        self.ctx = ctx

    @staticmethod
    def h(plan: str = "SP1") -> dict[str, str]:
        return {"Authorization": f"Bearer TOKEN{plan[-1]}"}

    def url(self, path: str, plan: str = "SP1") -> str:
        return f"/xms/v1/{plan}{path}"

    def get(self, path: str, plan: str = "SP1", **kw):
        return self.client.get(self.url(path, plan), headers=self.h(plan), **kw)

    def post(self, path: str, body=None, plan: str = "SP1", **kw):
        return self.client.post(
            self.url(path, plan), json=body, headers={**self.h(plan), **kw.pop("headers", {})}, **kw
        )

    def put(self, path: str, body=None, plan: str = "SP1"):
        return self.client.put(self.url(path, plan), json=body, headers=self.h(plan))

    def delete(self, path: str, plan: str = "SP1"):
        return self.client.delete(self.url(path, plan), headers=self.h(plan))

    def send(self, plan: str = "SP1", **fields):
        body = {"to": ["+12017777777"], "from": "+12015555555", "body": "Hello", **fields}
        r = self.post("/batches", body, plan)
        assert r.status_code == 201, r.text
        return r.json()

    def wait_for(self, fn, timeout: float = 10.0, interval: float = 0.02):
        """Poll `fn()` until it returns something truthy (the engine works in the background)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            value = fn()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; last value {value!r}")
            time.sleep(interval)

    def report(self, batch_id: str, plan: str = "SP1", **params):
        r = self.get(f"/batches/{batch_id}/delivery_report", plan, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def statuses(self, batch_id: str, plan: str = "SP1") -> dict[str, int]:
        return {s["status"]: s["count"] for s in self.report(batch_id, plan)["statuses"]}

    def advance(self, seconds: float) -> None:
        """Move the manual clock through the API (the engine's loop must see the move)."""
        r = self.client.post("/clock/advance", json={"ms": int(round(seconds * 1000))})
        assert r.status_code == 200, r.text


def make_api(database_url: str, tmp_path, env=None, toml: str | None = None, **settings):
    config_file = None
    if toml is not None:
        config_file = tmp_path / "openxms.toml"
        config_file.write_text(toml)
    settings.setdefault("allowed_hosts", ("testserver",))  # Starlette's TestClient sends Host: testserver
    s = config.load(
        config_file,
        env={**ENV, **(env or {})},
        database_url=database_url,
        clock="manual",
        data_dir=str(tmp_path),
        **settings,
    )
    app, ctx = build(s)
    return app, ctx


@pytest.fixture
def api(database_url, tmp_path):
    app, ctx = make_api(database_url, tmp_path)
    with TestClient(app) as client:
        yield Api(client, ctx)
