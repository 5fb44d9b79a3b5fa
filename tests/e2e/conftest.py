"""End-to-end: the real `openxms serve` process, driven over HTTP and by the Sinch Python SDK."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

PLAN, TOKEN = "SP1", "TOKEN1"
PROJECT, KEY_ID, KEY_SECRET = "PROJ1", "KEYID1", "SECRET1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    args: list[str]
    env: dict[str, str]
    log_path: str
    extra: dict = field(default_factory=dict)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def kill(self, sig=signal.SIGKILL) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)

    def restart(self) -> Server:
        return start(self.args, self.env, self.log_path)


def start(args: list[str], env: dict[str, str], log_path: str, timeout: float = 30.0) -> Server:
    port = args[args.index("--port") + 1]
    url = f"http://127.0.0.1:{port}"
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "openxms", "serve", *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{open(log_path).read()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return Server(url, proc, args, env, log_path)
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server did not start:\n{open(log_path).read()}")


def launch(
    database_url: str, tmp_path, *extra: str, env: dict[str, str] | None = None, port: int | None = None
) -> Server:
    args = [
        "--port",
        str(port or free_port()),
        "--database",
        database_url,
        "--data-dir",
        str(tmp_path / "data"),
        "--log-level",
        "warning",
        *extra,
    ]
    full_env = {
        **os.environ,
        "OPENXMS_SERVICE_PLANS": f"{PLAN}:{TOKEN}:0",
        "OPENXMS_PROJECTS": f"{PROJECT}:{KEY_ID}:{KEY_SECRET}",
        **(env or {}),
    }
    return start(args, full_env, str(tmp_path / "server.log"))


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


@pytest.fixture
def server(database_url, tmp_path):
    s = launch(database_url, tmp_path)
    yield s
    stop(s)


@pytest.fixture
def manual_server(database_url, tmp_path):
    s = launch(database_url, tmp_path, "--clock", "manual")
    yield s
    stop(s)


def plan_client(server: Server):
    from sinch import SinchClient

    client = SinchClient(service_plan_id=PLAN, sms_api_token=TOKEN)
    client.configuration.sms_origin_with_service_plan_id = server.url
    return client


def project_client(server: Server):
    from sinch import SinchClient

    client = SinchClient(project_id=PROJECT, key_id=KEY_ID, key_secret=KEY_SECRET)
    client.configuration.auth_origin = server.url
    client.configuration.sms_origin = server.url
    return client


@pytest.fixture(params=["service_plan", "project"])
def sdk(request, server):
    """The Sinch Python SDK pointed at the server, in both auth modes."""
    return (plan_client if request.param == "service_plan" else project_client)(server)


@pytest.fixture(scope="session")
def sinch_v1(tmp_path_factory):
    """A venv with the previous major of the Python SDK (sinch 1.1.4), for the tests that
    check what it sends."""
    venv = tmp_path_factory.mktemp("sinch-v1") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    r = subprocess.run([str(venv / "bin/pip"), "install", "-q", "sinch==1.1.4"], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"could not install sinch 1.1.4 from PyPI: {r.stderr[-500:]}")
    return venv / "bin/python"


STATUSES = "SELECT status, count(*) FROM recipients GROUP BY status"


def sqlite_rows(db, sql: str, done, timeout: float = 60.0) -> list[tuple[Any, ...]]:
    """`sql`'s rows read from the SQLite file `db` until `done(rows)` or `timeout` seconds:
    what the processes sharing the file have written by then."""
    import sqlite3

    deadline = time.monotonic() + timeout
    while True:
        conn = sqlite3.connect(db, timeout=30)
        try:
            rows = conn.execute(sql).fetchall()
        finally:
            conn.close()
        if done(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)
