"""The control plane refuses rebound Host names, cross-site form posts and, with a control
token, calls without it; request bodies in flight are capped (http/guard.py)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.testclient import TestClient

from openxms.http.guard import BUSY, Guard, host_name

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
    for path, body in (
        ("/simulator/handsets/+12017777777/messages", '{"to": "12025550100", "body": "hi"}'),
        ("/clock/advance", '{"seconds": 60}'),
    ):
        r = api.client.post(path, content=body, headers={"Content-Type": "text/plain"})
        assert r.status_code == 415, r.text
    assert api.client.get("/clock").json()["now_ms"] == api.ctx.clock.now_ms()


def test_with_a_control_token_mutations_need_it(guarded):
    c = guarded.client
    r = c.post("/clock/advance", json={"seconds": 1})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.post("/clock/advance", json={"seconds": 1}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert (
        c.post("/clock/advance", json={"seconds": 1}, headers={"Authorization": "Bearer ctl-secret"}).status_code == 200
    )
    assert c.get("/clock").status_code == 200  # reads stay open on loopback
    assert c.delete("/simulator/handsets").status_code == 401


def test_host_names():
    assert host_name("LocalHost:8080") == "localhost"
    assert host_name("[::1]:8080") == "[::1]"
    assert host_name("::1") == "::1"
    assert host_name("example.com") == "example.com"


def test_bodies_in_flight_are_capped():
    """Two uploads of 600 bytes fit under 1000 only one at a time: the second's body is cut (the
    body reader then answers 503, test below), the first is served; then there is room again.
    Declaring a length holds nothing: only bytes received count."""
    release = asyncio.Event()

    async def slow_app(scope, receive, send):
        message = await receive()
        status = 503 if message["type"] == "http.disconnect" and scope.get(BUSY) else 200
        if status == 200:
            await release.wait()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = Guard(slow_app, listen_host="127.0.0.1", max_body_bytes=4096, max_inflight_body_bytes=1000)

    async def call(length: int, declared: int | None = None) -> int:
        sent: list[dict] = []

        async def receive():
            return {"type": "http.request", "body": b"x" * length}

        async def send(msg):
            sent.append(msg)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/xms/v1/SP1/batches",
            "headers": [(b"host", b"127.0.0.1"), (b"content-length", str(declared or length).encode())],
        }
        await guard(scope, receive, send)
        return sent[0]["status"]

    async def main():
        first = asyncio.ensure_future(call(600))
        await asyncio.sleep(0.01)
        assert guard.reserved == 600
        assert await call(600) == 503
        release.set()
        assert await first == 200
        assert guard.reserved == 0
        release.clear()
        big = asyncio.ensure_future(call(10, declared=4_000_000))  # declares a lot, sends little
        await asyncio.sleep(0.01)
        assert guard.reserved == 10
        release.set()
        assert await big == 200
        assert await call(600) == 200

    asyncio.run(main())


def test_a_cut_body_is_answered_503_in_the_apis_format(api: Api):
    """The body reader's side of the cap (as if the guard had cut the body)."""
    import asyncio as aio

    from starlette.requests import Request

    from openxms.errors import ApiError
    from openxms.http.responses import read_body

    async def receive():
        return {"type": "http.disconnect"}

    request = Request({"type": "http", "method": "POST", "path": "/", "headers": [], BUSY: True}, receive)
    with pytest.raises(ApiError) as e:
        aio.run(read_body(request, 1000))
    assert e.value.status == 503 and e.value.headers["Retry-After"] == "1"
