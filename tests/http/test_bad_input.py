"""Bad input gets a Sinch 400 (or the right status), never a 500: each case here answered
internal_error before (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from .conftest import Api

JSON = {"Content-Type": "application/json"}


def _sinch_400(r, code: str | None = None) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"code", "text"}
    if code is not None:
        assert body["code"] == code, body


@pytest.mark.parametrize("path", ["/batches", "/batches/dry_run", "/groups"])
def test_invalid_utf8_bodies(api: Api, path):
    r = api.client.post(api.url(path), content=b'{"to": ["\xff"], "body": "x"}', headers={**api.h(), **JSON})
    _sinch_400(r, "syntax_invalid_json")


def test_invalid_utf8_on_every_write_route(api: Api):
    b = api.send()
    g = api.post("/groups", {"name": "g", "members": ["+12017777777"]}).json()
    bad = b'{"name": "\xfe"}'
    for method, path in (
        ("POST", f"/batches/{b['id']}"),
        ("PUT", f"/batches/{b['id']}"),
        ("POST", f"/groups/{g['id']}"),
        ("PUT", f"/groups/{g['id']}"),
        ("POST", f"/batches/{b['id']}/delivery_feedback"),
    ):
        r = api.client.request(method, api.url(path), content=bad, headers={**api.h(), **JSON})
        _sinch_400(r, "syntax_invalid_json")


@pytest.mark.parametrize("query", ["page=1000000000000000000", "page_size=100000000000000000000"])
def test_huge_page_numbers(api: Api, query):
    for path in ("/batches", "/groups", "/inbounds", "/delivery_reports"):
        _sinch_400(api.client.get(api.url(path) + "?" + query, headers=api.h()), "syntax_constraint_violation")


def test_huge_codes(api: Api):
    b = api.send()
    for path in (f"/batches/{b['id']}/delivery_report", "/delivery_reports"):
        _sinch_400(api.client.get(api.url(path) + "?code=100000000000000000000", headers=api.h()))
    r = api.client.get("/simulator/handsets/+12017777777/messages/wait?after=100000000000000000000&timeout=0")
    _sinch_400(r)


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59"])
def test_dates_out_of_range(api: Api, when):
    for field in ("send_at", "expire_at"):
        r = api.post("/batches", {"to": ["+12017777777"], "body": "x", field: when})
        _sinch_400(r)
    r = api.client.post(
        "/simulator/handsets/+12017777777/messages", json={"to": "12025550100", "body": "x", "sent_at": when}
    )
    _sinch_400(r)
    _sinch_400(api.client.get(api.url("/batches"), params={"start_date": when}, headers=api.h()))


def test_empty_start_date_is_refused(api: Api):
    _sinch_400(api.client.get(api.url("/batches") + "?start_date=", headers=api.h()), "syntax_invalid_parameter_format")


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "http://a:abc/",
        "http://[v1.x]/",
        "http://exa\tmple.com/",
        "http://xn--a/",
        "http://a:99999/",
        "http:///nohost",
        "ftp://x.example/",
    ],
)
def test_callback_urls_the_sender_would_refuse(api: Api, url):
    _sinch_400(
        api.post("/batches", {"to": ["+12017777777"], "body": "x", "callback_url": url}),
        "syntax_invalid_parameter_format",
    )


def test_rules_nested_too_deep(api: Api):
    deep = "[" * 100_000 + "]" * 100_000
    r = api.client.put("/simulator/rules", content=deep, headers=JSON)
    _sinch_400(r, "syntax_constraint_violation")


@pytest.mark.parametrize("body", [{"seconds": 1e15}, {"ms": 10**20}, {"seconds": 1e308}])
def test_the_clock_cannot_be_moved_out_of_range(api: Api, body):
    before = api.client.get("/clock").json()["now_ms"]
    _sinch_400(api.client.post("/clock/advance", json=body), "syntax_constraint_violation")
    assert api.client.get("/clock").json()["now_ms"] == before
    assert api.get("/batches").status_code == 200  # and the server still formats its times


def test_the_clock_refuses_infinity(api: Api):
    r = api.client.post("/clock/advance", content=b'{"seconds": 1e999}', headers=JSON)
    assert r.status_code == 400, r.text


def test_group_writes_need_a_body(api: Api):
    g = api.post("/groups", {"name": "keep", "members": ["+12017777777"]}).json()
    for method, path in (("POST", "/groups"), ("PUT", f"/groups/{g['id']}"), ("POST", f"/groups/{g['id']}")):
        _sinch_400(api.client.request(method, api.url(path), headers=api.h()), "syntax_invalid_json")
    assert api.get(f"/groups/{g['id']}/members").json() == ["12017777777"]  # not wiped
    assert api.get(f"/groups/{g['id']}").json()["name"] == "keep"


@pytest.mark.parametrize("field", ["body", "client_reference", "from"])
def test_nul_characters_are_refused_in_bodies(api: Api, field):
    body = {"to": ["+12017777777"], "body": "x", "from": "+12025550100", field: "a\u0000b"}
    _sinch_400(api.post("/batches", body), "syntax_invalid_parameter_format")
    _sinch_400(api.post("/groups", {"name": "a\u0000b"}), "syntax_invalid_parameter_format")


def test_nul_characters_are_refused_in_queries_and_paths(api: Api):
    _sinch_400(api.client.get(api.url("/batches") + "?client_reference=a%00b", headers=api.h()))
    _sinch_400(api.client.get(api.url("/batches/a%00b"), headers=api.h()))
    _sinch_400(api.client.get(api.url("/groups/a%00b"), headers=api.h()))


def test_a_literal_backslash_u0000_is_text_not_nul(api: Api):
    b = api.send(body="path C:\\\\u0000 ok")  # the JSON text "\\\\u0000": a backslash, then u0000
    assert "\\u0000" in b["body"]


def test_repeated_list_filters_work_like_comma_lists(api: Api):
    b = api.send(to=["+12017777777", "+12010000001"])  # one Delivered, one Failed (magic number)
    api.wait_for(lambda: api.statuses(b["id"]) == {"Delivered": 1, "Failed": 1})
    comma = api.client.get(api.url("/delivery_reports") + "?status=Delivered,Failed", headers=api.h()).json()
    repeated = api.client.get(api.url("/delivery_reports") + "?status=Delivered&status=Failed", headers=api.h()).json()
    assert comma["count"] == repeated["count"] == 2
    r = api.client.get(
        api.url(f"/batches/{b['id']}/delivery_report") + "?status=Delivered&status=Failed", headers=api.h()
    ).json()
    assert {s["status"] for s in r["statuses"]} == {"Delivered", "Failed"}
