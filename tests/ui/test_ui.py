"""The simulator web UI: page and assets served, the live event stream (events, pings, slow
clients, disconnects), and (when Debian's Chromium is installed) the page really working in a
headless browser.

The stream tests run the real app in-process behind a real uvicorn server in a thread: an
endless response cannot be read through Starlette's TestClient, which buffers whole bodies.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from openxms.ui import routes as ui
from .._ports import free_port
from ..http.conftest import Api, make_api

STATIC = Path(ui.__file__).parent / "static"
AUTH = {"Authorization": "Bearer TOKEN1"}


def sqlite(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 't.sqlite3'}"


# -- page and assets (in-process, TestClient) ------------------------------------------------

@pytest.fixture
def api(tmp_path):
    app, ctx = make_api(sqlite(tmp_path), tmp_path)
    with TestClient(app) as client:
        yield Api(client, ctx)


def test_page_references_its_script_and_style(api):
    r = api.client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script src="/ui/app.js"' in r.text and 'href="/ui/app.css"' in r.text
    assert "max-age=" in r.headers["cache-control"]
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp


@pytest.mark.parametrize("path,ctype", [("/ui/app.js", "text/javascript; charset=utf-8"),
                                        ("/ui/app.css", "text/css; charset=utf-8")])
def test_assets_served_with_their_types_and_a_short_cache(api, path, ctype):
    r = api.client.get(path)
    assert r.status_code == 200 and r.headers["content-type"] == ctype
    assert r.content == (STATIC / path.rsplit("/", 1)[1]).read_bytes()
    assert re.fullmatch(r"public, max-age=\d{1,3}", r.headers["cache-control"])
    assert r.headers["x-content-type-options"] == "nosniff"
    head = api.client.head(path)
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize("path", ["/ui/other.js", "/ui/../routes.py", "/ui/index.html", "/ui/"])
def test_nothing_else_is_served_under_ui(api, path):
    assert api.client.get(path).status_code == 404


def test_page_is_self_contained_and_never_parses_api_data_as_html():
    html = (STATIC / "index.html").read_text()
    js = (STATIC / "app.js").read_text()
    css = (STATIC / "app.css").read_text()
    for text in (html, js, css):  # offline: no CDN, no web fonts, no remote anything
        assert not re.search(r"(src|href)=\"(https?:)?//", text)
        assert "@import" not in text and "url(http" not in text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in js, sink
    # every element the script looks up exists on the page
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    wanted = set(re.findall(r'\$\("([^"]+)"\)', js))
    assert wanted and wanted <= ids, wanted - ids


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

@dataclass
class Live:
    url: str
    ctx: object

    def send(self, to: str = "+12017777778", body: str = "live", **fields) -> dict:
        r = httpx.post(self.url + "/xms/v1/SP1/batches", headers=AUTH,
                       json={"to": [to], "from": "12025550100", "body": body, **fields})
        assert r.status_code == 201, r.text
        return r.json()


class Server(uvicorn.Server):
    """What `openxms serve` does at shutdown: end the UI's endless streams first."""

    ctx = None

    async def shutdown(self, sockets=None):
        ui.close_streams(self.ctx)
        await super().shutdown(sockets)


@contextmanager
def live_server(tmp_path, **settings):
    app, ctx = make_api(sqlite(tmp_path), tmp_path, **settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), lifespan="on", log_level="warning",
                            loop="asyncio", http="httptools", timeout_graceful_shutdown=10)
    server = Server(config)
    server.ctx = ctx
    thread = threading.Thread(target=server.run, name="ui-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield Live(f"http://127.0.0.1:{config.port}", ctx)
    finally:
        server.should_exit = True
        thread.join(20)
        assert not thread.is_alive(), "the server did not stop"


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


def wait_until(fn, timeout: float = 3.0):
    deadline = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_stream_delivers_messages_and_replies_and_ends_cleanly(tmp_path):
    with live_server(tmp_path) as s:
        sim = s.ctx.simulator
        with httpx.Client(base_url=s.url, timeout=5) as c:
            with c.stream("GET", "/simulator/events") as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
                lines = stream.iter_lines()
                assert "retry: 2000" in [next(lines), next(lines)]  # then ": connected"
                wait_until(lambda: len(sim.listeners) == 1)
                s.send(to="+12017777778")
                got = read_events(lines, lambda es: any(e["event"] == "messages" for e in es))
                assert {"event": "messages", "msisdns": ["12017777778"]} in got
                r = c.post("/simulator/handsets/12017777778/messages", json={"to": "12025550100", "body": "STOP"})
                assert r.status_code == 201, r.text
                got = read_events(lines, lambda es: any(e["event"] == "replies" for e in es))
                assert {"event": "replies", "msisdns": ["12017777778"]} in got
            # the client closed the stream: the server notices at once (not at the next ping)
            wait_until(lambda: not sim.listeners)
            assert c.get("/health").status_code == 200  # and keeps serving


def test_open_streams_do_not_hold_up_shutdown(tmp_path):
    lines: list[str] = []
    with live_server(tmp_path) as s:
        sim = s.ctx.simulator
        c = httpx.Client(base_url=s.url, timeout=10)
        cm = c.stream("GET", "/simulator/events")
        stream = cm.__enter__()

        def read():
            lines.extend(stream.iter_lines())  # ends when the server ends the response

        reader = threading.Thread(target=read)
        reader.start()
        wait_until(lambda: len(sim.listeners) == 1)
        started = time.monotonic()
    took = time.monotonic() - started
    reader.join(5)
    cm.__exit__(None, None, None)
    c.close()
    assert not reader.is_alive() and ": connected" in lines
    assert took < 3, f"shutdown took {took:.1f} s"  # not the 10 s graceful timeout
    assert not sim.listeners


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


# -- the page in a headless browser ------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


class Browser:
    """Headless Chromium over the DevTools protocol (`websockets` comes with uvicorn[standard])."""

    def __init__(self, tmp_path: Path) -> None:
        from websockets.sync.client import connect

        profile = tmp_path / "chromium"
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--window-size=1200,900", f"--user-data-dir={profile}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        page = None
        while page is None:
            assert self.proc.poll() is None and time.monotonic() < deadline, "chromium did not start"
            try:
                port = int(port_file.read_text().split()[0])
                targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=1).json()
                page = next(t for t in targets if t["type"] == "page")
            except (OSError, ValueError, IndexError, httpx.HTTPError, StopIteration):
                time.sleep(0.1)
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=None).__enter__()
        self.n = 0
        self.errors: list[str] = []
        self.call("Runtime.enable")
        self.call("Log.enable")

    def call(self, method: str, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("method") == "Runtime.exceptionThrown":
                self.errors.append(json.dumps(msg["params"]["exceptionDetails"])[:500])
            elif (msg.get("method") == "Log.entryAdded" and msg["params"]["entry"]["level"] == "error"
                  and msg["params"]["entry"].get("source") != "network"):  # 4xx the test asks for
                self.errors.append(msg["params"]["entry"].get("text", ""))
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expr: str):
        r = self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise AssertionError(f"{expr}: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")

    def wait(self, expr: str, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(expr)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {expr}")
            time.sleep(0.05)

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): the headless-browser test needs it")
    pytest.importorskip("websockets.sync.client", reason="the DevTools client needs websockets (uvicorn[standard])")
    b = Browser(tmp_path)
    yield b
    b.close()


def test_page_in_headless_chromium(tmp_path, browser):
    b = browser
    with live_server(tmp_path) as s:
        b.call("Page.navigate", url=s.url + "/")
        b.wait("document.readyState === 'complete'")
        b.wait("document.getElementById('live').dataset.state === 'live'")
        # the first handset list loads independently of the stream: wait for it, too
        b.wait("document.getElementById('handsets-empty').hidden === false")

        # the live stream brings a new handset in without a reload
        s.send(to="+12017777778", body="render me 😀")
        b.wait("document.querySelector('#handsets .handset .number')?.textContent === '+12017777778'")
        b.js("document.querySelector('#handsets .handset').click()")
        b.wait("document.querySelector('#thread .msg.mt .body')?.textContent === 'render me 😀'")
        assert b.js("location.hash") == "#12017777778"
        b.wait("document.querySelector('#thread .badge.status')?.textContent === 'Delivered · 0'")
        badges = b.js("[...document.querySelectorAll('#thread .msg.mt .badge')].map(e => e.textContent)")
        assert "UCS-2" in badges and "1 part" in badges and "flash" not in badges
        assert b.js("document.querySelector('#thread .msg.mt .who').textContent") == "12025550100"

        # untrusted text stays text
        s.send(to="+12017777778", body='<img src=x onerror="window.pwned=1">GSM', flash_message=True)
        b.wait("document.querySelectorAll('#thread .msg.mt').length === 2")
        assert b.js("document.querySelector('#thread img')") is None and b.js("window.pwned") is None
        last = "[...document.querySelectorAll('#thread .msg.mt')].at(-1)"
        assert b.js(f"{last}.querySelector('.body').textContent").startswith("<img src=x")
        badges = b.js(f"[...{last}.querySelectorAll('.badge')].map(e => e.textContent)")
        assert "GSM-7" in badges and "flash" in badges

        # binary: UDH and data as hex
        s.send(to="+12017777778", type="mt_binary", body="3q2+7w==", udh="050003cc0201")
        b.wait("document.querySelector('#thread .msg.mt .binary')?.textContent.includes('de ad be ef')")
        assert "05 00 03 cc 02 01" in b.js("document.querySelector('#thread .binary').textContent")

        # reply: "to" is prefilled with the last sender; the MO lands on the other side
        assert b.js("document.getElementById('reply-to').value") == "12025550100"
        b.js("document.getElementById('reply-body').value = 'STOP';"
             "document.querySelector('#reply button[type=submit]').click()")
        b.wait("document.querySelector('#thread .msg.mo .body')?.textContent === 'STOP'")
        assert b.js("[...document.querySelectorAll('#thread .msg')].at(-1).classList.contains('mo')")
        inbound = httpx.get(s.url + "/xms/v1/SP1/inbounds", headers=AUTH).json()
        assert inbound["inbounds"][0]["body"] == "STOP" and inbound["inbounds"][0]["from"] == "12017777778"

        # an unknown "to" shows the server's error
        b.js("document.getElementById('reply-plan').value = 'NOPE';"
             "document.getElementById('reply-body').value = 'x';"
             "document.querySelector('#reply button[type=submit]').click()")
        b.wait("document.getElementById('reply-error').textContent.includes('unknown service plan')")

        # search filters by number
        s.send(to="+4670123456")
        b.wait("document.querySelectorAll('#handsets .handset').length === 2")
        b.js("{ const q = document.getElementById('search'); q.value = '4670'; q.dispatchEvent(new Event('input')) }")
        assert b.js("[...document.querySelectorAll('#handsets .number')].map(e => e.textContent)") == ["+4670123456"]
        b.js("{ const q = document.getElementById('search'); q.value = ''; q.dispatchEvent(new Event('input')) }")

        # manual clock: advance buttons move the server clock
        b.wait("!document.getElementById('clock-advance').hidden")
        before = httpx.get(s.url + "/clock").json()["now_ms"]
        b.js("document.querySelector('#clock-advance [data-seconds=\"60\"]').click()")
        wait_until(lambda: httpx.get(s.url + "/clock").json()["now_ms"] == before + 60_000)

        # rules: the current rules load; invalid ones show the server's 400 text
        b.js("document.getElementById('rules-open').click()")
        b.wait("document.getElementById('rules-json').value.includes('magic_numbers')")
        b.js("document.getElementById('rules-json').value = '{\"bogus\": 1}';"
             "document.getElementById('rules-save').click()")
        b.wait("document.getElementById('rules-error').textContent.includes(\"unknown key 'bogus'\")")
        b.js("document.getElementById('rules-json').value = '{\"seed\": 7}';"
             "document.getElementById('rules-save').click()")
        b.wait("document.getElementById('rules-saved').textContent === 'Saved.'")
        assert httpx.get(s.url + "/simulator/rules").json()["seed"] == 7
        b.js("document.querySelector('#rules [aria-label=Close]').click()")
        b.wait("!document.getElementById('rules').open")

        # purge this handset (confirm() answered yes)
        b.js("window.confirm = () => true; document.getElementById('purge-one').click()")
        b.wait("document.getElementById('notice').textContent.startsWith('Deleted 3 messages')")
        b.wait("document.querySelectorAll('#handsets .handset').length === 1")
        assert httpx.get(s.url + "/simulator/handsets/12017777778/messages").json()["messages"] == []

        assert b.errors == [], b.errors  # no script errors, no CSP violations
