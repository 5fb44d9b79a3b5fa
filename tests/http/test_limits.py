"""Limits an operator can count on: failed token requests are throttled per key; an optional
API rate per plan or project answers Sinch's 429 with Retry-After."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from openxms.services import auth

from .conftest import Api, make_api

TOML = """
[[service_plans]]
id = "RL1"
token = "RLTOKEN"
api_rate = 2
"""


def _token(client, secret: str):
    return client.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=("KEY1", secret))


def test_failed_token_requests_are_throttled_per_key(api: Api, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    for _ in range(auth.LOGIN_FAILURES):
        assert _token(api.client, "wrong").status_code == 401
    r = _token(api.client, "SECRET1")  # even the right secret waits: the key is being guessed
    assert r.status_code == 429 and r.json()["error"] == "slow_down" and int(r.headers["retry-after"]) >= 1
    assert (
        api.client.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=("OTHER", "x")).status_code
        == 401
    )  # other keys are not affected
    now[0] += auth.LOGIN_WINDOW_S + 1
    assert _token(api.client, "SECRET1").status_code == 200


@pytest.fixture
def limited(database_url, tmp_path):
    app, ctx = make_api(database_url, tmp_path, toml=TOML)
    with TestClient(app) as client:
        yield Api(client, ctx)


def test_an_api_rate_answers_429_with_retry_after(limited: Api):
    h = {"Authorization": "Bearer RLTOKEN"}
    codes = [limited.client.get("/xms/v1/RL1/batches", headers=h).status_code for _ in range(6)]
    assert codes[:2] == [200, 200] and 429 in codes, codes
    r = next(
        r for r in (limited.client.get("/xms/v1/RL1/batches", headers=h) for _ in range(5)) if r.status_code == 429
    )
    assert r.json()["code"] == "too_many_requests" and int(r.headers["retry-after"]) >= 1
    assert limited.get("/batches", "SP2").status_code == 200  # plans without api_rate are not limited
