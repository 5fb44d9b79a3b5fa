"""Helpers shared by the benchmark scripts: start/stop an `openxms serve` process, query its DB."""

from __future__ import annotations

import atexit
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

PLAN, TOKEN = "BENCH", "BENCHTOKEN"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An openxms process on a fresh database (SQLite in a temp dir, or a fresh PG schema)."""

    def __init__(
        self,
        rate: float = 0,
        database: str | None = None,
        role: str = "all",
        config: str | None = None,
        plans: str | None = None,
        data_dir: str | None = None,
        setup: Callable[[str], None] | None = None,
    ) -> None:
        self.tmp = Path(data_dir or tempfile.mkdtemp(prefix="openxms-bench-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = database or f"sqlite:///{self.tmp / 'bench.sqlite3'}"
        if database and database.startswith("postgresql") and "options=" not in database:
            self.database = fresh_pg_schema(database)
        self.env = {**os.environ, "OPENXMS_SERVICE_PLANS": plans if plans is not None else f"{PLAN}:{TOKEN}:{rate}"}
        self.args = [
            sys.executable,
            "-m",
            "openxms",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.tmp),
            "--database",
            self.database,
            "--log-level",
            "warning",
        ]
        if config:
            self.args += ["--config", config]
        self.proc: subprocess.Popen | None = None
        self.drain_cpu = 0.0
        if setup is not None:  # e.g. rows the server has no API for yet, written before it starts
            setup(self.database)
        self.start(role)

    def start(self, role: str = "all") -> None:
        self.proc = subprocess.Popen(
            self.args + ["--role", role],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "server.log", "ab"),
        )
        for _ in range(400):
            try:
                httpx.get(self.url + "/health", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start: " + (self.tmp / "server.log").read_text())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def scalar(self, sql: str):
        if self.database.startswith("sqlite"):
            with sqlite3.connect(self.database.replace("sqlite:///", ""), timeout=30) as c:
                return c.execute(sql).fetchone()[0]
        import psycopg

        with psycopg.connect(self.database) as c:
            return c.execute(sql).fetchone()[0]

    def rows(self, sql: str) -> list[tuple]:
        if self.database.startswith("sqlite"):
            with sqlite3.connect(self.database.replace("sqlite:///", ""), timeout=30) as c:
                return c.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.database) as c:
            return c.execute(sql).fetchall()

    def send(self, client: httpx.Client, to: list[str], **fields) -> dict:
        r = client.post(
            f"{self.url}/xms/v1/{PLAN}/batches",
            headers=AUTH,
            json={"to": to, "from": "12025550100", "body": "bench", **fields},
        )
        r.raise_for_status()
        return r.json()


def fresh_pg_schema(url: str) -> str:
    """A new schema for one benchmark run (dropped when the script exits)."""
    import psycopg

    schema = f"bench_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    atexit.register(_drop_schema, url, schema)
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def _drop_schema(url: str, schema: str) -> None:
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")
    except psycopg.Error as e:  # the server may be gone; say so rather than fail the run
        print(f"could not drop benchmark schema {schema}: {e}", file=sys.stderr)


def queue_then_drain(s: Server, messages: int, prefix: str = "16", limit_s: float = 600, **fields) -> float:
    """Queue `messages` (1000 per batch) with `s` serving the API only, then restart it with
    the engine and return the seconds until every recipient is final (start-up included).
    `s.drain_cpu` is then the server's CPU seconds (user + system) over the drain: less noisy
    than the wall time on a shared box, and comparable between two trees."""
    with httpx.Client(timeout=120) as c:
        for i in range(0, messages, 1000):
            s.send(c, numbers(1000, prefix=f"{prefix}{i // 1000:03d}"), **fields)
    s.stop()
    t = time.perf_counter()
    s.start("all")
    while s.scalar("SELECT count(*) FROM recipients WHERE final = 0") > 0:
        time.sleep(0.05)
        if time.perf_counter() - t > limit_s:
            raise SystemExit(f"did not finish within {limit_s:.0f} s")
    cpu = psutil.Process(s.proc.pid).cpu_times()
    s.drain_cpu = cpu.user + cpu.system
    return time.perf_counter() - t


def numbers(n: int, prefix: str = "1301") -> list[str]:
    """n distinct numbers ending in 8 (never a simulator magic number)."""
    width = 10 - len(prefix)
    return [f"+{prefix}{i:0{width}d}8" for i in range(n)]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


KANNEL_CORE = """
group = core
admin-port = {admin}
admin-password = bench
smsbox-port = {smsbox}
log-level = 4
box-allow-ip = 127.0.0.1
sms-incoming-queue-limit = -1
sms-outgoing-queue-limit = -1
{core_extra}

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {sendsms}
log-level = 4

group = sendsms-user
username = bench
password = bench
"""


class Kannel:
    """Kannel 1.4.5 from Debian: bearerbox + smsbox with one `group = smsc` (bearerbox will not
    run without one). `sendsms_url` takes /cgi-bin/sendsms requests."""

    def __init__(self, smsc_group: str, store: bool = False) -> None:
        admin, smsbox, sendsms = free_port(), free_port(), free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="kannel-bench-"))
        conf = self.tmp / "kannel.conf"
        # store = True: Kannel's durable mode, every message written to its store file before
        # sendsms answers (https://www.kannel.org/download/1.4.5/userguide-1.4.5/userguide.html,
        # "store-type" and "store-location" of the core group)
        extra = f"store-type = file\nstore-location = {self.tmp / 'kannel.store'}" if store else ""
        conf.write_text(
            KANNEL_CORE.format(admin=admin, smsbox=smsbox, sendsms=sendsms, core_extra=extra) + "\n" + smsc_group
        )
        self.procs = [subprocess.Popen(["bearerbox", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        wait_port(smsbox)  # bearerbox opens the box port once its start-up is done (~3 s)
        self.procs.append(subprocess.Popen(["smsbox", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(sendsms)
        self.sendsms_url = f"http://127.0.0.1:{sendsms}/cgi-bin/sendsms"

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
