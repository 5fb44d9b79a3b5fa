"""kill -9 in the middle of dispatching 10,000 messages; after a restart every recipient ends in
exactly one final status, and every handset holds exactly one copy of its message."""

from __future__ import annotations

import sqlite3
import time

import httpx

from .conftest import PLAN, TOKEN, launch, stop

N = 10_000


def _count(database_url: str, sql: str) -> int:
    if database_url.startswith("sqlite"):
        from openxms.store.db import sqlite_path

        with sqlite3.connect(sqlite_path(database_url)) as c:
            return c.execute(sql).fetchone()[0]
    import psycopg

    with psycopg.connect(database_url) as c:
        return c.execute(sql).fetchone()[0]


def wait_all_final(database_url: str, total: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _count(database_url, "SELECT count(*) FROM recipients WHERE final = 1") < total:
        assert time.monotonic() < deadline, "not every recipient reached a final status after restart"
        time.sleep(0.1)


def test_kill_9_mid_dispatch_loses_nothing_and_duplicates_nothing(database_url, tmp_path):
    # 2,500 msg/s: the 10,000 messages take ~4 s, so the kill lands in the middle
    env = {"OPENXMS_SERVICE_PLANS": f"{PLAN}:{TOKEN}:2500"}
    server = launch(database_url, tmp_path, env=env)
    h = {"Authorization": f"Bearer {TOKEN}"}
    try:
        with httpx.Client(base_url=server.url, headers=h, timeout=30) as c:
            for i in range(N // 1000):
                to = [f"+1301{i:02d}{j:04d}8" for j in range(1000)]  # no magic endings
                r = c.post(
                    f"/xms/v1/{PLAN}/batches",
                    json={"to": to, "from": "12025550100", "body": f"b{i}", "delivery_report": "none"},
                )
                assert r.status_code == 201
            deadline = time.monotonic() + 30
            while _count(database_url, "SELECT count(*) FROM sim_messages") < N // 4:
                assert time.monotonic() < deadline, "dispatch did not start"
                time.sleep(0.05)
        sent_before = _count(database_url, "SELECT count(*) FROM sim_messages")
        server.kill()  # SIGKILL: no shutdown code runs
        assert sent_before < N, "the kill came too late to prove anything"
    finally:
        stop(server)

    server = server.restart()
    try:
        wait_all_final(database_url, N)
    finally:
        stop(server)
    assert _count(database_url, "SELECT count(*) FROM recipients") == N
    assert _count(database_url, "SELECT count(*) FROM recipients WHERE status = 'Delivered' AND code = 0") == N
    # one handset copy per recipient: redelivery after the crash did not duplicate
    assert _count(database_url, "SELECT count(*) FROM sim_messages") == N
    assert _count(database_url, "SELECT count(DISTINCT recipient_id) FROM sim_messages") == N
