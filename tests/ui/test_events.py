"""The live event stream (`EventStream`, `GET /simulator/events`): events, pings, slow clients,
disconnects and shutdown, first as an ASGI app driven directly (deterministic, no server), then
over real HTTP behind uvicorn."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx

from openxms.ui import routes as ui

from .support import live_server, wait_until

# -- the event stream as an ASGI app (deterministic, no server) --------------------------------


class FakeSim:
    def __init__(self) -> None:
        self.listeners: set = set()

    def announce(self, event: dict) -> None:
        for fn in list(self.listeners):
            fn(event)


class Client:
    """Drives an EventStream like a server would: collects what it sends, disconnects on demand."""

    def __init__(self, method: str = "GET") -> None:
        self.scope = {"type": "http", "method": method, "path": "/simulator/events"}
        self.sent: list[dict] = []
        self.chunk = asyncio.Event()
        self.gone = asyncio.Event()
        self.can_write = asyncio.Event()
        self.can_write.set()

    async def receive(self) -> dict:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        await self.can_write.wait()
        self.sent.append(message)
        self.chunk.set()

    def body(self) -> str:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body").decode()

    def events(self) -> list[dict]:
        return [json.loads(line[6:]) for line in self.body().splitlines() if line.startswith("data: ")]

    async def until(self, predicate, timeout: float = 2.0) -> None:
        async def loop():
            while not predicate():
                self.chunk.clear()
                await self.chunk.wait()

        await asyncio.wait_for(loop(), timeout)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_stream_forwards_events_and_removes_its_listener_on_disconnect():
    async def main():
        sim, c = FakeSim(), Client()
        task = asyncio.create_task(ui.EventStream(sim)(c.scope, c.receive, c.send))
        await c.until(lambda: ": connected" in c.body())
        start = c.sent[0]
        assert start["status"] == 200
        assert dict(start["headers"])[b"content-type"] == b"text/event-stream; charset=utf-8"
        assert len(sim.listeners) == 1
        sim.announce({"event": "messages", "msisdns": ["12017777777"]})
        sim.announce({"event": "receipts", "count": 3})
        await c.until(lambda: len(c.events()) == 2)
        assert c.events() == [{"event": "messages", "msisdns": ["12017777777"]}, {"event": "receipts", "count": 3}]
        c.gone.set()  # the browser tab closes
        await asyncio.wait_for(task, 1)  # promptly, not at the next ping
        assert sim.listeners == set()
        sim.announce({"event": "messages", "msisdns": ["1"]})  # nobody listening: harmless

    run(main())


def test_stream_pings_and_without_simulator_sends_nothing_else():
    async def main():
        c = Client()
        task = asyncio.create_task(ui.EventStream(None, ping_s=0.05)(c.scope, c.receive, c.send))
        await c.until(lambda: c.body().count(": ping\n\n") >= 3)
        assert c.events() == []
        c.gone.set()
        await asyncio.wait_for(task, 1)

    run(main())


def test_slow_client_loses_events_instead_of_queueing_them_and_is_told():
    async def main():
        sim, c = FakeSim(), Client()
        stream = ui.EventStream(sim, queue_size=5)
        task = asyncio.create_task(stream(c.scope, c.receive, c.send))
        await c.until(lambda: ": connected" in c.body())
        c.can_write.clear()  # the client stops reading: the next write blocks
        for i in range(50):
            sim.announce({"event": "messages", "msisdns": [str(i)]})
        await asyncio.sleep(0.05)
        assert stream.queue.qsize() <= 5 and stream.dropped >= 44
        c.can_write.set()
        await c.until(lambda: any(e["event"] == "overflow" for e in c.events()))
        got = c.events()
        assert len(got) <= 7  # a bounded few, then one overflow notice
        assert got[-1] == {"event": "overflow", "dropped": 50 - (len(got) - 1)}
        c.gone.set()
        await asyncio.wait_for(task, 1)
        assert sim.listeners == set()

    run(main())


def test_stream_ends_when_a_write_fails():
    async def main():
        sim = FakeSim()
        c = Client()

        async def send(message):
            if c.sent:
                raise OSError("connection reset")  # what uvicorn raises once the peer is gone
            c.sent.append(message)

        task = asyncio.create_task(ui.EventStream(sim)(c.scope, c.receive, send))
        await asyncio.sleep(0.01)
        await asyncio.wait_for(task, 1)
        assert sim.listeners == set()

    run(main())


def test_events_from_another_thread_reach_the_stream():
    async def main():
        sim, c = FakeSim(), Client()
        task = asyncio.create_task(ui.EventStream(sim)(c.scope, c.receive, c.send))
        await c.until(lambda: ": connected" in c.body())
        t = threading.Thread(target=sim.announce, args=({"event": "replies", "msisdns": ["2"]},))
        t.start()
        t.join()
        await c.until(lambda: c.events() == [{"event": "replies", "msisdns": ["2"]}])
        c.gone.set()
        await asyncio.wait_for(task, 1)

    run(main())


def test_close_streams_ends_them_cleanly():
    class Ctx:
        streams_closed = asyncio.Event()

    async def main():
        ctx, sim = Ctx(), FakeSim()
        c = Client()
        task = asyncio.create_task(ui.EventStream(sim, stop=ctx.streams_closed)(c.scope, c.receive, c.send))
        await c.until(lambda: ": connected" in c.body())
        ui.close_streams(ctx)
        await asyncio.wait_for(task, 1)
        assert c.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
        assert sim.listeners == set()

    run(main())


def test_head_gets_headers_only():
    async def main():
        sim, c = FakeSim(), Client("HEAD")
        await ui.EventStream(sim)(c.scope, c.receive, c.send)
        assert [m["type"] for m in c.sent] == ["http.response.start", "http.response.body"]
        assert sim.listeners == set()

    run(main())


# -- the event stream over real HTTP ---------------------------------------------------------


def read_events(lines, want, timeout: float = 10.0) -> list[dict]:
    """Read `data:` events until `want(events)` is true (each read is bounded by the client timeout)."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    for line in lines:
        if line.startswith("data: "):
            got.append(json.loads(line[6:]))
            if want(got):
                return got
        assert time.monotonic() < deadline, f"no matching event within {timeout} s; got {got}"
    raise AssertionError(f"the stream ended; got {got}")


def test_stream_delivers_messages_and_replies_and_ends_cleanly(tmp_path):
    with live_server(tmp_path) as s:
        live = s.ctx.live
        with httpx.Client(base_url=s.url, timeout=5) as c:
            with c.stream("GET", "/simulator/events") as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
                lines = stream.iter_lines()
                assert "retry: 2000" in [next(lines), next(lines)]  # then ": connected"
                wait_until(lambda: len(live.listeners) == 1)
                s.send(to="+12017777778")
                got = read_events(lines, lambda es: any(e["event"] == "messages" for e in es))
                assert {"event": "messages", "msisdns": ["12017777778"]} in got
                r = c.post("/simulator/handsets/12017777778/messages", json={"to": "12025550100", "body": "STOP"})
                assert r.status_code == 201, r.text
                got = read_events(lines, lambda es: any(e["event"] == "replies" for e in es))
                assert {"event": "replies", "msisdns": ["12017777778"]} in got
            # the client closed the stream: the server notices at once (not at the next ping)
            wait_until(lambda: not live.listeners)
            assert c.get("/health").status_code == 200  # and keeps serving


def test_open_streams_do_not_hold_up_shutdown(tmp_path):
    lines: list[str] = []
    with live_server(tmp_path) as s:
        live = s.ctx.live
        c = httpx.Client(base_url=s.url, timeout=10)
        cm = c.stream("GET", "/simulator/events")
        stream = cm.__enter__()

        def read():
            lines.extend(stream.iter_lines())  # ends when the server ends the response

        reader = threading.Thread(target=read)
        reader.start()
        wait_until(lambda: len(live.listeners) == 1)
        started = time.monotonic()
    took = time.monotonic() - started
    reader.join(5)
    cm.__exit__(None, None, None)
    c.close()
    assert not reader.is_alive() and ": connected" in lines
    assert took < 3, f"shutdown took {took:.1f} s"  # not the 10 s graceful timeout
    assert not live.listeners


def test_stream_on_a_node_without_simulator_only_pings(tmp_path, monkeypatch):
    monkeypatch.setattr(ui, "PING_S", 0.1)
    with live_server(tmp_path, role="api") as s:
        assert s.ctx.simulator is None
        with httpx.Client(base_url=s.url, timeout=5) as c:
            with c.stream("GET", "/simulator/events") as stream:
                lines = []
                for line in stream.iter_lines():
                    lines.append(line)
                    if lines.count(": ping") >= 2:
                        break
        assert not [x for x in lines if x.startswith("data:")]
