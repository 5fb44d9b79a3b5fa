"""An SMSC that restarts hands out the same message ids again: receipts still reach the right
recipient, and one that never gets its receipt ends Unknown, not Dispatched for ever."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from openxms.connectors.smpp.connector import sweep, wall_ms
from openxms.connectors.smpp.smsc import Smsc, SmscOptions

from ..connectors.smpp.smsc_thread import SmscThread
from ..http.conftest import Api, make_api
from .test_smpp_delivery import smpp_toml

NEVER = 10**9  # ms: receipts that do not come during the test


@pytest.fixture
def smpp(database_url, tmp_path):
    with SmscThread(receipt_delay_ms=NEVER) as sim:
        app, ctx = make_api(
            database_url, tmp_path, env={"OPENXMS_SERVICE_PLANS": "", "OPENXMS_PROJECTS": ""}, toml=smpp_toml(sim.port)
        )
        with TestClient(app) as client:
            api = Api(client, ctx)
            api.sim = sim
            yield api


def _restart(sim: SmscThread) -> None:
    """Stop the SMSC and start a fresh one on the same port: its ids start from 1 again."""
    sim.call(sim.smsc.stop)
    sim.smsc = Smsc(SmscOptions(port=sim.port, receipt_delay_ms=NEVER))
    sim.call(sim.smsc.start)


def test_reused_ids_after_an_smsc_restart_reach_the_right_recipient(smpp):
    a = smpp.send(plan="SM1", to=["+12017770001"], **{"from": "12025550100"})
    smpp.wait_for(lambda: smpp.statuses(a["id"], "SM1") == {"Dispatched": 1})
    db = smpp.ctx.db
    # part A was submitted half an hour ago (as if the SMSC had run that long before it died)
    db.run_sync(lambda tx: tx.execute("UPDATE smpp_parts SET submitted_at = submitted_at - 1800000"))
    _restart(smpp.sim)
    b = smpp.send(plan="SM1", to=["+12017770002"], **{"from": "12025550100"})
    smpp.wait_for(lambda: smpp.statuses(b["id"], "SM1") == {"Dispatched": 1})
    keys = db.run_sync(lambda tx: [r.message_key for r in tx.all("SELECT message_key FROM smpp_parts ORDER BY id")])
    assert keys[0] == keys[1]  # the new SMSC reused the id
    connector = smpp.ctx.engine.connector_for(smpp.ctx.accounts["SM1"])
    assert connector.collisions == 1
    # the old message's receipt, late, says when it was submitted: it goes to A, not B
    old_submit = db.run_sync(lambda tx: tx.scalar("SELECT min(submitted_at) FROM smpp_parts"))
    smpp.sim.call(
        smpp.sim.smsc._send_receipt, "openxms", keys[0], "12017770001", "12025550100", "UNDELIV", 1, "", old_submit
    )
    smpp.wait_for(lambda: smpp.statuses(a["id"], "SM1") == {"Failed": 1})
    assert smpp.statuses(b["id"], "SM1") == {"Dispatched": 1}
    smpp.sim.call(smpp.sim.smsc._send_receipt, "openxms", keys[0], "12017770002", "12025550100", "DELIVRD", 0, "")
    smpp.wait_for(lambda: smpp.statuses(b["id"], "SM1") == {"Delivered": 1})


def test_a_receipt_that_never_comes_ends_unknown_after_receipt_wait(smpp):
    a = smpp.send(plan="SM1", to=["+12017770001"], **{"from": "12025550100"})
    smpp.wait_for(lambda: smpp.statuses(a["id"], "SM1") == {"Dispatched": 1})
    connector = smpp.ctx.engine.connector_for(smpp.ctx.accounts["SM1"])
    later = wall_ms() + 3 * 86_400_000 + 1000  # past the default receipt_wait (3 days)
    assert smpp.ctx.db.run_sync(sweep, "SM1", later, 259_200, connector.sink, smpp.ctx.clock.now_ms()) == (1, 0)
    assert smpp.statuses(a["id"], "SM1") == {"Unknown": 1}
    assert smpp.report(a["id"], "SM1")["statuses"][0]["code"] == 401


def test_reused_ids_in_the_same_minute_go_by_handset(smpp):
    """Two parts with the same id submitted within the same minute (the submit date's
    resolution): the receipt's handset tells them apart."""
    a = smpp.send(plan="SM1", to=["+12017770021"], **{"from": "12025550100"})
    smpp.wait_for(lambda: smpp.statuses(a["id"], "SM1") == {"Dispatched": 1})
    _restart(smpp.sim)
    b = smpp.send(plan="SM1", to=["+12017770022"], **{"from": "12025550100"})
    smpp.wait_for(lambda: smpp.statuses(b["id"], "SM1") == {"Dispatched": 1})
    db = smpp.ctx.db
    keys = db.run_sync(lambda tx: [r.message_key for r in tx.all("SELECT message_key FROM smpp_parts ORDER BY id")])
    assert keys[0] == keys[1]
    # the newer message's id is the same; a receipt for the *older* one, from its handset, now
    smpp.sim.call(smpp.sim.smsc._send_receipt, "openxms", keys[0], "12017770021", "12025550100", "UNDELIV", 1, "")
    smpp.wait_for(lambda: smpp.statuses(a["id"], "SM1") == {"Failed": 1})
    assert smpp.statuses(b["id"], "SM1") == {"Dispatched": 1}
