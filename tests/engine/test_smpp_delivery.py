"""The engine with an account routed over SMPP to the bundled SMSC: reports, multipart,
hex/decimal receipts, receipts before responses, inbound, and a dropped link."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from ..connectors.smpp.smsc_thread import SmscThread
from ..http.conftest import Api, make_api


def smpp_toml(port: int, **extra) -> str:
    opts = "".join(f"{k} = {v!r}\n" if not isinstance(v, str) else f'{k} = "{v}"\n' for k, v in extra.items())
    return f"""
[[service_plans]]
id = "SM1"
token = "TOKEN1"
rate = 0
connector = "smpp"
numbers = ["12025550100"]

[service_plans.smpp]
host = "127.0.0.1"
port = {port}
system_id = "openxms"
password = "secret"
reconnect_min = 0.1
reconnect_max = 0.5
response_timeout = 2.0
{opts}"""


@pytest.fixture
def smpp(database_url, tmp_path, request):
    params = getattr(request, "param", {})
    with SmscThread(**params.get("smsc", {})) as sim:
        app, ctx = make_api(
            database_url,
            tmp_path,
            env={"OPENXMS_SERVICE_PLANS": "", "OPENXMS_PROJECTS": ""},
            toml=smpp_toml(sim.port, **params.get("client", {})),
        )
        with TestClient(app) as client:
            api = Api(client, ctx)
            api.sim = sim
            yield api


def final(api, batch_id):
    st = api.statuses(batch_id, "SM1")
    return st if st and not {"Queued", "Dispatched"} & set(st) else None


def test_delivered_over_smpp(smpp):
    b = smpp.send(plan="SM1", to=["+12017777777", "+12010000001", "+12010000003"], **{"from": "12025550100"})
    smpp.wait_for(lambda: final(smpp, b["id"]))
    rep = {s["status"]: s["code"] for s in smpp.report(b["id"], "SM1")["statuses"]}
    assert rep == {"Delivered": 0, "Failed": 153, "Rejected": 408}
    r = smpp.get(f"/batches/{b['id']}/delivery_report/12017777777", "SM1").json()
    assert r["operator_status_at"].endswith("Z")
    sent = smpp.sim.smsc.received[0]
    assert sent.get("destination_addr") == "12017777777" and sent.get("source_addr") == "12025550100"


@pytest.mark.parametrize("smpp", [{"smsc": {"id_format": "mixed", "receipts_first": True}}], indirect=True)
def test_multipart_with_mixed_ids_and_receipts_before_responses(smpp):
    b = smpp.send(plan="SM1", to=["+12017777777", "+12018888888"], body="€" * 100)  # 200 septets: 2 parts
    smpp.wait_for(lambda: final(smpp, b["id"]))
    assert smpp.statuses(b["id"], "SM1") == {"Delivered": 2}
    parts = smpp.sim.smsc.received
    assert len(parts) == 4 and all(p.get("esm_class") & 0x40 for p in parts)


@pytest.mark.parametrize("smpp", [{"smsc": {"drop_after": 7}}], indirect=True)
def test_dropped_connections_lose_nothing(smpp):
    b = smpp.send(plan="SM1", to=[f"+1201777{i:04d}" for i in range(10, 40)])
    smpp.wait_for(lambda: final(smpp, b["id"]), timeout=30)
    assert smpp.statuses(b["id"], "SM1") == {"Delivered": 30}
    assert smpp.sim.smsc.stats["drops"] >= 3


def test_inbound_over_smpp(smpp):
    smpp.wait_for(lambda: smpp.sim.smsc._receiver("openxms") is not None)
    smpp.sim.call(smpp.sim.smsc.inject_mo, "12017777777", "12025550100", "привет " * 20)
    got = smpp.wait_for(lambda: smpp.get("/inbounds", "SM1").json()["inbounds"])
    assert got[0]["body"] == "привет " * 20 and got[0]["from"] == "12017777777" and got[0]["to"] == "12025550100"


def test_reply_over_smpp_carries_the_batch_client_reference(smpp):
    """A reply to a batch is tied to it whatever the connector (not only on the simulator)."""
    b = smpp.send(plan="SM1", to=["+12017777777"], client_reference="order-42", **{"from": "12025550100"})
    smpp.wait_for(lambda: final(smpp, b["id"]))
    smpp.sim.call(smpp.sim.smsc.inject_mo, "12017777777", "12025550100", "yes please")
    got = smpp.wait_for(lambda: smpp.get("/inbounds", "SM1").json()["inbounds"])
    assert got[0]["body"] == "yes please" and got[0]["client_reference"] == "order-42"


def test_sweep_forgets_old_part_ids_and_orphans_but_not_reports(smpp):
    from openxms.connectors.smpp.connector import sweep, wall_ms

    b = smpp.send(plan="SM1", to=["+12017777777", "+12018888888"])
    smpp.wait_for(lambda: final(smpp, b["id"]))
    db, now = smpp.ctx.db, wall_ms()  # the id map runs on wall-clock time
    db.run_sync(
        lambda tx: tx.execute(
            "INSERT INTO smpp_orphans (account_id, message_key, state, err, done_at, received_at) VALUES "
            "('SM1', 'old', 'DELIVRD', 0, NULL, ?), ('SM1', 'new', 'DELIVRD', 0, NULL, ?)",
            (now - 2 * 3600_000, now),
        )
    )
    assert db.run_sync(sweep, "SM1", now, 259_200) == (0, 1)  # parts are young; one orphan is stale
    assert db.run_sync(sweep, "SM1", now + 3 * 86_400_000 + 1, 259_200) == (2, 1)
    assert db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM smpp_parts")) == 0
    assert smpp.statuses(b["id"], "SM1") == {"Delivered": 2}  # reports are not the sweep's business


@pytest.fixture
def info_logs(caplog):
    """openxms's INFO records captured from before the app starts (listed before `smpp`): the
    bind may come up while the fixture starts it, before the test body runs (those records are
    the setup phase's: `caplog.get_records("setup")`)."""
    caplog.set_level("INFO", logger="openxms")
    return caplog


def test_readyz_follows_the_plans_smpp_binds(info_logs, smpp):
    caplog = info_logs

    def ready():
        r = smpp.client.get("/readyz")
        return r.status_code, r.json()["engine"]["connectors"].get("SM1")

    smpp.wait_for(lambda: ready()[0] == 200 and ready()[1] is not None)  # once the plan's dispatch started
    status, detail = ready()
    assert status == 200
    assert {k: detail[k] for k in ("ready", "binds_up", "binds", "smsc")} == {
        "ready": True,
        "binds_up": 1,
        "binds": 1,
        "smsc": f"127.0.0.1:{smpp.sim.port}",
    }
    smpp.sim.call(smpp.sim.smsc.stop)  # the SMSC goes away: the bind drops and cannot come back
    smpp.wait_for(lambda: ready()[0] == 503)
    status, detail = ready()
    assert detail["ready"] is False and detail["binds_up"] == 0
    assert smpp.client.get("/readyz").json()["status"] == "not ready"
    said = [r.getMessage() for phase in ("setup", "call") for r in caplog.get_records(phase)]
    assert f"bind 0 to 127.0.0.1:{smpp.sim.port} up (transceiver)" in said
    assert f"bind 0 to 127.0.0.1:{smpp.sim.port} down" in said


def test_metrics_show_the_smpp_client(smpp):
    b = smpp.send(plan="SM1", to=["+12017777777"], **{"from": "12025550100"})
    smpp.wait_for(lambda: smpp.statuses(b["id"], plan="SM1") == {"Delivered": 1})
    text = smpp.client.get("/metrics").text
    assert re.search(r'^openxms_smpp_events_total\{event="accepted",plan="SM1"\} [1-9]', text, re.M), text
    assert re.search(r'^openxms_smpp_submit_duration_seconds_count\{plan="SM1"\} [1-9]', text, re.M)
    assert re.search(r'^openxms_smpp_binds_up\{plan="SM1"\} 1', text, re.M)
    assert re.search(r'^openxms_smpp_window_in_use\{plan="SM1"\} 0', text, re.M)
