"""The batch endpoints on SQLite and PostgreSQL: shapes, limits, codes (spec §3, §8)."""

from __future__ import annotations

import base64

import pytest


def test_send_text_batch_echoes_normalised_fields(api):
    r = api.post(
        "/batches",
        {
            "to": ["+12017777777", "0046 70-123 45 67"],
            "from": "+12015555555",
            "body": "Hi ${name}",
            "parameters": {"name": {"+12017777777": "John", "default": "x"}},
            "delivery_report": "full",
            "client_reference": "ref-1",
            "feedback_enabled": True,
        },
    )
    assert r.status_code == 201, r.text
    b = r.json()
    assert len(b["id"]) == 26
    assert b["to"] == ["12017777777", "46701234567"]
    assert b["from"] == "12015555555"
    assert b["type"] == "mt_text" and b["canceled"] is False and b["flash_message"] is False
    assert b["parameters"] == {"name": {"+12017777777": "John", "default": "x"}}  # echoed as sent
    assert b["delivery_report"] == "full" and b["client_reference"] == "ref-1" and b["feedback_enabled"] is True
    assert b["created_at"] == b["modified_at"] and b["created_at"].endswith("Z") and len(b["created_at"]) == 24
    assert "send_at" not in b  # only present when the client sent it
    assert None not in b.values()
    assert api.get(f"/batches/{b['id']}").json() == b


def test_defaults_expire_three_days_after_send_at(api):
    b = api.send(send_at="2030-01-01T10:00:00+02:00")
    assert b["send_at"] == "2030-01-01T08:00:00.000Z"
    assert b["expire_at"] == "2030-01-04T08:00:00.000Z"
    assert b["delivery_report"] == "none"


@pytest.mark.parametrize(
    "fields,code",
    [
        ({"expire_at": "2030-01-01T07:00:00Z", "send_at": "2030-01-01T08:00:00Z"}, "syntax_constraint_violation"),
        ({"expire_at": "2030-01-04T08:00:01Z", "send_at": "2030-01-01T08:00:00Z"}, "syntax_constraint_violation"),
        ({"send_at": "tomorrow"}, "syntax_invalid_parameter_format"),
        ({"delivery_report": "sometimes"}, "syntax_invalid_parameter_format"),
        ({"type": "mt_fax"}, "syntax_invalid_parameter_format"),
        ({"callback_url": "not a url"}, "syntax_invalid_parameter_format"),
        ({"callback_url": "https://x.example/" + "a" * 2048}, "syntax_constraint_violation"),
        ({"client_reference": "r" * 2049}, "syntax_constraint_violation"),
        ({"max_number_of_message_parts": 0}, "syntax_constraint_violation"),
        ({"from_ton": 7}, "syntax_constraint_violation"),
        ({"from_npi": 19}, "syntax_constraint_violation"),
        ({"from_npi": -1}, "syntax_constraint_violation"),
        ({"body": "x" * 2001}, "syntax_constraint_violation"),
        ({"to": []}, "syntax_constraint_violation"),
        ({"to": ["+1201777777" + str(i % 10) for i in range(1001)]}, "syntax_constraint_violation"),
        ({"to": ["hello!"]}, "syntax_invalid_parameter_format"),
        ({"to": ["+0123"]}, "syntax_invalid_parameter_format"),
        ({"to": "12017777777"}, "syntax_invalid_json"),
        ({"flash_message": "yes"}, "syntax_invalid_json"),
        ({"body": 42}, "syntax_invalid_json"),
        ({"parameters": {"name": {"default": "v" * 161}}}, "syntax_constraint_violation"),
    ],
)
def test_send_rejects_bad_input_with_sinch_errors(api, fields, code):
    body = {"to": ["+12017777777"], "from": "+12015555555", "body": "Hello", **fields}
    r = api.post("/batches", body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == code
    assert r.json()["text"]


def test_missing_required_fields(api):
    for body in ({"body": "x"}, {"to": ["+12017777777"]}):
        r = api.post("/batches", body)
        assert (r.status_code, r.json()["code"]) == (400, "syntax_constraint_violation")


def test_invalid_json_and_oversize_body(api):
    r = api.client.post(
        api.url("/batches"), content=b'{"to": [', headers={**api.h(), "Content-Type": "application/json"}
    )
    assert (r.status_code, r.json()["code"]) == (400, "syntax_invalid_json")
    big = b'{"to": ["12017777777"], "body": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    r = api.client.post(api.url("/batches"), content=big, headers=api.h())
    assert r.status_code == 400 and r.json()["code"] == "syntax_constraint_violation"


def test_exactly_1000_recipients_is_accepted(api):
    to = [f"+1201{i:07d}" for i in range(1000)]
    r = api.post("/batches", {"to": to, "from": "x", "body": "hi"})
    assert r.status_code == 201
    assert len(r.json()["to"]) == 1000


def test_one_number_written_three_ways_is_one_recipient(api):
    # A new batch's rows are inserted without ON CONFLICT on PostgreSQL (store/recipients.py
    # insert_queued new=True): this guards that its numbers reach the store deduplicated, and
    # that update and replace, which may meet rows already there, still add only what is missing.
    b = api.send(to=["+12017777777", "12017777777", "0012017777777", "+12018888888"], delivery_report="full")
    assert b["to"] == ["12017777777", "12018888888"]

    def queued():
        r = api.get(f"/batches/{b['id']}/delivery_report", params={"type": "full"})
        assert r.status_code == 200, r.text
        return sorted(n for s in r.json()["statuses"] for n in s["recipients"])

    assert queued() == ["12017777777", "12018888888"]
    r = api.post(f"/batches/{b['id']}", {"to_add": ["+12018888888", "+12019999999"]})
    assert r.status_code == 200, r.text
    assert queued() == ["12017777777", "12018888888", "12019999999"]
    r = api.put(f"/batches/{b['id']}", {"to": ["12019999999", "+12010000001"], "from": "x", "body": "hi"})
    assert r.status_code == 200, r.text
    after = queued()  # rows already dispatched stay in the report; none appears twice
    assert len(after) == len(set(after)) and {"12010000001", "12019999999"} <= set(after)


def test_binary_batch(api):
    body = base64.b64encode(b"\x01\x02hello").decode()
    b = api.send(type="mt_binary", body=body, udh="06050423F423F4")
    assert b["type"] == "mt_binary" and b["udh"] == "06050423F423F4" and b["body"] == body
    assert "flash_message" not in b and "parameters" not in b
    for bad in (
        {"udh": None},
        {"body": "***"},
        {"udh": "zz"},
        {"body": base64.b64encode(b"x" * 134).decode(), "udh": "06050423F423F4"},
    ):
        r = api.post(
            "/batches", {"to": ["+12017777777"], "type": "mt_binary", "body": body, "udh": "06050423F423F4", **bad}
        )
        assert r.status_code == 400, bad


def test_auth_errors_and_plan_isolation(api):
    b = api.send()
    assert api.client.get(api.url("/batches")).status_code == 401
    r = api.client.get(api.url("/batches"), headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    # SP2's token on SP1's path, and SP2 reading SP1's batch
    assert api.client.get(api.url("/batches"), headers=api.h("SP2")).status_code == 401
    assert api.get(f"/batches/{b['id']}", plan="SP2").status_code == 404
    assert api.delete(f"/batches/{b['id']}", plan="SP2").status_code == 404
    assert api.post(f"/batches/{b['id']}", {"body": "hijack"}, plan="SP2").status_code == 404
    assert api.get("/batches", plan="SP2").json()["count"] == 0
    assert api.client.get("/xms/v1/NOPE/batches", headers=api.h()).status_code == 401


def test_unknown_paths_and_methods_are_sinch_shaped(api):
    r = api.get("/batches/01XXXXXXXXXXXXXXXXXXXXXXXX")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = api.client.patch(api.url("/batches"), headers=api.h())
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert api.client.get("/nothing-here").json()["code"] == "not_found"


def test_list_pagination_contract(api):
    ids = [api.send(client_reference=f"r{i}")["id"] for i in range(5)]
    r = api.get("/batches", params={"page_size": 2}).json()
    assert (r["count"], r["page"], r["page_size"]) == (5, 0, 2)
    assert [b["id"] for b in r["batches"]] == ids[::-1][:2]  # newest first
    r = api.get("/batches", params={"page": 2, "page_size": 2}).json()
    assert (r["count"], r["page"], r["page_size"]) == (5, 2, 1)
    r = api.get("/batches", params={"page": 3, "page_size": 2}).json()
    assert r == {"count": 5, "page": 3, "page_size": 0, "batches": []}
    assert api.get("/batches").json()["page_size"] == 5
    for bad in ({"page_size": 0}, {"page_size": 101}, {"page": -1}, {"page": "x"}):
        assert api.get("/batches", params=bad).status_code == 400


def test_list_filters(api):
    a = api.send(**{"from": "+12015555555"}, client_reference="A")
    b = api.send(**{"from": "12016666666", "to": ["+12018888888"]})
    c = api.send(**{"from": "MyBrand"})
    ids = lambda r: {x["id"] for x in r.json()["batches"]}  # noqa: E731
    assert ids(api.get("/batches", params={"from": "+12015555555,12016666666"})) == {a["id"], b["id"]}
    # Node's SDK does not URL-encode: a literal + arrives as a space
    assert ids(api.client.get(api.url("/batches?from=+12015555555"), headers=api.h())) == {a["id"]}
    assert ids(api.get("/batches", params={"from": "MyBrand"})) == {c["id"]}
    assert ids(api.get("/batches", params={"client_reference": "A"})) == {a["id"]}
    assert ids(api.get("/batches", params={"to": "+12018888888"})) == {b["id"]}
    # start_date defaults to 24 h ago; older batches need an explicit start_date
    api.advance(25 * 3600)
    assert api.get("/batches").json()["count"] == 0
    assert api.get("/batches", params={"start_date": "2000-01-01T00:00:00Z"}).json()["count"] == 3
    r = api.get("/batches", params={"start_date": "2000-01-01", "end_date": "2000-01-02"}).json()
    assert r["count"] == 0
    assert api.get("/batches", params={"start_date": "soon"}).status_code == 400


def test_update_to_add_remove_and_fields(api):
    b = api.send(to=["+12017777777", "+12018888888"], send_at="2099-01-01T00:00:00Z")
    r = api.post(
        f"/batches/{b['id']}",
        {
            "type": "mt_text",
            "to_add": ["+12019999999"],
            "to_remove": ["+12018888888"],
            "from": "+12016666666",
            "delivery_report": "summary",
        },
    )
    assert r.status_code == 200, r.text
    u = r.json()
    assert u["to"] == ["12017777777", "12019999999"]
    assert u["from"] == "12016666666" and u["delivery_report"] == "summary"
    assert u["id"] == b["id"] and u["created_at"] == b["created_at"]
    r = api.post(f"/batches/{b['id']}", {"toAdd": ["+12010000001"], "toRemove": ["+12017777777"]})
    assert r.json()["to"] == ["12019999999", "12010000001"]
    assert api.post(f"/batches/{b['id']}", {"to_add": ["bad!"]}).status_code == 400
    assert api.post(f"/batches/{b['id']}", {"expire_at": "2098-01-01T00:00:00Z"}).status_code == 400
    assert api.post("/batches/01XXXXXXXXXXXXXXXXXXXXXXXX", {}).status_code == 404


def test_update_modified_at_moves_with_the_clock(api):
    b = api.send()
    api.advance(2)
    u = api.post(f"/batches/{b['id']}", {"client_reference": "later"}).json()
    assert u["modified_at"] > b["modified_at"] and u["created_at"] == b["created_at"]


def test_replace_keeps_id_and_resets_omitted_fields(api):
    b = api.send(delivery_report="full", client_reference="x", send_at="2099-01-01T00:00:00Z")
    r = api.put(f"/batches/{b['id']}", {"to": ["+12011111111"], "from": "x", "body": "new", "type": "mt_text"})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["id"] == b["id"] and p["created_at"] == b["created_at"]
    assert p["body"] == "new" and p["to"] == ["12011111111"] and p["delivery_report"] == "none"
    assert "client_reference" not in p and "send_at" not in p
    assert api.put(f"/batches/{b['id']}", {"to": []}).status_code == 400


def test_cancel(api):
    b = api.send(send_at="2099-01-01T00:00:00Z")
    r = api.delete(f"/batches/{b['id']}")
    assert r.status_code == 200 and r.json()["canceled"] is True
    assert api.get(f"/batches/{b['id']}").json()["canceled"] is True
    assert api.delete(f"/batches/{b['id']}").json()["canceled"] is True  # idempotent
    assert api.delete("/batches/01XXXXXXXXXXXXXXXXXXXXXXXX").status_code == 404


def test_delivery_feedback(api):
    plain = api.send()
    r = api.post(f"/batches/{plain['id']}/delivery_feedback", {"recipients": []})
    assert r.status_code == 400
    b = api.send(feedback_enabled=True)
    assert api.post(f"/batches/{b['id']}/delivery_feedback", {"recipients": ["+12017777777"]}).status_code == 202
    assert api.post(f"/batches/{b['id']}/delivery_feedback", {"recipients": []}).status_code == 202
    assert api.post(f"/batches/{b['id']}/delivery_feedback", {}).status_code == 400
    assert api.post(f"/batches/{b['id']}/delivery_feedback", {"recipients": "x"}).status_code == 400
    assert api.post("/batches/01XXXXXXXXXXXXXXXXXXXXXXXX/delivery_feedback", {"recipients": []}).status_code == 404
    # feedback names phone numbers only; the error names the entry at fault, not the first number
    r = api.post(f"/batches/{b['id']}/delivery_feedback", {"recipients": ["+12017777777", "01FRIENDSGROUP"]})
    assert r.status_code == 400 and "'01FRIENDSGROUP'" in r.json()["text"], r.json()


def test_idempotency_key(api):
    body = {"to": ["+12017777777"], "from": "x", "body": "once"}
    h = {"Idempotency-Key": "k-1"}
    r1 = api.post("/batches", body, headers=h)
    r2 = api.post("/batches", body, headers=h)
    assert r1.status_code == 201 and r2.status_code == 200
    assert r2.json() == r1.json() and r2.headers["Idempotent-Replayed"] == "true"
    r3 = api.post("/batches", {**body, "body": "twice"}, headers=h)
    assert r3.status_code == 409 and r3.json()["code"] == "idempotency_key_reused"
    # another plan may use the same key; after 24 h the key is free again
    assert api.post("/batches", body, plan="SP2", headers=h).status_code == 201
    api.advance(24 * 3600 + 1)
    assert api.post("/batches", {**body, "body": "twice"}, headers=h).status_code == 201
    assert api.get("/batches", params={"start_date": "2000-01-01T00:00:00Z"}).json()["count"] == 2


def test_dry_run(api):
    body = {
        "to": ["+12017777777", "+12018888888", "+12019999999"],
        "from": "x",
        "body": "Hello ${name}!",
        "parameters": {"name": {"+12017777777": "John", "default": "there"}},
    }
    r = api.post("/batches/dry_run", body)
    assert r.status_code == 200
    assert r.json() == {"number_of_recipients": 3, "number_of_messages": 3}
    r = api.client.post(
        api.url("/batches/dry_run?per_recipient=True&number_of_recipients=2"), json=body, headers=api.h()
    ).json()
    assert r["number_of_messages"] == 3 and len(r["per_recipient"]) == 2
    assert r["per_recipient"][0] == {
        "recipient": "12017777777",
        "body": "Hello John!",
        "number_of_parts": 1,
        "encoding": "text",
    }
    assert r["per_recipient"][1]["body"] == "Hello there!"
    long_unicode = {**body, "body": "ж" * 71, "parameters": None}
    r = api.client.post(api.url("/batches/dry_run?per_recipient=true"), json=long_unicode, headers=api.h()).json()
    assert r["number_of_messages"] == 6 and r["per_recipient"][0]["encoding"] == "unicode"
    assert api.post("/batches/dry_run", {"to": []}).status_code == 400
    assert (
        api.client.post(api.url("/batches/dry_run?per_recipient=maybe"), json=body, headers=api.h()).status_code == 400
    )
    assert api.get("/batches", params={"start_date": "2000-01-01T00:00:00Z"}).json()["count"] == 0  # nothing stored


def test_oauth_project_mode(api):
    c = api.client
    assert c.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=("KEY1", "bad")).status_code == 401
    assert c.post("/oauth2/token", data={"grant_type": "password"}, auth=("KEY1", "SECRET1")).status_code == 400
    r = c.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=("KEY1", "SECRET1"))
    assert r.status_code == 200
    tok = r.json()
    assert set(tok) == {"access_token", "expires_in", "scope", "token_type"} and tok["access_token"].count(".") == 2
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    r = c.post("/xms/v1/PROJ1/batches", json={"to": ["+12017777777"], "from": "x", "body": "hi"}, headers=h)
    assert r.status_code == 201
    assert c.get("/xms/v1/SP1/batches", headers=h).status_code == 401  # not a plan token
    api.advance(3601)
    r = c.get("/xms/v1/PROJ1/batches", headers=h)
    assert r.status_code == 401 and "expired" in r.headers["www-authenticate"]


def test_openapi_document(api):
    d = api.client.get("/openapi.json").json()
    assert d["openapi"].startswith("3.1")
    assert "/xms/v1/{service_plan_id}/batches" in d["paths"]
    assert d["components"]["schemas"]["Batch"]["properties"]["created_at"]["format"] == "date-time"
    assert "Send a batch" in api.client.get("/docs").text
