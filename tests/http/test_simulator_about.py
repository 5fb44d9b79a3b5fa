"""`/simulator/about`: version, database (never a password), clock, plans with connector and
queue, and the nodes holding the plans' dispatch leases (SQLite and PostgreSQL)."""

from __future__ import annotations

import msgspec

from openxms import __version__
from openxms.http.simulator_about import About, database_where
from openxms.store import leases

from ..engine.test_delivery import plans_toml


def about(api) -> dict:
    r = api.client.get("/simulator/about")
    assert r.status_code == 200, r.text
    msgspec.json.decode(r.content, type=About, strict=True)
    return r.json()


def test_about_this_server(api, database_url):
    a = about(api)
    assert a["version"] == __version__ and a["role"] == "all" and a["clock"] == "manual" and a["simulator"]
    assert a["node_id"] == api.ctx.node_id
    assert a["database"]["kind"] == ("postgresql" if database_url.startswith("postgresql") else "sqlite")
    api.wait_for(lambda: all(p["dispatched_by"] for p in about(api)["plans"]))  # the engine took the leases
    a = about(api)
    assert [(p["id"], p["connector"], p["rate"], p["connector_state"]) for p in a["plans"]] == [
        ("SP1", "simulator", 0.0, {"ready": True}),
        ("SP2", "simulator", 0.0, {"ready": True}),
    ]
    assert a["nodes"] == [{**a["nodes"][0], "node_id": api.ctx.node_id, "plans": ["SP1", "SP2"], "this": True}]

    # another node holds SP2's lease: it is named, and this node does not claim SP2's connector
    api.ctx.db.run_sync(lambda tx: tx.execute("DELETE FROM leases WHERE name = 'dispatch:SP2'"))
    api.ctx.db.run_sync(leases.acquire, "dispatch:SP2", "other:8081", 60_000)
    nodes = {n["node_id"]: n for n in about(api)["nodes"]}
    assert nodes["other:8081"]["plans"] == ["SP2"] and not nodes["other:8081"]["this"]


def test_queued_counts_and_smpp_binds(database_url, tmp_path):
    from starlette.testclient import TestClient

    from .conftest import Api, make_api

    toml = (
        plans_toml()
        + """
[[service_plans]]
id = "SM1"
token = "TOKENM"
connector = "smpp"
rate = 2
[service_plans.smpp]
host = "127.0.0.1"
port = 9
system_id = "x"
password = "y"
"""
    )
    app, ctx = make_api(database_url, tmp_path, toml=toml)
    with TestClient(app) as client:
        api = Api(client, ctx)
        r = client.post(
            "/xms/v1/SM1/batches",
            headers={"Authorization": "Bearer TOKENM"},
            json={"to": ["+12017770001", "+12017770002"], "from": "12025550199", "body": "x"},
        )
        assert r.status_code == 201, r.text
        api.wait_for(lambda: {p["id"]: p for p in about(api)["plans"]}["SM1"]["dispatched_by"])
        sm1 = {p["id"]: p for p in about(api)["plans"]}["SM1"]
        assert (sm1["connector"], sm1["rate"], sm1["queued"]) == ("smpp", 2.0, 2)  # nothing binds on port 9
        assert sm1["connector_state"] == {
            **sm1["connector_state"],
            "ready": False,
            "binds_up": 0,
            "smsc": "127.0.0.1:9",
        }


def test_database_where_never_shows_a_password():
    assert database_where("postgresql://u:s3cret@db.example:5433/openxms?sslmode=require").where == (
        "u@db.example:5433/openxms"
    )
    assert database_where("postgres://db/x").where == "db/x"
    assert database_where("sqlite:////var/lib/openxms/x.sqlite3").where == "/var/lib/openxms/x.sqlite3"
