"""Two real nodes on one PostgreSQL: the web UI's event stream of one node shows what happens on
the other (a message sent, a status change) within a second, through LISTEN/NOTIFY."""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx

from .conftest import PLAN, TOKEN, launch, stop

H = {"Authorization": f"Bearer {TOKEN}"}


class Stream:
    """A node's /simulator/events, read on a thread: each event with the time it arrived."""

    def __init__(self, url: str) -> None:
        self.events: queue.Queue = queue.Queue()
        self.seen: list[tuple[float, dict]] = []
        self.client = httpx.Client(base_url=url, timeout=httpx.Timeout(5, read=30))
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.connected.wait(10), "the stream did not open"

    def _read(self) -> None:
        try:
            with self.client.stream("GET", "/simulator/events") as r:
                for line in r.iter_lines():
                    if line == ": connected":
                        self.connected.set()
                    elif line.startswith("data: "):
                        self.events.put((time.monotonic(), json.loads(line[6:])))
        except httpx.HTTPError:
            pass  # closed at the end of the test

    def wait_for(self, predicate, timeout: float = 10.0) -> tuple[float, dict]:
        """The first event so far (or to come within `timeout`) that matches, with its time."""
        deadline = time.monotonic() + timeout
        while True:
            while not self.events.empty():
                self.seen.append(self.events.get())
            found = next(((at, e) for at, e in self.seen if predicate(e)), None)
            if found is not None:
                return found
            left = deadline - time.monotonic()
            assert left > 0, f"no such event; got {[e for _, e in self.seen]}"
            try:
                self.seen.append(self.events.get(timeout=left))
            except queue.Empty:
                pass

    def close(self) -> None:
        self.client.close()


def test_a_status_change_on_node_b_reaches_node_a_stream_within_a_second(pg_url, tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    a = launch(pg_url, a_dir, env={"OPENXMS_SERVICE_PLANS": f"{PLAN}:{TOKEN}:0", "OPENXMS_NODE_ID": "node-a"})
    b = launch(
        pg_url, b_dir, "--role", "api", env={"OPENXMS_SERVICE_PLANS": f"{PLAN}:{TOKEN}:0", "OPENXMS_NODE_ID": "node-b"}
    )
    stream = None
    try:
        stream = Stream(a.url)
        time.sleep(0.5)  # both listeners are up well before this (they start with the server)
        with httpx.Client(base_url=b.url, headers=H, timeout=10) as c:
            # a message sent through node B (an API-only node: node A delivers it)
            r = c.post(f"/xms/v1/{PLAN}/batches", json={"to": ["+12017770081"], "from": "12025550100", "body": "hi"})
            assert r.status_code == 201, r.text
            sent = time.monotonic()
            at, e = stream.wait_for(lambda e: e.get("node") == "node-b" and e["event"] == "queued")
            assert e == {"event": "queued", "count": 1, "node": "node-b"} and at - sent < 1.0, (e, at - sent)
            # a status change applied by node B: it cancels a scheduled batch
            r = c.post(
                f"/xms/v1/{PLAN}/batches",
                json={
                    "to": ["+12017770082"],
                    "from": "12025550100",
                    "body": "later",
                    "send_at": "2099-01-01T00:00:00Z",
                },
            )
            assert r.status_code == 201, r.text
            batch_id = r.json()["id"]
            r = c.delete(f"/xms/v1/{PLAN}/batches/{batch_id}")
            assert r.status_code == 200, r.text
            cancelled = time.monotonic()
        at, e = stream.wait_for(lambda e: e.get("node") == "node-b" and e["event"] == "statuses")
        assert e["count"] >= 1 and at - cancelled < 1.0, (e, at - cancelled)
        # what node A did itself (delivering B's message) is on its stream without a node
        stream.wait_for(lambda e: e["event"] == "messages" and "node" not in e and "12017770081" in e["msisdns"])
        r = httpx.get(a.url + "/simulator/messages", params={"batch_id": batch_id}).json()["messages"]
        assert [(m["status"], m["code"]) for m in r] == [("Cancelled", 407)]
    finally:
        if stream is not None:
            stream.close()
        stop(a)
        stop(b)
