"""`GET /simulator/messages/{id}`: a message's timeline, parts with their UDH, the meaning of its
code and the callbacks it caused, for messages really sent through the engine (the handset
simulator and SMPP to the bundled SMSC; SQLite and PostgreSQL)."""

from __future__ import annotations

import msgspec
import pytest
from starlette.testclient import TestClient

from openxms.http.simulator_messages import SimMessageDetail
from openxms.sms import encoding

from ..connectors.smpp.smsc_thread import SmscThread
from ..engine.test_smpp_delivery import smpp_toml
from .conftest import Api, make_api
from .conversation.support import add_app, add_webhook, send_text

NOWHERE = "http://127.0.0.1:9/cb"  # nothing listens: callbacks stay pending, retried later
APP = "01K0APP0000000000000000002"


def messages(api: Api, batch_id: str) -> list[dict]:
    r = api.client.get("/simulator/messages", params={"batch_id": batch_id})
    assert r.status_code == 200, r.text
    return r.json()["messages"]


def detail(api: Api, message_id: int) -> dict:
    r = api.client.get(f"/simulator/messages/{message_id}")
    assert r.status_code == 200, r.text
    msgspec.json.decode(r.content, type=SimMessageDetail, strict=True)  # as documented
    return r.json()


def final_message(api: Api, batch_id: str, n: int = 1) -> list[dict]:
    return api.wait_for(lambda: (m := messages(api, batch_id)) and len(m) == n and all(x["final"] for x in m) and m)


def callbacks_settled(api: Api, message_id: int, n: int) -> dict:
    """The detail once its `n` callbacks exist and each has been tried once."""
    return api.wait_for(
        lambda: (
            (d := detail(api, message_id))
            and len(d["callbacks"]) == n
            and all(c["attempts"] for c in d["callbacks"])
            and d
        )
    )


def test_a_delivered_message_its_timeline_code_meaning_and_its_callbacks(api: Api):
    b = api.send(to=["+12017770021"], delivery_report="per_recipient", callback_url=NOWHERE)
    (m,) = final_message(api, b["id"])
    d = callbacks_settled(api, m["id"], 2)  # Dispatched, then Delivered
    assert [s["step"] for s in d["timeline"]] == ["accepted", "queued", "dispatched", "receipt", "status"]
    accepted, queued, dispatched, receipt, status = d["timeline"]
    assert accepted["at"] == m["accepted_at"] and queued["at"] == m["created_at"]
    assert dispatched == {"step": "dispatched", "at": m["received_at"], "connector": "simulator"}
    assert receipt["at"] == d["delivery_report"]["operator_status_at"]
    assert status == {
        "step": "status",
        "at": m["status_at"],
        "status": "Delivered",
        "code": 0,
        "meaning": {"name": "Delivered", "family": "sinch", "permanent": None},
        "final": True,
    }
    assert d["code_meaning"] == status["meaning"]
    # the callbacks: each one's page is /simulator/callbacks/{id}, the same object
    first, second = d["callbacks"]
    assert [c["summary"] for c in d["callbacks"]] == [
        "recipient_delivery_report_sms Dispatched 401",
        "recipient_delivery_report_sms Delivered 0",
    ]
    assert {c["subject"] for c in d["callbacks"]} == {b["id"]} and first["recipient"] == "12017770021"
    assert first["url"] == NOWHERE and first["state"] == "pending" and first["last_error"]
    page = api.client.get(f"/simulator/callbacks/{second['id']}").json()
    assert {k: page[k] for k in second if k not in ("attempts", "next_attempt_at", "last_error")} == {
        k: v for k, v in second.items() if k not in ("attempts", "next_attempt_at", "last_error")
    }
    assert page["payload"]["status"] == "Delivered" and page["payload"]["recipient"] == "12017770021"


def test_a_batch_report_belongs_to_each_of_its_recipients_and_only_to_them(api: Api):
    b = api.send(to=["+12017770031", "+12010000001"], delivery_report="full", callback_url=NOWHERE)
    other = api.send(to=["+12017770032"], delivery_report="summary", callback_url=NOWHERE)
    ok, failed = sorted(final_message(api, b["id"], 2), key=lambda m: m["to"], reverse=True)
    final_message(api, other["id"])
    d_ok = callbacks_settled(api, ok["id"], 1)
    d_failed = detail(api, failed["id"])
    assert d_ok["callbacks"] == d_failed["callbacks"]
    (report,) = d_ok["callbacks"]
    assert report["kind"] == "delivery_report" and report["recipient"] is None and report["subject"] == b["id"]
    assert report["summary"] == "delivery_report_sms (Delivered 1, Failed 1)"
    # Failed 153: what the code means and that it is worth another try
    assert d_failed["code_meaning"] == {"name": "Absent subscriber", "family": "hlr", "permanent": False}
    assert d_failed["timeline"][-1]["meaning"]["name"] == "Absent subscriber"
    # no callback of another batch, and none for a message that asked for none
    quiet = api.send(to=["+12017770033"])
    (q,) = final_message(api, quiet["id"])
    assert detail(api, q["id"])["callbacks"] == []


def test_pre_flight_failures_never_reach_a_connector(api: Api):
    b = api.send(to=["+12017770041"], body="Hi ${name}", parameters={"name": {"+12017770099": "x"}})
    (m,) = final_message(api, b["id"])
    d = detail(api, m["id"])
    assert [s["step"] for s in d["timeline"]] == ["accepted", "queued", "status"]
    assert (m["status"], m["code"]) == ("Aborted", 405)
    assert d["code_meaning"]["name"].startswith("Unmatched parameter") and d["code_meaning"]["permanent"] is True


def test_parts_with_their_udh_septets_ucs2_units_and_bytes(api: Api):
    text = "x" * 150 + "€" * 10  # 170 septets: 2 parts, the escape pair never cut
    long, uni, binary = (
        api.send(to=["+12017770051"], body=text),
        api.send(to=["+12017770052"], body="✓" * 71),  # 71 UCS-2 units: 2 parts
        api.send(to=["+12017770053"], type="mt_binary", body="AAEC", udh="0605040b8423f0"),
    )
    (lm,) = final_message(api, long["id"])
    parts = detail(api, lm["id"])["segments"]
    ref = lm["id"] % 256
    assert [(p["units"], p["unit"], p["udh"]) for p in parts] == [
        (152, "septets", f"050003{ref:02x}0201"),
        (18, "septets", f"050003{ref:02x}0202"),
    ]
    assert "".join(p["text"] for p in parts) == text
    assert bytes.fromhex(parts[0]["udh"]) == encoding.concat_udh(ref, 2, 1)
    (um,) = final_message(api, uni["id"])
    assert [(p["units"], p["unit"]) for p in detail(api, um["id"])["segments"]] == [(67, "ucs2"), (4, "ucs2")]
    (bm,) = final_message(api, binary["id"])
    assert detail(api, bm["id"])["segments"] == [{"text": None, "units": 3, "unit": "bytes", "udh": "0605040b8423f0"}]
    short = api.send(to=["+12017770054"], body="one part")
    (sm,) = final_message(api, short["id"])
    assert detail(api, sm["id"])["segments"] == [{"text": "one part", "units": 8, "unit": "septets", "udh": None}]


def test_a_conversation_carrier_lists_its_conversation_receipts(api: Api):
    add_app(api.ctx, APP)
    add_webhook(api.ctx, "01K0HOOK000000000000000001", APP, NOWHERE, ["MESSAGE_DELIVERY"])
    message_id = send_text(api.client, APP, "+12017770061", "from the app")
    (m,) = final_message(api, message_id)
    d = callbacks_settled(api, m["id"], 2)  # QUEUED_ON_CHANNEL, DELIVERED
    assert [c["summary"] for c in d["callbacks"]] == [
        "MESSAGE_DELIVERY QUEUED_ON_CHANNEL",
        "MESSAGE_DELIVERY DELIVERED",
    ]
    assert {c["subject"] for c in d["callbacks"]} == {message_id} and d["delivery_report"] is None
    assert all(c["kind"] == "conversation" and c["service_plan_id"] == "PROJ1" for c in d["callbacks"])


def test_bad_ids_are_400_and_unknown_ones_404(api: Api):
    assert api.client.get("/simulator/messages/12x").status_code == 400
    assert api.client.get("/simulator/messages/" + "9" * 19).status_code == 400
    r = api.client.get("/simulator/messages/424242")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


@pytest.fixture
def smpp(database_url, tmp_path):
    with SmscThread() as sim:
        app, ctx = make_api(
            database_url,
            tmp_path,
            env={"OPENXMS_SERVICE_PLANS": "", "OPENXMS_PROJECTS": ""},
            toml=smpp_toml(sim.port, concat="udh16"),
        )
        with TestClient(app) as client:
            api = Api(client, ctx)
            api.sim = sim
            yield api


def test_over_smpp_each_submit_sm_with_its_message_id_sequence_and_udh(smpp):
    text = "y" * 200  # 200 septets: 2 parts of at most 152 with a 16-bit reference
    b = smpp.send(plan="SM1", to=["+12017770071"], body=text, **{"from": "12025550100"})
    (m,) = final_message(smpp, b["id"])
    d = detail(smpp, m["id"])
    steps = d["timeline"]
    assert [s["step"] for s in steps] == [
        "accepted",
        "queued",
        "submitted",
        "submitted",
        "dispatched",
        "receipt",
        "receipt",
        "status",
    ]
    sent = smpp.sim.smsc.received  # what the SMSC got, in order
    assert len(sent) == 2
    for step, pdu in zip(steps[2:4], sent, strict=True):
        assert step["connector"] == "smpp" and step["parts"] == 2 and step["message_id"]
        assert step["sequence"] == pdu.sequence
    assert [s["part"] for s in steps[2:4]] == [1, 2]
    assert steps[4]["at"] == max(s["at"] for s in steps[2:4])
    assert {(s["part"], s["state"], s["err"]) for s in steps[5:7]} == {(1, "DELIVRD", 0), (2, "DELIVRD", 0)}
    assert steps[-1]["status"] == "Delivered" and steps[-1]["final"] is True
    # the parts as they went over the wire: 16-bit reference UDH (IE 0x08), 152 + 48 septets
    parts = d["segments"]
    assert [(p["units"], p["unit"]) for p in parts] == [(152, "septets"), (48, "septets")]
    for p, pdu in zip(parts, sent, strict=True):
        sm = pdu.get("short_message")
        assert p["udh"] == sm[: 1 + sm[0]].hex() and p["udh"][2:4] == "08"
