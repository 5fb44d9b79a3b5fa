"""The server's bounds on reading a request (cli.py: `bounded_http_tools`), on the real app
served by uvicorn over a real socket: a connection that says nothing, a head or a body sent
a byte at a time, an endless head; and that ordinary, keep-alive and slow-but-steady requests
are not touched."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from openxms import cli

from .http.conftest import make_api

HEAD, BODY, RATE, MAX_HEAD = 0.5, 0.5, 1000.0, 4096


@pytest.fixture
def served(database_url, tmp_path):
    import uvicorn

    app, _ = make_api(database_url, tmp_path, allowed_hosts=())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = cli.server_config(app, "127.0.0.1", port, log_level="warning")
    config.http = cli.bounded_http_tools(HEAD, BODY, RATE, MAX_HEAD)
    server = uvicorn.Server(config)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and t.is_alive(), "server did not start"
        time.sleep(0.02)
    yield port
    server.should_exit = True
    t.join(15)


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def _read_all(s: socket.socket, timeout: float = 5) -> tuple[bytes, float]:
    """Everything until the server closes; and after how long."""
    t = time.monotonic()
    s.settimeout(timeout)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return out, time.monotonic() - t
        out += chunk


def _batches(port: int) -> int:
    r = httpx.get(f"http://127.0.0.1:{port}/xms/v1/SP1/batches", headers={"Authorization": "Bearer TOKEN1"})
    assert r.status_code == 200, r.text
    return r.json()["count"]


def test_the_server_command_uses_the_bounded_protocol():
    config = cli.server_config(object(), "127.0.0.1", 8080)
    assert issubclass(config.http, HttpToolsProtocol)
    assert (config.http.HEAD_TIMEOUT, config.http.BODY_TIMEOUT, config.http.BODY_MIN_RATE) == (10.0, 20.0, 500.0)
    assert config.http.MAX_HEAD == 64 * 1024


def test_a_connection_that_sends_nothing_is_closed_with_408(served):
    with _connect(served) as s:
        out, after = _read_all(s)
    assert out.startswith(b"HTTP/1.1 408 ")
    assert b'"code":"request_timeout"' in out
    assert HEAD * 0.8 <= after < HEAD + 2


def test_a_head_sent_a_byte_at_a_time_is_cut_at_the_head_timeout(served):
    with _connect(served) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        t = time.monotonic()
        closed = False
        while time.monotonic() - t < HEAD + 2:
            try:
                s.sendall(b"a")
            except OSError:
                closed = True
                break
            s.settimeout(0.1)
            try:
                data = s.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # reset: closed while our last byte was in flight
                closed = True
                break
            assert data.startswith(b"HTTP/1.1 408 ")
            closed = True
            break
    assert closed, "a dripping head was held past the head timeout"


def test_an_endless_head_is_refused_431_before_it_grows(served):
    with _connect(served) as s:
        # twice the cap, in one write: the server reads it all before it answers, so its close
        # is a clean one (more data sent after it would turn it into a reset, answer lost)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (2 * MAX_HEAD))
        out, _ = _read_all(s)
    assert out.startswith(b"HTTP/1.1 431 ")


def test_a_stalled_body_is_cut_and_its_prefix_is_not_acted_on(served):
    # a complete batch, then the rest of the declared length never comes: the prefix parses as
    # JSON, so acting on it would create a batch the client never finished sending
    body = b'{"to": ["+12017777777"], "from": "12025550100", "body": "half"}'
    with _connect(served) as s:
        s.sendall(
            b"POST /xms/v1/SP1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer TOKEN1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body) + 100, body)
        )
        out, after = _read_all(s)
    assert out.startswith(b"HTTP/1.1 408 ")
    assert after < BODY + len(body) / RATE + 2
    time.sleep(0.2)
    assert _batches(served) == 0


def test_a_slow_but_steady_body_and_keep_alive_requests_pass(served):
    body = b'{"to": ["+12017777777"], "from": "12025550100", "body": "' + b"x" * 1400 + b'"}'
    with _connect(served) as s:
        s.sendall(
            b"POST /xms/v1/SP1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer TOKEN1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        # past the body timeout in total, at more than the minimum rate
        for i in range(0, len(body), 200):
            s.sendall(body[i : i + 200])
            time.sleep(0.1)
        s.settimeout(5)
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 201 "), first[:200]
        time.sleep(HEAD * 1.5)  # idle between requests: uvicorn's keep-alive timeout (5 s) applies
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200 ")
    assert _batches(served) == 1
