"""One callback's trouble stays its own: URLs that cannot be sent to, and receivers that
trickle their answer, never hold the other callbacks back (SQLite and PostgreSQL)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from starlette.testclient import TestClient

from openxms.store import outbox

from ..http.conftest import Api, make_api
from .receiver import Receiver
from .test_delivery import plans_toml


class Trickle:
    """A receiver that accepts, reads the request, then answers one byte every `every` s, for ever."""

    def __init__(self, every: float = 0.3) -> None:
        self.every = every
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopping = threading.Event()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            for ch in b"HTTP/1.1 200 OK\r\n":
                if self.stopping.wait(self.every):
                    break
                conn.sendall(bytes([ch]))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()


@pytest.fixture
def faults(database_url, tmp_path):
    with Receiver() as rx:
        toml = "[server]\ncallback_timeout = 1.0\n" + plans_toml(rx.url)
        app, ctx = make_api(database_url, tmp_path, env={"OPENXMS_SERVICE_PLANS": "SP1:TOKEN1:0"}, toml=toml)
        with TestClient(app) as client:
            api = Api(client, ctx)
            api.rx = rx
            yield api


def _enqueue(api, urls: list[str]) -> None:
    now = api.ctx.clock.now_ms()
    api.ctx.db.run_sync(
        outbox.enqueue, [("CB1", "recipient_delivery_report", u, f'{{"n": {i}}}') for i, u in enumerate(urls)], now
    )
    api.ctx.wakeups.callbacks_changed()


def _states(api, attempted: bool = False) -> dict[str, tuple[str, str | None]]:
    rows = api.ctx.db.run_sync(lambda tx: tx.all("SELECT url, state, last_error, attempts FROM outbox ORDER BY id"))
    return {r.url: (r.state, r.last_error) for r in rows if r.attempts or not attempted}


POISON = ["http://a:abc/", "http://[v1.x]/", "http://exa\tmple.com/", "http://ex\u0000ample.com/", "http://xn--a/"]


def test_urls_that_cannot_be_sent_to_fail_alone(faults):
    api = faults
    poison = [u for u in POISON if api.ctx.db.dialect == "sqlite" or "\u0000" not in u]  # PostgreSQL text has no NUL
    _enqueue(api, poison + [api.rx.url + "/good"])
    api.wait_for(lambda: len(api.rx.requests) == 1)
    states = api.wait_for(
        lambda: (s := _states(api)) and all(v[0] != "sending" and v[0] != "pending" for v in s.values()) and s
    )
    assert states[api.rx.url + "/good"][0] == "done"
    for url in poison:
        assert states[url][0] == "failed" and "cannot send" in states[url][1], (url, states[url])
    # the sender is alive: a later callback still goes
    _enqueue(api, [api.rx.url + "/later"])
    api.wait_for(lambda: len(api.rx.requests) == 2)


def test_a_trickling_receiver_delays_nobody_else(faults):
    api = faults
    slow = Trickle()
    try:
        _enqueue(api, [slow.url + f"/s{i}" for i in range(20)] + [api.rx.url + f"/g{i}" for i in range(5)])
        t0 = time.monotonic()
        api.wait_for(lambda: sum(1 for u, (s, _) in _states(api).items() if "/g" in u and s == "done") == 5, timeout=5)
        assert time.monotonic() - t0 < 3  # not behind the slow target's deadlines
        assert slow.accepted <= 8  # at most per_target posts to one target at once
        # each slow post ends at the total deadline (1 s), however it trickles, and is retried later
        slow_rows = api.wait_for(
            lambda: [
                v for u, v in _states(api, attempted=True).items() if u.startswith(slow.url) and v[0] == "pending"
            ],
            timeout=10,
        )
        assert all("no complete response within 1 s" in (err or "") for _, err in slow_rows), slow_rows
    finally:
        slow.close()


@pytest.fixture
def policed(database_url, tmp_path):
    with Receiver() as rx:
        toml = '[callbacks]\ndeny = ["127.0.0.0/8", "169.254.0.0/16"]\nallow = ["127.0.0.1/32"]\n' + plans_toml(rx.url)
        app, ctx = make_api(database_url, tmp_path, env={"OPENXMS_SERVICE_PLANS": "SP1:TOKEN1:0"}, toml=toml)
        with TestClient(app) as client:
            api = Api(client, ctx)
            api.rx = rx
            yield api


def test_the_callbacks_policy_refuses_denied_networks(policed):
    api = policed
    port = api.rx.url.rsplit(":", 1)[1]
    denied = [
        f"http://127.0.0.3:{port}/dr",
        f"http://[::ffff:127.0.0.4]:{port}/x",
        "http://169.254.169.254/latest/meta-data",
    ]
    _enqueue(api, denied)
    states = api.wait_for(lambda: (s := _states(api, attempted=True)) and len(s) == 3 and s)
    assert all(state == "failed" and "denied by the callbacks policy" in err for state, err in states.values()), states
    assert api.rx.requests == []
    # an allowed exception inside a denied network goes through
    _enqueue(api, [api.rx.url + "/ok"])
    api.wait_for(lambda: len(api.rx.requests) == 1)


def test_callback_urls_are_redacted_in_logs(faults, caplog):
    api = faults
    caplog.set_level("DEBUG")
    host = api.rx.url.split("//", 1)[1]
    api.rx.statuses = [404]  # a failure that is logged with its URL
    _enqueue(api, [f"http://alice:s3cr3t-pw@{host}/cb?api_key=K3Y-VALUE&x=1"])
    api.wait_for(lambda: len(api.rx.requests) == 1)
    api.wait_for(lambda: any("callback" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "s3cr3t-pw" not in text and "K3Y-VALUE" not in text and "alice" not in text, text
    assert "api_key=***" in text
