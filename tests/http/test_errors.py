"""Every error is written in the format of the API its route belongs to."""

import pytest
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from openxms.errors import ApiError, ConstraintViolation, Forbidden, OAuthError
from openxms.http import app as http_app
from openxms.http import control, spec


def test_one_constructor_class_defaults_and_overrides():
    e = ConstraintViolation("to is required")
    assert (e.status, e.code, e.text, e.headers) == (400, "syntax_constraint_violation", "to is required", {})
    f = Forbidden("unknown group id: x", code="unknown_group", headers={"X": "1"})
    assert (f.status, f.code, f.headers) == (403, "unknown_group", {"X": "1"})
    assert Forbidden("y").code == "forbidden"  # an override does not leak into the class
    assert ApiError("slow", code="timeout", status=408).status == 408


def test_router_errors_are_sinch_shaped(api):
    r = api.client.get("/xms/v1/SP1/nothing-here")
    assert r.status_code == 404 and r.json() == {"code": "not_found", "text": "no such resource"}
    r = api.client.patch("/clock", json={})  # (without JSON the control-plane guard answers 415 first)
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed" and "GET" in r.headers["allow"]
    r = api.client.post("/oauth2/token", data={"grant_type": "password"})
    assert r.status_code == 400 and r.json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant_type must be client_credentials",
    }


def test_a_405_lists_every_method_of_the_path(api):
    # each method is its own route; the answer must still name all of them (RFC 9110 section 15.5.6)
    batch = api.send()
    r = api.client.patch(api.url(f"/batches/{batch['id']}"), headers=api.h(), json={})
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "HEAD", "POST", "PUT", "DELETE"}
    r = api.client.options(api.url("/groups"), headers=api.h())
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "HEAD", "POST"}


def test_a_method_the_control_plane_lacks_is_a_405_not_a_415(api):
    # no Content-Type: a route would get the guard's 415; a method with no route is the router's 405
    r = api.client.put("/clock")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "HEAD"}
    assert api.client.post("/clock/advance").status_code == 415  # a real route still needs JSON


def _request(path: str, route=None) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
    }
    if route is not None:
        scope["route"] = route
    return Request(scope)


def test_the_route_api_chooses_the_body_format():
    class Other:
        def __init__(self, code: int, message: str) -> None:
            self.error = {"code": code, "message": message}

    other = spec.Api("other", "/v1/projects/{project_id}", Other, lambda e: Other(e.status, e.text))

    @spec.op(other, "x")
    async def handler(request):  # pragma: no cover - never called
        raise AssertionError

    r = spec.route("GET", "/things", handler)
    assert r.path == "/v1/projects/{project_id}/things"
    body = spec.render(_request("/v1/projects/p/things", r), ConstraintViolation("bad"))
    assert body.error == {"code": 400, "message": "bad"}
    assert spec.render(
        _request("/v1/projects/p/things", r), OAuthError("no", code="invalid_client")
    ) == spec.OAuth2Error("invalid_client", "no")  # OAuth2 errors are OAuth2-shaped wherever raised
    assert spec.render(_request("/xms/v1/SP1/unknown"), ConstraintViolation("bad")) == spec.Error(
        "syntax_constraint_violation", "bad"
    )  # no route: the API owning the prefix
    assert spec.api_for(_request("/nowhere")) is spec.DEFAULT


def test_crash_is_a_500_in_the_api_format():
    @spec.op(spec.SMS, "boom")
    async def boom(request):
        raise RuntimeError("secret detail")

    app = http_app.build(None)
    app.router.routes.append(spec.route("GET", "/boom", boom))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/xms/v1/SP1/boom")
    assert r.status_code == 500 and r.json() == {"code": "internal_error", "text": "internal server error"}


def test_a_route_without_a_declaration_is_refused():
    async def bare(request):  # pragma: no cover
        return None

    with pytest.raises(TypeError, match="no @op"):
        spec.route("GET", "/x", bare)
    assert isinstance(spec.route("GET", "/h", control.health), Route)
