"""POST /batches throughput: requests/s and latency at 64 connections, with wrk.

Starts `openxms serve` on a fresh SQLite (or the PostgreSQL given with --database) in a
temporary directory, warms up, runs wrk, prints one line per case, stops the server.
Every 201 means the batch and its recipient rows were committed (group commit, WAL).

    python bench/http_send.py                       # 1 and 1000 recipients, engine on and off
    python bench/http_send.py --recipients 1 --role api --duration 10
    python bench/http_send.py --kannel              # also Kannel's sendsms, same machine, same run

Bounded: each case runs `--duration` seconds (default 10) after a 3 s warm-up; loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from common import Kannel, free_port

PLAN, TOKEN = "BENCH", "BENCHTOKEN"
LUA = """
wrk.method = "POST"
wrk.body = [[%s]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
"""


def body(n: int) -> str:
    return json.dumps({"to": [f"+1201{i:07d}" for i in range(n)], "from": "12025550100", "body": "Benchmark message"})


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) of a process so far."""
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def run_wrk(url: str, lua: Path, duration: int, connections: int, pid: int | None = None) -> dict:
    """wrk after a 3 s warm-up. With `pid` (the server's), also `cpu_us`: the server's CPU per
    request over the measured run, which other load on the box changes far less than req/s."""
    subprocess.run(["wrk", "-t1", f"-c{connections}", "-d3s", "-s", str(lua), url], capture_output=True, check=True)
    cpu = process_cpu(pid) if pid is not None else 0.0
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(lua), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r = {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "errors": int(non2xx.group(1)) if non2xx else 0}
    if pid is not None:
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        r["cpu_us"] = (process_cpu(pid) - cpu) * 1e6 / max(requests, 1)
    return r


def start_openxms(
    tmp: Path, database: str | None, role: str, rate: int, port: int | None = None, *extra: str
) -> tuple[subprocess.Popen, str]:
    port = port or free_port()
    env = {**os.environ, "OPENXMS_SERVICE_PLANS": f"{PLAN}:{TOKEN}:{rate}"}
    args = [
        sys.executable,
        "-m",
        "openxms",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(tmp),
        "--role",
        role,
        "--log-level",
        "warning",
        *extra,
    ]
    if database:
        args += ["--database", database]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return proc, url


def bench_openxms(args, n: int, role: str) -> dict:
    """One case. `split`: an `--role api` process and an `--role engine` process on the same
    database (SQLite: the same file), the API measured; `split2`: the same with two API
    processes sharing the port (`--reuse-port`); `api2`: those two API processes and no engine
    (on PostgreSQL each has a writer connection of its own); `all`: API and engine in one process."""
    tmp = Path(tempfile.mkdtemp(prefix="openxms-bench-"))
    database = args.database
    if database and database.startswith("postgres"):
        from common import fresh_pg_schema

        database = fresh_pg_schema(database)
    procs = []
    try:
        if role.startswith("split") or role == "api2":
            apis = 1 if role == "split" else 2
            port = free_port()
            for _ in range(apis):
                proc, url = start_openxms(tmp, database, "api", args.rate, port, *["--reuse-port"] * (apis > 1))
                procs.append(proc)
            if role != "api2":
                procs.append(start_openxms(tmp, database, "engine", args.rate)[0])
        else:
            proc, url = start_openxms(tmp, database, role, args.rate)
            procs.append(proc)
        lua = tmp / "post.lua"
        lua.write_text(LUA % (body(n), TOKEN))
        res = run_wrk(f"{url}/xms/v1/{PLAN}/batches", lua, args.duration, args.connections)
        res["queued"] = queued(tmp, database) if role not in ("api", "api2") else None
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    res["recipients_per_s"] = res["rps"] * n
    return res


def queued(tmp: Path, database: str | None) -> tuple[int, int]:
    """(recipients still Queued, all recipients) when the load stops: whether the engine kept up."""
    sql = "SELECT count(*) FILTER (WHERE status = 'Queued'), count(*) FROM recipients"
    if database:
        import psycopg

        with psycopg.connect(database) as conn:
            return conn.execute(sql).fetchone()
    import sqlite3

    conn = sqlite3.connect(tmp / "openxms.sqlite3", timeout=30)
    try:
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


def bench_kannel(args, store: bool = False) -> dict:
    """Kannel's `/cgi-bin/sendsms` GET with one recipient. Its SMSC is never reachable, so
    messages stay queued (in memory, or with `store` also in its store file): what is measured
    is HTTP acceptance, as for --role api."""
    k = Kannel(f"group = smsc\nsmsc = fake\nsmsc-id = fake\nhost = 127.0.0.1\nport = {free_port()}\n", store=store)
    tmp = Path(tempfile.mkdtemp(prefix="kannel-wrk-"))
    try:
        lua = tmp / "get.lua"
        lua.write_text('wrk.method = "GET"\n')
        url = f"{k.sendsms_url}?username=bench&password=bench&from=12025550100&to=12010000001&text=Benchmark+message"
        res = run_wrk(url, lua, args.duration, args.connections)
    finally:
        k.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    res["recipients_per_s"] = res["rps"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipients", type=int, action="append", help="recipients per batch (repeatable)")
    ap.add_argument(
        "--role",
        action="append",
        choices=["all", "api", "api2", "split", "split2"],
        help="all: engine dispatching too; api2: two API processes on one port (--reuse-port), no "
        "engine; split: the engine in a process of its own; split2: and two API processes on one port",
    )
    ap.add_argument("--database", help="postgresql://... (default: SQLite in a temp dir)")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rate", type=int, default=0, help="plan rate msg/s (0 = unlimited)")
    ap.add_argument("--kannel", action="store_true", help="also measure Kannel's sendsms in the same run")
    ap.add_argument("--kannel-store", action="store_true", help="and Kannel with its file store (durable mode)")
    args = ap.parse_args()
    print(f"{'case':<44} {'req/s':>9} {'recip/s':>10} {'p50':>8} {'p99':>8} {'non-2xx':>7}  queued at the end")
    for n in args.recipients or [1, 1000]:
        for role in args.role or ["all", "api"]:
            r = bench_openxms(args, n, role)
            name = f"openxms {'sqlite' if not args.database else 'postgresql'} role={role} to={n}"
            q = f"  {r['queued'][0]} of {r['queued'][1]}" if r["queued"] else ""
            print(
                f"{name:<44} {r['rps']:>9.0f} {r['recipients_per_s']:>10.0f} {r['p50']:>8} {r['p99']:>8} "
                f"{r['errors']:>7}{q}",
                flush=True,
            )
    for store in [False] * args.kannel + [True] * args.kannel_store:
        r = bench_kannel(args, store=store)
        name = "kannel 1.4.5 sendsms to=1" + (" store=file" if store else "")
        print(
            f"{name:<44} {r['rps']:>9.0f} {r['recipients_per_s']:>10.0f} {r['p50']:>8} {r['p99']:>8} {r['errors']:>7}",
            flush=True,
        )


if __name__ == "__main__":
    main()
