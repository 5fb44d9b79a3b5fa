"""Two nodes on one PostgreSQL: batches accepted by either are delivered exactly once, and when
the node holding a plan's lease dies, the other takes the plan over and finishes its queue.
With four plans the two nodes dispatch two each (fair-share leases), and when one stops the
other takes all four."""

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


FOUR = [(f"SP{c}", f"TOKEN{c}") for c in "ABCD"]


def dispatching(server) -> list[str]:
    r = httpx.get(server.url + "/readyz", timeout=10)
    return r.json()["engine"]["dispatching"]


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def send_to_four(server, n: int, prefix: str) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        for i, (plan, token) in enumerate(FOUR):
            to = [f"+1{prefix}{i}{j:05d}8" for j in range(n)]
            r = c.post(
                f"/xms/v1/{plan}/batches",
                headers={"Authorization": f"Bearer {token}"},
                json={"to": to, "from": "12025550100", "body": "x"},
            )
            assert r.status_code == 201, r.text


def delivered_once_in_order(pg_url: str, total: int) -> None:
    assert count(pg_url, "SELECT count(*) FROM recipients WHERE status = 'Delivered'") == total
    assert count(pg_url, "SELECT max(attempts) FROM recipients") == 1  # claimed once: never resent
    assert count(pg_url, "SELECT count(DISTINCT recipient_id) FROM sim_messages") == total
    with psycopg.connect(pg_url) as c:
        landed = c.execute("SELECT account_id, recipient_id FROM sim_messages ORDER BY id").fetchall()
    assert len(landed) == total
    for plan, _ in FOUR:
        order = [rid for account, rid in landed if account == plan]
        assert order == sorted(order), f"{plan}: not in FIFO order"


def test_two_nodes_dispatch_two_of_four_plans_each_and_one_takes_all_when_the_other_stops(pg_url, tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    env = {"OPENXMS_SERVICE_PLANS": ",".join(f"{p}:{t}:200" for p, t in FOUR), "OPENXMS_PROJECTS": ""}
    a = launch(pg_url, a_dir, env=env)
    b = None
    try:
        wait(lambda: len(dispatching(a)) == 4, 10, "the first node to take every plan")
        send_to_four(a, 800, "41")  # 4 s of work per plan at 200 msg/s
        b = launch(pg_url, b_dir, env=env)
        wait(lambda: len(dispatching(a)) == len(dispatching(b)) == 2, 15, "two plans each")
        assert sorted(dispatching(a) + dispatching(b)) == [p for p, _ in FOUR]
        send_to_four(b, 200, "42")
        wait(lambda: count(pg_url, "SELECT count(*) FROM recipients WHERE final = 0") == 0, 60, "delivery")
        delivered_once_in_order(pg_url, 4 * 1000)

        stop(b)  # a clean stop: its leases and heartbeat go at once
        wait(lambda: len(dispatching(a)) == 4, 5, "the other node to take all four")
        send_to_four(a, 100, "43")
        wait(lambda: count(pg_url, "SELECT count(*) FROM recipients WHERE final = 0") == 0, 60, "delivery")
        delivered_once_in_order(pg_url, 4 * 1100)
    finally:
        stop(a)
        if b is not None:
            stop(b)
