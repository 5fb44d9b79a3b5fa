"""The simulator page really working in headless Chromium (when Debian's is installed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from .support import AUTH, live_server, wait_until

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
        b.wait("document.getElementById('rules-error').textContent.includes('unknown simulator setting')")
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
