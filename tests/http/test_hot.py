"""The sends' short way (http/hot.py): a hot route answers exactly as through Starlette (its
success, its API's error format, a crash's 500), and every other request goes to Starlette."""

from __future__ import annotations

import pytest
from starlette.responses import Response
from starlette.testclient import TestClient

from openxms.errors import ConstraintViolation
from openxms.http import app as http_app
from openxms.http import spec
from openxms.http.hot import Hot


@spec.op(spec.SMS, "hot test endpoint")
async def endpoint(request):
    what = request.path_params["what"]
    if what == "bad":
        raise ConstraintViolation("no good", headers={"X-Why": "test"})
    if what == "crash":
        raise RuntimeError("secret detail")
    body = await request.body()
    return Response(
        f"{what} {request.app.state.ctx} {request.scope['route'].path} {body.decode()}",
        status_code=201,
        headers={"X-Endpoint": request.scope["endpoint"].__name__},
    )


@spec.op(spec.SMS, "cold test endpoint")
async def cold(request):
    return Response("cold", headers={"X-Scope-Route": request.scope["route"].path})


def _app():
    app = http_app.build("the context")
    app.router.routes[:0] = [
        spec.route("POST", "/hot/{what}", endpoint),
        spec.route("GET", "/hot/{what}", cold),
    ]
    return app


def _hot(app):
    return Hot(app, lambda r: r.endpoint is endpoint, http_app._handlers())


@pytest.mark.parametrize("what", ["fine", "bad", "crash"])
def test_a_hot_route_answers_as_starlette_does(what, caplog):
    app = _app()
    with TestClient(app, raise_server_exceptions=False) as plain, TestClient(_hot(app)) as hot:
        want = plain.post(f"/xms/v1/SP1/hot/{what}", content=b"the body")
        got = hot.post(f"/xms/v1/SP1/hot/{what}", content=b"the body")
    assert (got.status_code, got.content) == (want.status_code, want.content)
    assert dict(got.headers) == dict(want.headers)
    if what == "fine":
        assert got.content == b"fine the context /xms/v1/{service_plan_id}/hot/{what} the body"
        assert got.headers["x-endpoint"] == "endpoint"
    if what == "bad":
        assert got.status_code == 400 and got.json() == {"code": "syntax_constraint_violation", "text": "no good"}
    if what == "crash":  # the API's 500, logged, and not raised out of the app
        assert got.status_code == 500 and got.json() == {"code": "internal_error", "text": "internal server error"}
        assert "secret detail" not in got.text and "secret detail" in caplog.text


def test_other_methods_and_routes_go_through_starlette():
    app = _app()
    with TestClient(_hot(app)) as hot:
        r = hot.get("/xms/v1/SP1/hot/x")
        assert (r.status_code, r.text) == (200, "cold")
        assert r.headers["x-scope-route"] == "/xms/v1/{service_plan_id}/hot/{what}"
        r = hot.post("/xms/v1/SP1/hot/x/y")  # not the hot path: Starlette's 404 in the SMS format
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        r = hot.put("/xms/v1/SP1/hot/x")  # a method no route takes: Starlette's 405, all methods named
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST"


def test_the_app_routes_its_sends_the_short_way():
    hot = http_app.serve(http_app.build(None))
    taken = {(m, r.path) for m, _, r in hot._hot}
    assert taken == http_app.HOT
    assert hot.routes is hot.app.routes  # the guard's 404/405 test still sees every route
