"""What the UI tests share: the static files, an app on SQLite, and that app behind a real server.

The live server runs the real app in-process behind a real uvicorn server in a thread: an
endless response (the event stream) cannot be read through Starlette's TestClient, which
buffers whole bodies, and a browser needs a real socket to talk to.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from openxms.ui import routes as ui

from ..http.conftest import make_api

STATIC = Path(ui.__file__).parent / "static"
AUTH = {"Authorization": "Bearer TOKEN1"}


def sqlite(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 't.sqlite3'}"


def wait_until(fn, timeout: float = 3.0):
    """Poll `fn()` until it is true (for state outside the page: the server's)."""
    deadline = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@dataclass
class Live:
    url: str
    ctx: object

    def send(self, to: str | list[str] = "+12017777778", body: str = "live", **fields) -> dict:
        r = httpx.post(
            self.url + "/xms/v1/SP1/batches",
            headers=AUTH,
            json={"to": to if isinstance(to, list) else [to], "from": "12025550100", "body": body, **fields},
        )
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
    # Bind the port here and hand the socket over: picking a free port and binding it later
    # leaves a window in which a parallel test run can take it.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="on", log_level="warning", loop="asyncio", http="httptools", timeout_graceful_shutdown=10
    )
    server = Server(config)
    server.ctx = ctx
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="ui-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield Live(f"http://127.0.0.1:{port}", ctx)
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
        assert not thread.is_alive(), "the server did not stop"
