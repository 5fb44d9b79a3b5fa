"""The OpenAPI document against the app: live responses conform to the documented types
(decoded strictly with the same msgspec Structs the server encodes them with and the document
is generated from), every served route is documented and every documented one is served."""

import msgspec
from starlette.routing import Route

from openxms.http import openapi as oa
from openxms.http.control import ClockState
from openxms.http.simulator import HandsetMessages, Received
from openxms.http.spec import Error, OAuth2Error, openapi_path
from openxms.sms import msisdn
from openxms.sms import objects as o

# Served, but not part of the API: the simulator's web page, its assets and its event stream.
UNDOCUMENTED = {
    ("GET", "/"),
    ("GET", "/ui/app.js"),
    ("GET", "/ui/conv.js"),
    ("GET", "/ui/messages.js"),
    ("GET", "/ui/nav.js"),
    ("GET", "/ui/batches.js"),
    ("GET", "/ui/callbacks.js"),
    ("GET", "/ui/notify.js"),
    ("GET", "/ui/inbounds.js"),
    ("GET", "/ui/groups.js"),
    ("GET", "/ui/rules.js"),
    ("GET", "/ui/system.js"),
    ("GET", "/ui/app.css"),
    ("GET", "/simulator/events"),
}


def strict(raw: bytes, t):
    return msgspec.json.decode(raw, type=t, strict=True)


def test_responses_match_the_documented_types(api):
    g = api.post(
        "/groups",
        {
            "name": "g",
            "members": ["+12018881111"],
            "auto_update": {"to": "+12025550100", "add": {"first_word": "join"}},
        },
    )
    assert strict(g.content, o.Group).auto_update.add.first_word == "join"
    b = api.post(
        "/batches",
        {
            "to": ["+12017777777", g.json()["id"]],
            "from": "x",
            "body": "hi",
            "send_at": "2099-01-01T00:00:00Z",
            "client_reference": "r",
            "parameters": {"a": {"default": "b"}},
        },
    )
    batch = strict(b.content, o.Batch)
    assert batch.send_at.endswith("Z")
    strict(api.post("/batches", {"to": ["+1201"], "type": "mt_binary", "body": "aGk=", "udh": "00"}).content, o.Batch)
    media = strict(
        api.post(
            "/batches", {"to": ["+1201"], "type": "mt_media", "body": {"url": "https://example.com/a.png"}}
        ).content,
        o.Batch,
    )
    assert media.body == o.MediaBody("https://example.com/a.png")
    strict(api.delete(f"/batches/{batch.id}").content, o.Batch)
    strict(api.get("/batches").content, o.BatchList)
    strict(api.get("/groups").content, o.GroupList)
    strict(api.get(f"/groups/{g.json()['id']}/members").content, list[str])
    dry = strict(
        api.client.post(
            api.url("/batches/dry_run?per_recipient=true"), json={"to": ["+1201"], "body": "x"}, headers=api.h()
        ).content,
        o.DryRun,
    )
    assert dry.per_recipient[0].number_of_parts == 1
    strict(api.get(f"/batches/{batch.id}/delivery_report", params={"type": "full"}).content, o.BatchDeliveryReport)
    strict(api.get(f"/batches/{batch.id}/delivery_report/+12017777777").content, o.RecipientDeliveryReport)
    strict(api.get("/delivery_reports").content, o.DeliveryReportList)
    mo = api.client.post(
        "/simulator/handsets/12017777777/messages", json={"to": "1202", "body": "x", "service_plan_id": "SP1"}
    )
    assert strict(mo.content, Received).account_id == "SP1"
    strict(api.get(f"/inbounds/{mo.json()['id']}").content, o.InboundMessage)
    strict(api.get("/inbounds").content, o.InboundList)
    strict(api.client.get("/simulator/handsets/12017777777/messages").content, HandsetMessages)
    strict(api.client.get("/clock").content, ClockState)
    assert strict(api.get("/batches/nope").content, Error).code == "not_found"
    tok = api.client.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=("KEY1", "SECRET1"))
    strict(tok.content, o.Token)
    bad = api.client.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=("KEY1", "nope"))
    assert bad.status_code == 401 and strict(bad.content, OAuth2Error).error == "invalid_client"


def served(app) -> set[tuple[str, str]]:
    return {(m, openapi_path(r.path)) for r in app.routes if isinstance(r, Route) for m in r.methods - {"HEAD"}}


def test_every_served_route_is_documented_and_every_documented_one_served(api):
    app = api.client.app
    doc = api.client.get("/openapi.json").json()
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert served(app) - UNDOCUMENTED == documented
    assert UNDOCUMENTED <= served(app)  # the exemptions are real routes, not stale names
    assert ("GET", "/simulator/handsets/{msisdn}/messages/wait") in documented
    assert ("POST", "/clock/advance") in documented and ("GET", "/readyz") in documented


def test_documented_parameters_and_statuses(api):
    doc = oa.document(api.client.app.routes)
    send = doc["paths"]["/xms/v1/{service_plan_id}/batches"]["post"]
    assert [p["name"] for p in send["parameters"]] == ["service_plan_id", "Idempotency-Key"]
    assert set(send["responses"]) == {"201", "400", "401", "403", "404", "409", "429", "503"}
    assert send["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/BatchRequest"}
    recipient = doc["paths"]["/xms/v1/{service_plan_id}/batches/{batch_id}/delivery_report/{recipient_msisdn}"]["get"]
    assert [p["name"] for p in recipient["parameters"]] == ["service_plan_id", "batch_id", "recipient_msisdn"]
    advance = doc["paths"]["/clock/advance"]["post"]
    assert advance["tags"] == ["operator"] and advance["security"] == []
    assert doc["paths"]["/simulator/rules"]["put"]["tags"] == ["simulator"]
    token = doc["paths"]["/oauth2/token"]["post"]
    assert token["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/OAuth2Error")
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    for item in doc["paths"].values():
        for op in item.values():
            for p in op["parameters"]:
                assert p["in"] != "path" or p["required"]
    refs = {s.rsplit("/", 1)[-1] for s in _refs(doc["paths"])}
    assert refs <= set(doc["components"]["schemas"]), refs - set(doc["components"]["schemas"])


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_docs_page_lists_every_operation(api):
    page = api.client.get("/docs").text
    doc = api.client.get("/openapi.json").json()
    for p in doc["paths"]:
        assert f"<code>{p}</code>" in page
    assert 'id="schema-Batch"' in page


def test_what_the_guard_and_the_parsers_enforce_is_documented(api):
    doc = oa.document(api.client.app.routes)
    advance = doc["paths"]["/clock/advance"]["post"]["responses"]
    assert {"401", "403", "415", "503"} <= set(advance)
    assert advance["415"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert "415" not in doc["paths"]["/clock"]["get"]["responses"]
    conv = doc["paths"]["/v1/projects/{project_id}/messages:send"]["post"]["responses"]["503"]
    assert conv["content"]["application/json"]["schema"]["$ref"].endswith("/ConversationError")
    # integers: the ceiling the parser enforces (q_int), where none is declared
    groups = {p["name"]: p["schema"] for p in doc["paths"]["/xms/v1/{service_plan_id}/groups"]["get"]["parameters"]}
    assert groups["page"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    assert groups["page_size"]["maximum"] == 100
    r = api.get("/groups", params={"page": 2**31})
    assert r.status_code == 400
    # the handset path parameter: the numbers msisdn.normalize accepts
    handset = doc["paths"]["/simulator/handsets/{msisdn}/messages"]["get"]["parameters"][0]
    assert handset["schema"]["pattern"] == msisdn.PATTERN
    assert api.client.get("/simulator/handsets/0/messages").status_code == 400
    assert api.client.get("/simulator/handsets/+1 (201) 555-0100/messages").status_code == 200
    conv_list = {
        p["name"]: p["schema"] for p in doc["paths"]["/v1/projects/{project_id}/messages"]["get"]["parameters"]
    }
    assert conv_list["start_time"]["format"] == conv_list["end_time"]["format"] == "date-time"
    form = doc["components"]["schemas"]["TokenForm"]
    assert form["required"] == ["grant_type"] and form["properties"]["grant_type"]["enum"] == ["client_credentials"]


def test_the_document_is_valid_openapi_3_1(api):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    doc = api.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    errors = [str(e)[:300] for e in OpenAPIV31SpecValidator(doc).iter_errors()]
    assert errors == []
    broken = {**doc, "info": {"title": "openxms"}}  # no version
    assert list(OpenAPIV31SpecValidator(broken).iter_errors())  # the validator does find problems


def test_batch_request_says_what_is_required_and_the_enums(api):
    schema = api.client.get("/openapi.json").json()["components"]["schemas"]["BatchRequest"]
    assert schema["required"] == ["to", "body"]
    props = schema["properties"]

    def enum(p):
        return next(s["enum"] for s in props[p].get("anyOf", [props[p]]) if "enum" in s)

    assert enum("type") == ["mt_text", "mt_binary", "mt_media"]
    assert enum("delivery_report") == ["none", "summary", "full", "per_recipient", "per_recipient_final"]
    # and the server takes each documented value
    for kind in ("none", "full"):
        assert api.post("/batches", {"to": ["+12017777777"], "body": "x", "delivery_report": kind}).status_code == 201
