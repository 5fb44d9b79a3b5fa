"""An API process and an engine process on one SQLite file (docs/architecture.md, "Processes"):
what the API accepts, the engine delivers, each message once, while both write to the file
under the shared write lock; and the API process's web UI hears the engine's live events
(store/live.py, SqliteRelay)."""

from __future__ import annotations

import concurrent.futures
import json
import threading

import httpx

from .conftest import PLAN, STATUSES, TOKEN, launch, sqlite_rows, stop

H = {"Authorization": f"Bearer {TOKEN}"}


def test_an_api_process_and_an_engine_process_share_one_sqlite_file(tmp_path):
    db = tmp_path / "data" / "openxms.sqlite3"
    url = f"sqlite:///{db}"
    api = launch(url, tmp_path, "--role", "api")
    engine = None
    try:
        engine = launch(url, tmp_path, "--role", "engine")
        heard: list[dict] = []
        listening = threading.Event()

        def listen() -> None:  # the page's event stream, on the API process
            with httpx.Client(base_url=api.url, timeout=httpx.Timeout(5, read=90)) as c:
                with c.stream("GET", "/simulator/events") as r:
                    listening.set()
                    for line in r.iter_lines():
                        if line.startswith("data:"):
                            heard.append(json.loads(line[5:]))
                            if any(e.get("event") == "messages" and e.get("node") for e in heard):
                                return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert listening.wait(10)

        def send(i: int) -> str:
            with httpx.Client(base_url=api.url, headers=H, timeout=60) as c:
                # ending in 8: none of the simulator's other outcomes (docs/simulator.md)
                body = {"to": [f"+1201{i:06d}8"], "from": "12025550100", "body": f"m{i}"}
                r = c.post(f"/xms/v1/{PLAN}/batches", json=body)
                assert r.status_code == 201, r.text
                return r.json()["id"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:  # the API writes while the engine does
            ids = list(pool.map(send, range(300)))
        assert (db.parent / "openxms.sqlite3.write-lock").exists()

        statuses = dict(sqlite_rows(db, STATUSES, lambda rows: dict(rows) == {"Delivered": 300}))
        assert statuses == {"Delivered": 300}
        # each once at the handset, and the API process reports what the engine process did
        with httpx.Client(base_url=api.url, timeout=30) as c:
            assert c.get("/simulator/handsets/12010000078/messages").json()["messages"][0]["body"] == "m7"
            assert len(c.get("/simulator/handsets/12010000078/messages").json()["messages"]) == 1
            r = c.get(f"/xms/v1/{PLAN}/batches/{ids[7]}/delivery_report", headers=H)
            assert r.json()["statuses"][0]["status"] == "Delivered", r.text
        # messages landing on handsets happen in the engine process: the API's page hears of them
        listener.join(30)
        landed = [e for e in heard if e.get("event") == "messages" and e.get("node")]
        assert landed and landed[0]["node"].endswith(f":{engine.url.rsplit(':', 1)[1]}"), heard
    finally:
        if engine is not None:
            stop(engine)
        stop(api)
    assert "Traceback" not in api.log()
