"""`/simulator/handsets` searched and paged with unread counts and read marks, and
`/simulator/rules/preview` against what the simulator then really does (SQLite and PostgreSQL)."""

from __future__ import annotations

import msgspec

from openxms.http.simulator import Handsets, ReadState, RulesPreview


def call(api, method: str, path: str, typ, status: int, **kw) -> dict:
    r = api.client.request(method, path, **kw)
    assert r.status_code == status, r.text
    if status == 200:
        msgspec.json.decode(r.content, type=typ, strict=True)  # as documented
    return r.json()


def handsets(api, status: int = 200, **params) -> dict:
    return call(api, "GET", "/simulator/handsets", Handsets, status, params=params)


def read(api, number: str, body: dict | None = None, status: int = 200) -> dict:
    return call(api, "POST", f"/simulator/handsets/{number}/read", ReadState, status, json=body or {})


def preview(api, status: int = 200, **params) -> dict:
    return call(api, "GET", "/simulator/rules/preview", RulesPreview, status, params=params)


def test_handsets_search_pages_and_unread(api):
    api.send(to=["+12017770001", "+12017770002"], body="walrus sighted")
    api.send(to=["+4670123456"], body="other news")
    api.wait_for(lambda: len(handsets(api)["handsets"]) == 3)
    assert [h["msisdn"] for h in handsets(api, q="WALRUS")["handsets"]] == ["12017770002", "12017770001"]
    assert [h["msisdn"] for h in handsets(api, q="+46 70 12")["handsets"]] == ["4670123456"]
    first = handsets(api, limit=2)
    assert [h["msisdn"] for h in first["handsets"]] == ["4670123456", "12017770002"]
    assert first["handsets"][0] == {**first["handsets"][0], "messages": 1, "unread": 1, "last_body": "other news"}
    rest = handsets(api, limit=2, after=first["next"])
    assert [h["msisdn"] for h in rest["handsets"]] == ["12017770001"] and rest["next"] is None

    newest = first["handsets"][0]["last_id"]
    assert read(api, "+46 70 123 456") == {"msisdn": "4670123456", "read_id": newest, "unread": 0}
    assert handsets(api, q="4670")["handsets"][0]["unread"] == 0
    api.send(to=["+4670123456"], body="more")
    api.wait_for(lambda: handsets(api, q="4670")["handsets"][0]["unread"] == 1)
    newest = handsets(api, q="4670")["handsets"][0]["last_id"]
    assert read(api, "4670123456", {"through": newest - 1})["unread"] == 1  # only what was seen
    assert read(api, "4670123456", {"through": newest})["unread"] == 0


def test_handsets_bad_input_is_a_400(api):
    for params in ({"after": "x"}, {"after": "0"}, {"after": str(2**63)}, {"limit": "0"}, {"limit": "501"},
                   {"q": "x" * 201}):  # fmt: skip
        assert handsets(api, 400, **params)["code"].startswith("syntax_")
    assert read(api, "12017770001", {"through": "x"}, 400)["code"] == "syntax_invalid_json"
    assert read(api, "12017770001", {"through": -1}, 400)["code"] == "syntax_constraint_violation"
    assert read(api, "0", status=400)["code"] == "syntax_invalid_parameter_format"
    assert preview(api, 400)["text"] == "number is required"
    assert preview(api, 400, number="abc")["code"] == "syntax_invalid_parameter_format"
    assert preview(api, 400, number="12017770001", recipient_id="x")["code"] == "syntax_invalid_parameter_format"


def test_preview_is_what_the_simulator_then_does(api):
    rules = {
        "seed": 42,
        "profiles": {"coin": {"failure_probability": 0.5, "failure_code": 60, "delay_ms": [0, 900]}},
        "rules": [{"match": "4670*", "profile": "coin"}, {"match": "*99", "status": "Expired"}],
    }
    assert api.client.put("/simulator/rules", json=rules).status_code == 200
    p = preview(api, number="+46 70 111 2233")
    assert p == {
        **p,
        "msisdn": "46701112233",
        "source": "rules",
        "index": 0,
        "rule": {"match": "4670*", "profile": "coin"},
        "profile": "coin",
        "chance": True,
        "outcome": None,  # depends on the message: no recipient_id given
    }
    assert p["profile_settings"]["failure_probability"] == 0.5
    fixed = preview(api, number="12017770099")
    assert (fixed["source"], fixed["index"], fixed["chance"]) == ("rules", 1, False)
    assert fixed["outcome"] == {"accept": True, "status": "Expired", "code": 201, "delay_ms": 0, "receipt": True}
    magic = preview(api, number="12017770003")
    assert (magic["source"], magic["index"]) == ("magic_numbers", 2)
    assert magic["outcome"] == {"accept": False, "status": "Rejected", "code": 408, "delay_ms": 0, "receipt": False}
    default = preview(api, number="12017770123")
    assert (default["source"], default["index"], default["rule"], default["profile"]) == (
        "default_profile",
        None,
        None,
        "healthy",
    )

    # 20 messages to the coin number: each ends as the preview of its recipient id says
    b = api.send(to=["+46701112233"] * 1 + [f"+4670111{i:04d}" for i in range(19)], body="toss")
    landed = lambda: sum(h["messages"] for h in handsets(api, q="4670111")["handsets"]) == 20  # noqa: E731
    api.wait_for(landed)  # on the handsets: now the clock can bring the receipts (0-900 ms)
    api.advance(1)
    api.wait_for(lambda: api.statuses(b["id"]).keys() <= {"Delivered", "Failed"})
    messages = api.client.get("/simulator/messages", params={"batch_id": b["id"], "limit": 50}).json()["messages"]
    seen = set()
    for m in messages:
        o = preview(api, number=m["to"], recipient_id=m["id"])["outcome"]
        assert (m["status"], m["code"]) == (o["status"], o["code"]), m
        seen.add(o["status"])
    assert seen == {"Delivered", "Failed"}  # both sides of the coin came up


def test_preview_of_throttling_says_what_the_smsc_would_do(api):
    assert (
        api.client.put("/simulator/rules", json={"rules": [{"match": "*", "profile": "throttling"}]}).status_code == 200
    )
    outcomes = [preview(api, number="12017770001", recipient_id=i) for i in range(20)]
    throttled = [p for p in outcomes if p["smsc_outcome"] is not None]
    assert throttled and len(throttled) < 20
    for p in throttled:  # the handset simulator delivers what an SMSC would throttle
        assert p["outcome"]["status"] == "Delivered" and p["smsc_outcome"]["code"] == 0x58
