"""The control plane refuses rebound Host names, cross-site form posts and, with a control
token, calls without it; request bodies in flight are capped (http/guard.py)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.testclient import TestClient

from openxms.http.guard import Guard, host_name

from .conftest import Api, make_api


@pytest.fixture
def guarded(database_url, tmp_path):
    app, ctx = make_api(database_url, tmp_path, control_token="ctl-secret")
    with TestClient(app) as client:
        yield Api(client, ctx)


def test_a_foreign_host_cannot_use_the_control_plane(api):
    r = api.client.post("/clock/advance", json={"seconds": 1}, headers={"Host": "evil.example"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden_host"
    assert api.client.get("/", headers={"Host": "rebind.evil.example:8080"}).status_code == 403
    for host in ("localhost:8080", "127.0.0.1", "[::1]:8080", "testserver"):
        assert api.client.get("/clock", headers={"Host": host}).status_code == 200, host
    # the Sinch API authenticates itself: any Host may call it
    assert api.client.get(api.url("/batches"), headers={**api.h(), "Host": "api.example"}).status_code == 200


def test_a_form_post_cannot_inject_messages_or_move_the_clock(api):
    for path, body in (("/simulator/handsets/+12017777777/messages", '{"to": "12025550100", "body": "hi"}'),
                       ("/clock/advance", '{"seconds": 60}')):
        r = api.client.post(path, content=body, headers={"Content-Type": "text/plain"})
        assert r.status_code == 415, r.text
    assert api.client.get("/clock").json()["now_ms"] == api.ctx.clock.now_ms()


def test_with_a_control_token_mutations_need_it(guarded):
    c = guarded.client
    r = c.post("/clock/advance", json={"seconds": 1})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.post("/clock/advance", json={"seconds": 1}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.post("/clock/advance", json={"seconds": 1},
                  headers={"Authorization": "Bearer ctl-secret"}).status_code == 200
    assert c.get("/clock").status_code == 200  # reads stay open on loopback
    assert c.delete("/simulator/handsets").status_code == 401


def test_host_names():
    assert host_name("LocalHost:8080") == "localhost"
    assert host_name("[::1]:8080") == "[::1]"
    assert host_name("::1") == "::1"
    assert host_name("example.com") == "example.com"


def test_bodies_in_flight_are_capped():
    """Two uploads that each declare 600 bytes fit under 1000 only one at a time: the second is
    answered 503 with Retry-After at once, the first is served; then there is room again."""
    release = asyncio.Event()

    async def slow_app(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guard = Guard(slow_app, listen_host="127.0.0.1", max_body_bytes=4096, max_inflight_body_bytes=1000)

    async def call(length: int) -> tuple[int, dict]:
        sent: list[dict] = []

        async def receive():
            return {"type": "http.request", "body": b"x" * length}

        async def send(msg):
            sent.append(msg)

        scope = {"type": "http", "method": "POST", "path": "/xms/v1/SP1/batches",
                 "headers": [(b"host", b"127.0.0.1"), (b"content-length", str(length).encode())]}
        await guard(scope, receive, send)
        start = sent[0]
        return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}

    async def main():
        first = asyncio.ensure_future(call(600))
        await asyncio.sleep(0.01)
        status, headers = await call(600)
        assert status == 503 and headers["retry-after"] == "1"
        release.set()
        assert (await first)[0] == 200
        assert guard.reserved == 0
        assert (await call(600))[0] == 200

    asyncio.run(main())
