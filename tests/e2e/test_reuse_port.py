"""Two API processes on one port (`--reuse-port`, SO_REUSEPORT) in front of one engine process on
one SQLite file (docs/architecture.md, "Processes"): the kernel spreads the connections over
both, each process has a node id of its own, and every message accepted by either is
delivered once."""

from __future__ import annotations

import concurrent.futures

import httpx

from .._ports import free_port
from .conftest import PLAN, STATUSES, TOKEN, launch, sqlite_rows, stop

H = {"Authorization": f"Bearer {TOKEN}"}


def test_two_api_processes_share_a_port_in_front_of_one_engine(tmp_path):
    db = tmp_path / "data" / "openxms.sqlite3"
    url = f"sqlite:///{db}"
    port = free_port()
    procs = []
    try:
        procs.append(launch(url, tmp_path, "--role", "api", "--reuse-port", port=port))
        procs.append(launch(url, tmp_path, "--role", "api", "--reuse-port", port=port))
        procs.append(launch(url, tmp_path, "--role", "engine"))
        shared = f"http://127.0.0.1:{port}"

        answering = set()
        for _ in range(60):  # a new connection each: the kernel picks a process by its address
            with httpx.Client(base_url=shared, timeout=30) as c:
                answering.add(c.get("/simulator/about").json()["node_id"])
            if len(answering) == 2:
                break
        assert len(answering) == 2, answering
        assert not any(n.endswith(f":{port}") for n in answering)  # hostname:port:pid, not hostname:port

        def send(i: int) -> None:
            with httpx.Client(base_url=shared, headers=H, timeout=60) as c:
                body = {"to": [f"+1201{i:06d}8"], "from": "12025550100", "body": f"m{i}"}
                r = c.post(f"/xms/v1/{PLAN}/batches", json=body)
                assert r.status_code == 201, r.text

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(send, range(200)))
        statuses = dict(sqlite_rows(db, STATUSES, lambda rows: dict(rows) == {"Delivered": 200}))
        assert statuses == {"Delivered": 200}
        landed = sqlite_rows(db, "SELECT count(*), count(DISTINCT msisdn) FROM sim_messages", bool)
        assert landed == [(200, 200)]  # each once at its handset
    finally:
        for p in reversed(procs):
            stop(p)
    for p in procs:
        assert "Traceback" not in p.log()
