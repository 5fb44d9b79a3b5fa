"""Groups API (spec §5) and groups as batch recipients, on SQLite and PostgreSQL."""

from __future__ import annotations

from openxms.sms import dates


def make_group(api, plan="SP1", **body):
    r = api.post("/groups", {"name": "Group master", "members": ["+12018881111", "12018882222"], **body}, plan)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_get_list_members(api):
    g = make_group(api)
    assert g["name"] == "Group master" and g["size"] == 2 and g["child_groups"] == []
    assert g["created_at"] == g["modified_at"] and "auto_update" not in g
    assert api.get(f"/groups/{g['id']}").json() == g
    assert api.get(f"/groups/{g['id']}/members").json() == ["12018881111", "12018882222"]
    empty = api.post("/groups", {}).json()
    assert empty["size"] == 0 and "name" not in empty
    lst = api.get("/groups", params={"page_size": 1}).json()
    assert (lst["count"], lst["page_size"], lst["groups"][0]["id"]) == (2, 1, empty["id"])
    assert api.get("/groups", params={"page": 5}).json() == {"count": 2, "page": 5, "page_size": 0, "groups": []}


def test_validation_and_isolation(api):
    assert api.post("/groups", {"name": "x" * 21}).status_code == 400
    assert api.post("/groups", {"members": ["not-a-number"]}).json()["code"] == "syntax_invalid_parameter_format"
    assert api.post("/groups", {"members": "12018881111"}).json()["code"] == "syntax_invalid_json"
    r = api.post("/groups", {"child_groups": ["01XXXXXXXXXXXXXXXXXXXXXXXX"]})
    assert (r.status_code, r.json()["code"]) == (403, "unknown_group")
    g = make_group(api)
    r = api.post("/groups", {"name": "Group master"})
    assert (r.status_code, r.json()["code"]) == (403, "conflict_group_name")
    assert api.get(f"/groups/{g['id']}", plan="SP2").status_code == 404
    assert api.delete(f"/groups/{g['id']}", plan="SP2").status_code == 404
    assert api.post(f"/groups/{g['id']}", {"add": ["+1202"]}, plan="SP2").status_code == 404
    assert api.get("/groups/01XXXXXXXXXXXXXXXXXXXXXXXX/members").status_code == 404


def test_update_adds_before_removes_and_copies_groups(api):
    other = api.post("/groups", {"members": ["+12017000001", "+12017000002"]}).json()
    g = make_group(api)
    api.advance(1)
    r = api.post(
        f"/groups/{g['id']}",
        {"add": ["+12019990000", "+12018883333"], "remove": ["+12018883333"], "add_from_group": other["id"]},
    )
    assert r.status_code == 200, r.text
    u = r.json()
    assert u["size"] == 5 and u["name"] == "Group master" and u["modified_at"] > g["modified_at"]
    u = api.post(f"/groups/{g['id']}", {"remove_from_group": other["id"]}).json()
    assert u["size"] == 3
    r = api.post(f"/groups/{g['id']}", {"add_from_group": "01XXXXXXXXXXXXXXXXXXXXXXXX"})
    assert (r.status_code, r.json()["code"]) == (403, "unknown_group")


def test_python_sdk_null_fields_do_not_wipe_the_name(api):
    g = make_group(api)
    sdk_body = {
        "add": ["+12019990000"],
        "remove": None,
        "name": None,
        "add_from_group": None,
        "remove_from_group": None,
        "auto_update": None,
    }
    u = api.post(f"/groups/{g['id']}", sdk_body).json()
    assert u["name"] == "Group master" and u["size"] == 3
    u = api.post(f"/groups/{g['id']}", {"name": None}).json()
    assert "name" not in u
    u = api.post(f"/groups/{g['id']}", {"name": "Back"}).json()
    assert u["name"] == "Back"


def test_replace_and_delete(api):
    child = api.post("/groups", {"members": ["+12017000001"]}).json()
    g = make_group(api, child_groups=[child["id"]], auto_update={"to": "+12025550100", "add": {"first_word": "JOIN"}})
    assert g["child_groups"] == [child["id"]] and g["auto_update"]["to"] == "12025550100"
    r = api.put(f"/groups/{g['id']}", {"name": "Replaced", "members": ["+12018880000"]})
    assert r.status_code == 200
    p = r.json()
    assert p["size"] == 1 and p["child_groups"] == [] and "auto_update" not in p and p["name"] == "Replaced"
    r = api.delete(f"/groups/{g['id']}")
    assert r.status_code == 200 and r.content == b""
    assert api.get(f"/groups/{g['id']}").status_code == 404
    assert api.delete(f"/groups/{g['id']}").status_code == 404


def test_batch_to_group_is_resolved_when_due(api):
    g = make_group(api, members=["+12018881118"])
    send_at = dates.format(api.ctx.clock.now_ms() + 3600_000)
    b = api.send(to=["+12017777778", g["id"]], send_at=send_at)
    assert b["to"] == ["12017777778", g["id"]]  # group id kept verbatim
    api.post(f"/groups/{g['id']}", {"add": ["+12018882228", "+12017777778"]})  # one duplicate of a number
    api.advance(3600)
    full = api.wait_for(
        lambda: api.report(b["id"], type="full") if api.report(b["id"])["total_message_count"] == 3 else None
    )
    recipients = sorted(r for s in full["statuses"] for r in s["recipients"])
    assert recipients == ["12017777778", "12018881118", "12018882228"]  # sent once each


def test_group_deleted_before_send_at_counts_as_empty(api):
    g = make_group(api)
    b = api.send(to=["+12017777778", g["id"]], send_at=dates.format(api.ctx.clock.now_ms() + 60_000))
    api.delete(f"/groups/{g['id']}")
    api.advance(60)
    api.wait_for(lambda: api.report(b["id"])["total_message_count"] == 1)
    r = api.post("/batches", {"to": [g["id"]], "body": "x"})
    assert (r.status_code, r.json()["code"]) == (403, "unknown_group")


def test_dry_run_expands_groups_as_they_are_now(api):
    g = make_group(api)
    r = api.client.post(
        api.url("/batches/dry_run?per_recipient=true"),
        json={"to": [g["id"], "+12018881111"], "body": "hi"},
        headers=api.h(),
    ).json()
    assert r["number_of_recipients"] == 2
    assert sorted(x["recipient"] for x in r["per_recipient"]) == ["12018881111", "12018882222"]


def test_auto_update_keywords_from_handset_replies(api):
    g = make_group(
        api, auto_update={"to": "+12025550100", "add": {"first_word": "JOIN"}, "remove": {"first_word": "STOP"}}
    )

    def reply(who: str, text: str):
        return api.client.post(
            f"/simulator/handsets/{who}/messages", json={"to": "+12025550100", "body": text, "service_plan_id": "SP1"}
        )

    assert reply("+12017770001", "join please").status_code == 201
    assert "12017770001" in api.get(f"/groups/{g['id']}/members").json()
    reply("+12018881111", "Stop")
    members = api.get(f"/groups/{g['id']}/members").json()
    assert "12018881111" not in members and len(members) == 2
    reply("+12017770002", "hello")
    assert len(api.get(f"/groups/{g['id']}/members").json()) == 2
    assert api.get("/inbounds").json()["count"] == 3
