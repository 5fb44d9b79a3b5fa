"""`/simulator/inbounds` and `/simulator/groups`: every plan's MOs and groups, newest first, paged
by cursor and filtered, each with the object exactly as the SMS API returns it (SQLite and
PostgreSQL)."""

from __future__ import annotations

import msgspec

from openxms.http.simulator_inbounds import SimGroupDetail, SimGroups, SimInbound, SimInbounds


def get(api, path: str, typ, status: int = 200, **params) -> dict:
    r = api.client.get(path, params=params)
    assert r.status_code == status, r.text
    if status == 200:
        msgspec.json.decode(r.content, type=typ, strict=True)  # as documented
    return r.json()


def mo(api, handset: str, body: str, plan: str) -> dict:
    r = api.client.post(
        f"/simulator/handsets/{handset}/messages", json={"to": "12025550100", "body": body, "service_plan_id": plan}
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_inbounds_of_every_plan_newest_first(api):
    sent = [mo(api, "12017770001", "one", "SP1"), mo(api, "12017770002", "two", "SP2")]
    api.advance(1)
    sent.append(mo(api, "12017770001", "three", "SP1"))
    listed = get(api, "/simulator/inbounds", SimInbounds)
    assert [(i["service_plan_id"], i["inbound"]["body"]) for i in listed["inbounds"]] == [
        ("SP1", "three"),
        ("SP2", "two"),
        ("SP1", "one"),
    ]
    for item in listed["inbounds"]:  # the SMS API's own object
        plan, inbound = item["service_plan_id"], item["inbound"]
        assert api.get(f"/inbounds/{inbound['id']}", plan).json() == inbound
        assert get(api, f"/simulator/inbounds/{inbound['id']}", SimInbound) == item

    first = get(api, "/simulator/inbounds", SimInbounds, limit=2)
    rest = get(api, "/simulator/inbounds", SimInbounds, limit=2, after=first["next"])
    assert [i["inbound"]["body"] for i in first["inbounds"] + rest["inbounds"]] == ["three", "two", "one"]
    assert rest["next"] is None
    only = lambda **p: [i["inbound"]["body"] for i in get(api, "/simulator/inbounds", SimInbounds, **p)["inbounds"]]  # noqa: E731
    assert only(service_plan_id="SP2") == ["two"]
    assert only(number="+1 (201) 777-0001") == ["three", "one"]  # from this handset
    assert only(number="12025550100") == ["three", "two", "one"]  # to this number
    assert only(number="12019999999") == []


def test_inbounds_bad_input(api):
    for params in (
        {"after": "x"},
        {"after": "1:"},
        {"after": "99999999999999999:ab"},
        {"limit": "0"},
        {"number": "1" * 65},
    ):
        assert get(api, "/simulator/inbounds", None, 400, **params)["code"].startswith("syntax_")
    assert get(api, "/simulator/inbounds/01NOPE", None, 404)["code"] == "not_found"
    assert get(api, "/simulator/inbounds/a%20b", None, 400)["code"] == "syntax_invalid_parameter_format"


def test_groups_with_sizes_members_and_keywords(api):
    def group(plan: str, name: str, members: list[str], **extra) -> dict:
        r = api.post("/groups", {"name": name, "members": members, **extra}, plan)
        assert r.status_code == 201, r.text
        return r.json()

    members = [f"+1201888{i:04d}" for i in range(5)]
    keyword = {"to": "+12025550100", "add": {"first_word": "join"}, "remove": {"first_word": "stop"}}
    a = group("SP1", "club", members, auto_update=keyword)
    api.advance(1)
    b = group("SP2", "other", ["+4670123456"])
    listed = get(api, "/simulator/groups", SimGroups)
    assert [(g["service_plan_id"], g["group"]) for g in listed["groups"]] == [
        ("SP2", api.get(f"/groups/{b['id']}", "SP2").json()),
        ("SP1", api.get(f"/groups/{a['id']}", "SP1").json()),
    ]
    assert listed["groups"][1]["group"]["size"] == 5
    assert listed["groups"][1]["group"]["auto_update"]["add"] == {"first_word": "join"}
    first = get(api, "/simulator/groups", SimGroups, limit=1)
    assert [g["group"]["id"] for g in first["groups"]] == [b["id"]]
    assert [g["group"]["id"] for g in get(api, "/simulator/groups", SimGroups, after=first["next"])["groups"]] == [
        a["id"]
    ]
    assert [g["group"]["id"] for g in get(api, "/simulator/groups", SimGroups, service_plan_id="SP1")["groups"]] == [
        a["id"]
    ]

    page = get(api, f"/simulator/groups/{a['id']}", SimGroupDetail, limit=3)
    assert page["service_plan_id"] == "SP1" and page["group"] == listed["groups"][1]["group"]
    more = get(api, f"/simulator/groups/{a['id']}", SimGroupDetail, limit=3, after=page["next"])
    assert page["members"] + more["members"] == [m[1:] for m in members] and more["next"] is None
    # an MO keyword changes the members, and the page shows it
    mo(api, "12019990000", "JOIN please", "SP1")
    assert get(api, f"/simulator/groups/{a['id']}", SimGroupDetail)["group"]["size"] == 6
    assert get(api, "/simulator/groups/01NOPE", None, 404)["code"] == "not_found"
    assert get(api, f"/simulator/groups/{a['id']}", None, 400, after="abc")["code"] == "syntax_invalid_parameter_format"
    assert get(api, "/simulator/groups", None, 400, after="abc")["code"] == "syntax_invalid_parameter_format"
