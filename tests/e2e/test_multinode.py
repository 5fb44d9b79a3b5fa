"""Two nodes on one PostgreSQL: batches accepted by either are delivered exactly once, and when
the node holding a plan's lease dies, the other takes the plan over and finishes its queue."""

from __future__ import annotations

import time

import httpx
import psycopg

from .conftest import PLAN, TOKEN, launch, stop

H = {"Authorization": f"Bearer {TOKEN}"}


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as c:
        return c.execute(sql).fetchone()[0]


def send(server, n: int, prefix: str) -> None:
    with httpx.Client(base_url=server.url, headers=H, timeout=60) as c:
        for i in range(0, n, 500):
            to = [f"+1{prefix}{j:06d}8" for j in range(i, min(n, i + 500))]
            assert (
                c.post(f"/xms/v1/{PLAN}/batches", json={"to": to, "from": "12025550100", "body": "x"}).status_code
                == 201
            )


def test_two_nodes_deliver_each_message_once_and_take_over(pg_url, tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    env = {"OPENXMS_SERVICE_PLANS": f"{PLAN}:{TOKEN}:1000"}
    a = launch(pg_url, a_dir, env=env)
    b = launch(pg_url, b_dir, env=env)
    try:
        send(a, 2000, "301")
        send(b, 2000, "302")
        deadline = time.monotonic() + 60
        while count(pg_url, "SELECT count(*) FROM recipients WHERE final = 0") > 0:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert count(pg_url, "SELECT count(*) FROM sim_messages") == 4000
        assert count(pg_url, "SELECT count(DISTINCT recipient_id) FROM sim_messages") == 4000
        holder = count(pg_url, f"SELECT count(*) FROM leases WHERE name = 'dispatch:{PLAN}'")
        assert holder == 1

        # whoever holds the lease dies with work queued; the other node finishes it
        with psycopg.connect(pg_url) as c:
            owner = c.execute(f"SELECT holder FROM leases WHERE name = 'dispatch:{PLAN}'").fetchone()[0]
        dead, alive = (a, b) if owner.endswith(a.url.rsplit(":", 1)[1]) else (b, a)
        send(alive, 3000, "303")
        time.sleep(0.5)
        dead.kill()
        deadline = time.monotonic() + 90  # lease expiry (15 s) + draining
        while count(pg_url, "SELECT count(*) FROM recipients WHERE final = 0") > 0:
            assert time.monotonic() < deadline, "the surviving node did not take over"
            time.sleep(0.2)
        assert count(pg_url, "SELECT count(*) FROM recipients") == 7000
        assert count(pg_url, "SELECT count(DISTINCT recipient_id) FROM sim_messages") == 7000
        assert count(pg_url, "SELECT count(*) FROM recipients WHERE status = 'Delivered'") == 7000
    finally:
        stop(a)
        stop(b)
