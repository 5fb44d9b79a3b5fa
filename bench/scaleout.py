"""Scale-out on PostgreSQL (issue #14, P6): the same queued load drained by one node, then by two.

    python bench/scaleout.py                                # 3 pairs, 4 plans x 50,000 messages
    python bench/scaleout.py --runs 1 --messages 5000       # a smoke run
    python bench/scaleout.py --pg postgresql://postgres@127.0.0.1:5432/
    python bench/scaleout.py --quiet 0.3 --py-spy py-spy     # wait for a quiet box; sample threads

Each run makes a fresh database on the server (dropped afterwards), queues `--plans` plans x
`--messages` messages (1000-recipient batches, plans unlimited, simulator connector) through
one `--role api` process with no engine, stops it, then starts `--nodes` `openxms serve`
processes at once (each its own port and node id; fair-share leases split the plans between
them) and times from their start until every recipient is final: msg/s end to end, start-up
and the lease hand-over included. The 1-node and 2-node drains alternate (1, 2, 1, 2, ...) on
the same box, so each pair's ratio compares runs made side by side.

The box's CPU is sampled over each drain: every node process's user + system time, the
PostgreSQL server's (every `postgres` process), and the whole machine's busy time, because
on a small box the nodes and PostgreSQL share the same cores and that, not the lease rule, is
what bounds the ratio. With `--py-spy` every node is also sampled for a window of its drain,
giving each thread's active share (a writer thread waiting for PostgreSQL is not active). All
processes listen on 127.0.0.1; counts and times are bounded.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import psycopg

from common import free_port, numbers

PG = "postgresql://postgres@127.0.0.1:5432/"


def plans(n: int) -> list[tuple[str, str]]:
    return [(f"P6PLAN{i}", f"P6TOKEN{i}") for i in range(1, n + 1)]


def with_database(url: str, name: str) -> str:
    u = urlsplit(url)
    return urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))


class FreshDatabase:
    """A database of its own for one run, dropped at the end (`WITH (FORCE)` ends any session
    a killed node left)."""

    def __init__(self, server: str) -> None:
        self.server = with_database(server, "postgres")
        self.name = f"openxms_p6_{os.getpid()}_{time.monotonic_ns() % 10**9}"
        with psycopg.connect(self.server, autocommit=True) as c:
            c.execute(f"CREATE DATABASE {self.name}")
        self.url = with_database(server, self.name)

    def drop(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


class Node:
    """One `openxms serve` process on the run's database."""

    def __init__(self, database: str, env: dict[str, str], role: str, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data = tmp / str(self.port)
        data.mkdir(parents=True)
        self.log = open(data / "server.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openxms", "serve", "--port", str(self.port), "--database", database]
            + ["--data-dir", str(data), "--role", role, "--log-level", "warning"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self.ps = psutil.Process(self.proc.pid)

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"a node exited with {self.proc.returncode}: {Path(self.log.name).read_text()[-2000:]}"
                )
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SystemExit("a node did not start")

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def dispatching(self) -> list[str]:
        return httpx.get(self.url + "/readyz", timeout=10).json()["engine"]["dispatching"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def commits(c: psycopg.Connection) -> int:
    return c.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]


def wal_lsn(c: psycopg.Connection) -> str:
    return c.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]


def wal_since(c: psycopg.Connection, lsn: str) -> int:
    """Bytes of WAL the server wrote since `lsn`: what the drain's writes cost PostgreSQL, counted
    rather than timed, so two trees compare on a noisy box (the whole server's, and nothing else
    writes during a drain but the script's progress query's hint bits)."""
    return c.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", (lsn,)).fetchone()[0]


def wal_stats(c: psycopg.Connection) -> tuple[int, int, int]:
    """(WAL records, full-page images, checkpoints) the server has counted so far. A page's first
    change after a checkpoint writes the whole page to the WAL (full_page_writes), so a drain
    that a checkpoint falls into writes more WAL and costs PostgreSQL more CPU than one that
    none does: the count tells such drains apart. PostgreSQL 17 moved the checkpoint counters
    to pg_stat_checkpointer."""
    records, fpi = c.execute("SELECT wal_records, wal_fpi FROM pg_stat_wal").fetchone()
    try:
        (checkpoints,) = c.execute("SELECT num_timed + num_requested FROM pg_stat_checkpointer").fetchone()
    except psycopg.errors.UndefinedTable:
        (checkpoints,) = c.execute("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter").fetchone()
    return int(records), int(fpi), int(checkpoints)


def processes() -> dict[tuple[int, float], tuple[str, float]]:
    """(pid, start time) -> (name, CPU seconds) of every process on the machine now."""
    out = {}
    for p in psutil.process_iter(["name", "create_time", "cpu_times"]):
        t = p.info["cpu_times"]
        if t is not None:
            out[(p.pid, p.info["create_time"])] = (p.info["name"] or "?", t.user + t.system)
    return out


def spent(before: dict, after: dict, nodes: list[Node]) -> dict[str, float]:
    """CPU seconds each kind of process used between two snapshots: the nodes, PostgreSQL (its
    backends serve the nodes for the whole drain; autovacuum workers come and go), this script
    with its py-spy samplers, and everything else by process name. `after` holds the last
    reading of every process seen during the drain (`processes()` is taken every second), so one
    that ended meanwhile counts up to its last reading; what no reading saw (processes shorter
    than a second, the kernel's own work) is in the machine's busy time only."""
    ours = {n.proc.pid for n in nodes}
    me = {os.getpid(), *(c.pid for c in psutil.Process().children(recursive=True))} - ours
    out: dict[str, float] = {}
    for key, (name, cpu) in after.items():
        used = cpu - before[key][1] if key in before else cpu
        kind = (
            "nodes"
            if key[0] in ours
            else "PostgreSQL"
            if name in ("postgres", "postmaster")
            else "bench"
            if key[0] in me
            else name
        )
        out[kind] = out.get(kind, 0.0) + used
    return out


class Profiler:
    """Every node sampled for a window of its drain (`--py-spy`), per thread: its CPU (psutil,
    over the window), the share of the window py-spy found it in Python code or in the database
    driver, and how much of that was in psycopg (sending SQL, or waiting for PostgreSQL's
    answer: py-spy counts a thread blocked inside the driver's wait as running)."""

    RATE = 100

    def __init__(self, exe: str, nodes: list[Node], seconds: float, tmp: Path) -> None:
        self.seconds = seconds
        self.nodes = nodes
        self.files = [tmp / f"node{i}.raw" for i in range(len(nodes))]
        self.procs = [
            subprocess.Popen(
                [exe, "record", "--threads", "--nonblocking", "--format", "raw", "--rate", str(self.RATE)]
                + ["--duration", str(int(seconds)), "-p", str(n.proc.pid), "-o", str(f)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for n, f in zip(nodes, self.files, strict=True)
        ]
        self.started = time.perf_counter()
        self.cpu0 = [self._threads(n) for n in nodes]
        self.cpu1: list[dict[int, float]] | None = None

    @staticmethod
    def _threads(n: Node) -> dict[int, float]:
        return {t.id: t.user_time + t.system_time for t in n.ps.threads()}

    def tick(self) -> None:
        """Called while the drain runs: the window's closing CPU snapshot, once it has passed."""
        if self.cpu1 is None and time.perf_counter() - self.started >= self.seconds:
            self.cpu1 = [self._threads(n) for n in self.nodes]

    def report(self) -> list[str]:
        out = []
        window = time.perf_counter() - self.started if self.cpu1 is None else self.seconds
        ends = self.cpu1 or [self._threads(n) for n in self.nodes]
        for i, (proc, f) in enumerate(zip(self.procs, self.files, strict=True)):
            proc.wait(60)
            threads: dict[str, list[float]] = {}  # name -> [samples, of which in psycopg, CPU s]
            for line in f.read_text().splitlines() if f.exists() else []:
                stack, _, count = line.rpartition(" ")
                m = re.match(r"thread \((\d+)\): ([^;]*)", stack)
                if m is None:
                    continue
                name = "event loop" if m[2] == "MainThread" else re.sub(r"_\d+$", "", m[2])
                t = threads.setdefault(name, [0, 0, 0.0])
                t[0] += int(count)
                t[1] += int(count) if "psycopg" in stack else 0
                tid = int(m[1])
                if t[2] == 0.0 and tid in ends[i]:
                    t[2] = ends[i][tid] - self.cpu0[i].get(tid, 0.0)
            total = self.RATE * self.seconds
            out.append(
                f"profile node {i + 1} ({self.seconds:.0f} s): "
                + "; ".join(
                    f"{name}: CPU {100 * cpu / window:.0f} %, sampled {100 * n / total:.0f} % "
                    f"({100 * pg / max(1, n):.0f} % of that in psycopg)"
                    for name, (n, pg, cpu) in sorted(threads.items(), key=lambda kv: -kv[1][0])
                    if n >= total * 0.02
                )
            )
        return out


@dataclass
class Drain:
    nodes: int
    messages: int
    seconds: float
    steady: float  # msg/s between 10 % and 90 % final
    node_cpu: float  # seconds, all nodes
    pg_cpu: float
    box_busy: float  # cores busy on average over the drain, every process on the machine
    split: list[list[str]]
    profile: list[str]
    before: float  # cores other work kept busy just before the drain
    others: list[tuple[str, float]]  # CPU seconds of the other processes, by name, most first
    first: float  # seconds from the nodes' start to the first final message (start-up, first lease passes)
    xacts: int  # transactions committed in the database over the drain (the nodes' group commits)
    wal: int  # bytes of WAL written over the drain
    wal_records: int = 0  # WAL records over the drain (the whole server's)
    fpi: int = 0  # of which full-page images
    checkpoints: int = 0  # checkpoints that started over the drain

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def background(seconds: float = 3.0) -> float:
    """Cores busy on the machine over `seconds` (nothing of this run is running then)."""
    return psutil.cpu_percent(interval=seconds) * psutil.cpu_count() / 100


def wait_quiet(cores: float, limit: float) -> float:
    """Wait (up to `limit` s) until other work on the box keeps at most `cores` busy; returns the
    last reading, so a drain that had to start on a busy box says so."""
    deadline = time.monotonic() + limit
    while True:
        busy = background()
        if busy <= cores or time.monotonic() >= deadline:
            return busy


def crossing(a: tuple[float, int], b: tuple[float, int], level: float) -> float:
    """When `done` passed `level` between two polls (time, done), by linear interpolation: polls
    are up to a second apart, and the 10 % / 90 % marks should not be off by that much."""
    (t0, d0), (t1, d1) = a, b
    return t1 if d1 == d0 else t0 + (t1 - t0) * (level - d0) / (d1 - d0)


def poll_interval(longest: float, marks: dict[float, float], now: float, done: int, left: int) -> float:
    """Seconds to the next progress query. The query counts the unfinished rows of a table of
    200,000 (a sequential scan, ~20 ms of PostgreSQL's CPU), and that CPU is taken from the
    nodes being measured: a query every 0.25 s was a third of PostgreSQL's CPU in a 1-node drain.
    So: every `longest` seconds while the end is far, faster as it nears (a quarter of the time
    left at the rate so far, at least 0.05 s), so the end is still seen within ~50 ms."""
    started = marks.get(1e-9)
    if started is None or done == 0 or now <= started:
        return min(longest, 0.25)  # start-up: the first final message's time is reported
    eta = left / (done / (now - started))
    return max(0.05, min(longest, eta / 4))


def drain(args, n_nodes: int) -> Drain:
    before = wait_quiet(args.quiet, args.quiet_wait) if args.quiet is not None else background()
    db = FreshDatabase(args.pg)
    tmp = Path(tempfile.mkdtemp(prefix="openxms-p6-"))
    accounts = plans(args.plans)
    env = {
        **os.environ,
        "OPENXMS_SERVICE_PLANS": ",".join(f"{p}:{t}:0" for p, t in accounts),
        "OPENXMS_PROJECTS": "",
    }
    total = args.plans * args.messages
    nodes: list[Node] = []
    try:
        api = Node(db.url, env, "api", tmp)
        api.wait_healthy()
        with httpx.Client(timeout=120) as c:
            for i, (plan, token) in enumerate(accounts):
                for j in range(0, args.messages, 1000):
                    r = c.post(
                        f"{api.url}/xms/v1/{plan}/batches",
                        headers={"Authorization": f"Bearer {token}"},
                        json={
                            "to": numbers(min(1000, args.messages - j), prefix=f"19{i}{j // 1000:03d}"),
                            "from": "12025550100",
                            "body": "p6",
                        },
                    )
                    r.raise_for_status()
        api.stop()
        with psycopg.connect(db.url, autocommit=True) as poll:
            assert poll.execute("SELECT count(*) FROM recipients WHERE final = 0").fetchone()[0] == total
            commits0, lsn0, stats0 = commits(poll), wal_lsn(poll), wal_stats(poll)
            procs0, box0 = processes(), psutil.cpu_times()
            t0 = time.perf_counter()
            nodes = [Node(db.url, env, "all", tmp) for _ in range(n_nodes)]
            marks: dict[float, float] = {}
            profiler: Profiler | None = None
            seen, last_seen = dict(procs0), time.perf_counter()
            before_poll = (0.0, 0)
            while True:
                if time.perf_counter() - last_seen >= 1.0:
                    seen.update(processes())
                    last_seen = time.perf_counter()
                if args.py_spy and profiler is None and time.perf_counter() - t0 >= args.profile_at:
                    profiler = Profiler(args.py_spy, nodes, args.profile_s, tmp)
                if profiler is not None:
                    profiler.tick()
                left = poll.execute("SELECT count(*) FROM recipients WHERE final = 0").fetchone()[0]
                now = time.perf_counter() - t0
                done = total - left
                for frac in (1e-9, 0.1, 0.9):
                    if frac not in marks and done >= frac * total:
                        marks[frac] = crossing(before_poll, (now, done), frac * total)
                before_poll = (now, done)
                if left == 0:
                    break
                if now > args.limit:
                    raise SystemExit(f"{n_nodes} node(s): {left} messages still not final after {args.limit:.0f} s")
                for node in nodes:
                    if node.proc.poll() is not None:
                        raise SystemExit(f"a node exited: {Path(node.log.name).read_text()[-2000:]}")
                time.sleep(poll_interval(args.poll, marks, now, done, left))
            seconds = time.perf_counter() - t0
            seen.update(processes())
            by_kind = spent(procs0, seen, nodes)
            node_cpu, pg_cpu = by_kind.pop("nodes", 0.0), by_kind.pop("PostgreSQL", 0.0)
            box1 = psutil.cpu_times()
            busy = (sum(box1) - box1.idle - box1.iowait) - (sum(box0) - box0.idle - box0.iowait)
            others = sorted(by_kind.items(), key=lambda kv: -kv[1])
            delivered = poll.execute("SELECT count(*) FROM recipients WHERE status = 'Delivered'").fetchone()[0]
            if delivered != total:
                raise SystemExit(f"{n_nodes} node(s): {delivered} of {total} delivered")
            split = [n.dispatching() for n in nodes]
            for node in nodes:  # their backends end, which flushes their statistics
                node.stop()
            time.sleep(1.0)
            xacts, wal = commits(poll) - commits0, int(wal_since(poll, lsn0))
            records, fpi, checkpoints = (b - a for a, b in zip(stats0, wal_stats(poll), strict=True))
        steady = 0.8 * total / max(1e-9, marks[0.9] - marks[0.1])
        first = marks[1e-9]
        profile = profiler.report() if profiler is not None else []
        return Drain(
            n_nodes,
            total,
            seconds,
            steady,
            node_cpu,
            pg_cpu,
            busy / seconds,
            split,
            profile,
            before,
            others,
            first,
            xacts,
            wal,
            records,
            fpi,
            checkpoints,
        )
    finally:
        for node in nodes:
            node.stop()
        db.drop()


def show(d: Drain) -> str:
    return (
        f"{d.nodes} node(s): {d.messages:,} messages in {d.seconds:.1f} s = {d.rate:,.0f} msg/s end to end "
        f"(steady {d.steady:,.0f}; first final after {d.first:.1f} s); "
        f"CPU: nodes {d.node_cpu:.1f} s, PostgreSQL {d.pg_cpu:.1f} s, "
        f"other processes {sum(cpu for _, cpu in d.others):.1f} s ("
        + ", ".join(f"{name} {cpu:.1f}" for name, cpu in d.others[:4] if cpu >= 0.1)
        + f"), unseen (kernel, short processes) "
        f"{d.box_busy * d.seconds - d.node_cpu - d.pg_cpu - sum(cpu for _, cpu in d.others):.1f} s, "
        f"box {d.box_busy:.2f} of "
        f"{psutil.cpu_count()} cores busy; {1e6 * (d.node_cpu + d.pg_cpu) / d.messages:.0f} us CPU a message "
        f"(nodes + PostgreSQL); {d.xacts:,} transactions ({1000 * d.xacts / d.messages:.0f} per 1000 messages); "
        f"WAL {d.wal / 1e6:,.0f} MB ({d.wal / d.messages:,.0f} bytes, {d.wal_records / d.messages:.1f} records, "
        f"{d.fpi / d.messages:.2f} full-page images a message; {d.checkpoints} checkpoint(s) began); "
        f"plans per node {[len(s) for s in d.split]}; box busy before {d.before:.2f} cores"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="pairs of drains (1 node, then 2)")
    ap.add_argument("--plans", type=int, default=4)
    ap.add_argument("--messages", type=int, default=50_000, help="per plan")
    ap.add_argument("--nodes", type=int, default=2, help="the scaled-out case (against 1 node)")
    ap.add_argument("--pg", default=PG, help="PostgreSQL server; each run makes (and drops) its own database")
    ap.add_argument("--poll", type=float, default=1.0, help="seconds between progress queries at most")
    ap.add_argument("--limit", type=float, default=600, help="seconds a drain may take")
    ap.add_argument(
        "--quiet", type=float, help="before each drain wait until other work keeps at most this many cores busy"
    )
    ap.add_argument("--quiet-wait", type=float, default=300, help="seconds to wait for --quiet at most")
    ap.add_argument("--py-spy", help="py-spy executable: sample every node during its drain (thread activity)")
    ap.add_argument("--profile-at", type=float, default=3.0, help="seconds into the drain the sampling starts")
    ap.add_argument("--profile-s", type=float, default=6.0, help="seconds sampled")
    args = ap.parse_args()
    one: list[Drain] = []
    many: list[Drain] = []
    for i in range(args.runs):
        for n, out in ((1, one), (args.nodes, many)):
            d = drain(args, n)
            out.append(d)
            print(f"run {i + 1}/{args.runs}: {show(d)}", flush=True)
            for line in d.profile:
                print(f"run {i + 1}/{args.runs}: {n} node(s): {line}", flush=True)
        print(f"run {i + 1}/{args.runs}: ratio {many[-1].rate / one[-1].rate:.2f}", flush=True)
    ratios = [m.rate / o.rate for o, m in zip(one, many, strict=True)]
    for label, runs in (("1 node", one), (f"{args.nodes} nodes", many)):
        print(
            f"scale-out {label}: {statistics.median(d.rate for d in runs):,.0f} msg/s "
            f"(steady {statistics.median(d.steady for d in runs):,.0f}; "
            f"node CPU {statistics.median(d.node_cpu for d in runs):.1f} s, "
            f"PostgreSQL CPU {statistics.median(d.pg_cpu for d in runs):.1f} s, "
            f"box {statistics.median(d.box_busy for d in runs):.2f} cores busy)"
        )
    medians = statistics.median(d.rate for d in many) / statistics.median(d.rate for d in one)
    print(f"scale-out ratio of the medians: {medians:.2f}")
    print(
        f"scale-out ratio {args.nodes} nodes / 1: {statistics.median(ratios):.2f} (pairs: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + ")"
    )


if __name__ == "__main__":
    main()
