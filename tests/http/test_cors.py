"""CORS: off by default; with `cors_origins`, a browser page of that origin gets the headers
and its preflight an answer."""

from __future__ import annotations

from starlette.testclient import TestClient

from .conftest import make_api

APP = "https://app.example"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}


def test_off_by_default(tmp_path):
    app, _ = make_api(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    with TestClient(app) as c:
        r = c.get("/xms/v1/SP1/batches", headers={"Origin": APP, "Authorization": "Bearer TOKEN1"})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
        assert c.options("/xms/v1/SP1/batches", headers=PREFLIGHT).status_code == 405


def test_allowed_origin_gets_headers_and_preflight(tmp_path):
    app, _ = make_api(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path, cors_origins=(APP,))
    with TestClient(app) as c:
        pre = c.options("/xms/v1/SP1/batches", headers=PREFLIGHT)
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == APP
        assert "POST" in pre.headers["access-control-allow-methods"]
        assert "authorization" in pre.headers["access-control-allow-headers"].lower()
        r = c.get("/xms/v1/SP1/batches", headers={"Origin": APP, "Authorization": "Bearer TOKEN1"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == APP
        denied = c.get(
            "/xms/v1/SP1/batches", headers={"Origin": "https://evil.example", "Authorization": "Bearer TOKEN1"}
        )
        assert "access-control-allow-origin" not in denied.headers
        assert (
            c.options("/xms/v1/SP1/batches", headers={**PREFLIGHT, "Origin": "https://evil.example"}).status_code == 400
        )
        unauthorized = c.get("/xms/v1/SP1/batches", headers={"Origin": APP})
        assert unauthorized.status_code == 401 and unauthorized.headers["access-control-allow-origin"] == APP
