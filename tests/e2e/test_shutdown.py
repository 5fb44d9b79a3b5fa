"""SIGTERM stops the server within a bounded time, even while SMPP binds are reconnecting to an
SMSC that is not there."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import httpx

from .conftest import PLAN, TOKEN, free_port, launch, stop
from .test_durability import _count, wait_all_final


def test_sigterm_during_reconnect_loops_exits_within_10_s(database_url, tmp_path):
    dead = free_port()  # nothing listens here: every bind attempt fails and the loops back off
    cfg = tmp_path / "openxms.toml"
    plans = "".join(
        f"""
[[service_plans]]
id = "SM{i}"
token = "T{i}"
connector = "smpp"
[service_plans.smpp]
host = "127.0.0.1"
port = {dead}
binds = 3
reconnect_min = 0.2
reconnect_max = 0.4
"""
        for i in range(3)
    )
    cfg.write_text(plans)
    server = launch(
        database_url, tmp_path, "--config", str(cfg), env={"OPENXMS_SERVICE_PLANS": "", "OPENXMS_PROJECTS": ""}
    )
    time.sleep(1.5)  # let the leases start the dispatchers and their bind loops spin
    t0 = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        raise AssertionError("the server did not exit within 15 s of SIGTERM:\n" + server.log()) from None
    assert time.monotonic() - t0 < 10, server.log()
    # uvicorn re-raises the signal once it has shut down gracefully (so the exit status says SIGTERM)
    assert code in (0, -signal.SIGTERM), server.log()
    assert "Traceback" not in server.log()


def test_sigterm_while_submits_hang_exits_within_10_s(database_url, tmp_path):
    """An SMSC that takes the binds but answers no submit_sm for a minute: in-flight submits and
    the unbind would each wait for their timeouts; shutdown must not add them up."""
    import httpx

    from ..connectors.smpp.smsc_thread import SmscThread

    with SmscThread(latency_ms=60_000) as smsc:
        cfg = tmp_path / "openxms.toml"
        cfg.write_text(f"""
[[service_plans]]
id = "SM1"
token = "T1"
rate = 0
connector = "smpp"
numbers = ["12025550100"]
[service_plans.smpp]
host = "127.0.0.1"
port = {smsc.port}
system_id = "openxms"
password = "secret"
response_timeout = 30.0
""")
        server = launch(
            database_url, tmp_path, "--config", str(cfg), env={"OPENXMS_SERVICE_PLANS": "", "OPENXMS_PROJECTS": ""}
        )
        r = httpx.post(
            f"{server.url}/xms/v1/SM1/batches",
            headers={"Authorization": "Bearer T1"},
            json={"to": [f"+1201555{i:04d}" for i in range(50)], "body": "hi"},
        )
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 10
        while smsc.smsc.stats["submits"] < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert smsc.smsc.stats["submits"] >= 10
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        try:
            code = server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            raise AssertionError("the server did not exit within 30 s of SIGTERM:\n" + server.log()) from None
        took = time.monotonic() - t0
        print(f"exited {took:.1f} s after SIGTERM")
        assert took < 10, (took, server.log())
        assert code in (0, -signal.SIGTERM), server.log()


def test_sigterm_under_load_loses_and_duplicates_nothing(database_url, tmp_path):
    """Clients keep sending while the server gets SIGTERM: it stops within 10 s; after a restart
    every batch it accepted (and any it committed but could not answer) is delivered exactly
    once, each handset holding one copy per recipient."""

    server = launch(database_url, tmp_path, env={"OPENXMS_SERVICE_PLANS": f"{PLAN}:{TOKEN}:500"})
    accepted: list[str] = []
    stop_sending = threading.Event()

    def client(k: int) -> None:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5) as c:
            i = 0
            while not stop_sending.is_set():
                body = {"to": [f"+1302{k}{i:06d}8"], "from": "12025550100", "body": "load", "delivery_report": "none"}
                i += 1
                try:
                    r = c.post(f"/xms/v1/{PLAN}/batches", json=body)
                except httpx.HTTPError:
                    continue  # the server is going away: refused or cut
                if r.status_code == 201:
                    accepted.append(r.json()["id"])

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while _count(database_url, "SELECT count(*) FROM sim_messages") < 200:
            assert time.monotonic() < deadline, "dispatch did not start"
            time.sleep(0.05)
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(15)
        assert time.monotonic() - t0 < 10, "SIGTERM took more than 10 s"
    finally:
        stop_sending.set()
        for t in threads:
            t.join(10)
        stop(server)
    assert len(accepted) > 200
    server = server.restart()
    try:
        total = _count(database_url, "SELECT count(*) FROM recipients")
        wait_all_final(database_url, total)
    finally:
        stop(server)
    ids = {r for r in accepted}
    stored = _count(database_url, "SELECT count(*) FROM batches")
    assert stored >= len(ids)  # every 201 is stored (a committed request may have lost its answer)
    assert _count(database_url, "SELECT count(*) FROM recipients WHERE status = 'Delivered' AND code = 0") == total
    assert _count(database_url, "SELECT count(*) FROM sim_messages") == total
    assert _count(database_url, "SELECT count(DISTINCT recipient_id) FROM sim_messages") == total
    in_db = _count(
        database_url, "SELECT count(*) FROM batches WHERE id IN ({})".format(",".join(f"'{i}'" for i in ids))
    )
    assert in_db == len(ids)
