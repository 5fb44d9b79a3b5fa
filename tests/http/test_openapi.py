"""Live responses conform to the OpenAPI document's response types (decoded strictly with the
same msgspec Structs the document is generated from)."""

import msgspec

from openxms.http import openapi as oa


def strict(raw: bytes, t):
    return msgspec.json.decode(raw, type=t, strict=True)


def test_responses_match_the_documented_types(api):
    g = api.post("/groups", {"name": "g", "members": ["+12018881111"]})
    strict(g.content, oa.Group)
    b = api.post("/batches", {"to": ["+12017777777", g.json()["id"]], "from": "x", "body": "hi",
                              "send_at": "2099-01-01T00:00:00Z", "client_reference": "r", "parameters": {"a": {"default": "b"}}})
    batch = strict(b.content, oa.Batch)
    assert batch.send_at.endswith("Z")
    strict(api.post("/batches", {"to": ["+1201"], "type": "mt_binary", "body": "aGk=", "udh": "00"}).content, oa.Batch)
    strict(api.get("/batches").content, oa.BatchList)
    strict(api.get("/groups").content, oa.GroupList)
    strict(api.client.post(api.url("/batches/dry_run?per_recipient=true"), json={"to": ["+1201"], "body": "x"},
                           headers=api.h()).content, oa.DryRun)
    strict(api.get(f"/batches/{batch.id}/delivery_report", params={"type": "full"}).content, oa.BatchDeliveryReport)
    strict(api.get("/delivery_reports").content, oa.DeliveryReportList)
    strict(api.get("/inbounds").content, oa.InboundList)
    mo = api.client.post("/simulator/handsets/12017777777/messages", json={"to": "1202", "body": "x",
                                                                           "service_plan_id": "SP1"})
    strict(api.get(f"/inbounds/{mo.json()['id']}").content, oa.InboundMessage)
    strict(api.get("/batches/nope").content, oa.Error)
    tok = api.client.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=("KEY1", "SECRET1"))
    strict(tok.content, oa.Token)


def test_document_paths_cover_every_sinch_route():
    from openxms.http.app import sinch_routes

    doc = oa.document()
    documented = {(p.replace("{service_plan_id}", "{account}"), m.upper()) for p, item in doc["paths"].items()
                  for m in item}
    served = set()
    for r in sinch_routes():
        path = "/xms/v1/{account}" + r.path.replace("{recipient:path}", "{recipient_msisdn}")
        for m in r.methods - {"HEAD"}:
            served.add((path, m))
    assert served <= documented, served - documented
