"""Delivery-engine benchmarks (simulator connector). Each case prints one line.

    python bench/engine.py rate [--rates 10,100,1000] [--seconds 60]   # rate-limit accuracy
    python bench/engine.py lateness [--batches 200]                    # send_at lateness p50/p99
    python bench/engine.py callback [--sends 200]                      # POST -> Delivered callback, idle
    python bench/engine.py throughput [--messages 100000] [--database postgresql://...]
    python bench/engine.py rss [--recipients 1000000]                  # memory with a big queue

All bounded in count and time, loopback only; every server is a fresh `openxms serve` process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import psutil

from common import Server, numbers, pct, queue_then_drain


def rate(args) -> None:
    """Messages dispatched per second, counted at the handsets, vs the plan's configured rate."""
    for r in [float(x) for x in args.rates.split(",")]:
        s = Server(rate=r, database=args.database)
        try:
            total = int(r * (args.seconds + 15))
            with httpx.Client(timeout=60) as c:
                for i in range(0, total, 1000):
                    s.send(c, numbers(min(1000, total - i), prefix=f"13{i // 1000:02d}"))
            warm = 5.0
            time.sleep(warm)
            t0 = int(time.time() * 1000)
            time.sleep(args.seconds)
            t1 = int(time.time() * 1000)
            n = s.scalar(f"SELECT count(*) FROM sim_messages WHERE received_at >= {t0} AND received_at < {t1}")
            got = n / ((t1 - t0) / 1000)
            print(
                f"rate {r:>7.0f} msg/s over {args.seconds} s: measured {got:9.2f} msg/s  "
                f"error {100 * (got - r) / r:+.2f}%",
                flush=True,
            )
        finally:
            s.stop()


def lateness(args) -> None:
    """How late a scheduled batch enters the queue (expanded) and reaches the handset."""
    s = Server(rate=0, database=args.database)
    try:
        from openxms.sms import dates

        base = int(time.time() * 1000) + 3000
        ids = {}
        with httpx.Client(timeout=60) as c:
            for i in range(args.batches):
                due = base + i * 20
                b = s.send(c, numbers(1, prefix=f"14{i:04d}"), send_at=dates.format(due))
                ids[b["id"]] = due
        time.sleep((base + args.batches * 20 - time.time() * 1000) / 1000 + 2)
        rows = s.rows(
            "SELECT b.id, min(r.created_at), min(m.received_at) FROM batches b JOIN recipients r ON "
            "r.batch_id = b.id JOIN sim_messages m ON m.recipient_id = r.id GROUP BY b.id"
        )
        queued = [r[1] - ids[r[0]] for r in rows]
        handset = [r[2] - ids[r[0]] for r in rows]
        print(
            f"send_at lateness ({len(rows)} batches): queued p50 {pct(queued, 50):.0f} ms p99 {pct(queued, 99):.0f} "
            f"ms max {max(queued)} ms; at handset p50 {pct(handset, 50):.0f} ms p99 {pct(handset, 99):.0f} ms"
        )
    finally:
        s.stop()


def callback(args) -> None:
    """Time from POST /batches to the Delivered recipient callback arriving, one at a time."""
    arrivals: dict[str, float] = {}
    cond = threading.Condition()

    class H(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            with cond:
                if body.get("status") == "Delivered":
                    arrivals[body["batch_id"]] = time.perf_counter()
                    cond.notify_all()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    rx = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=rx.serve_forever, daemon=True).start()
    s = Server(rate=0, database=args.database)
    lat = []
    try:
        with httpx.Client(timeout=30) as c:
            for i in range(args.sends):
                t = time.perf_counter()
                b = s.send(
                    c,
                    numbers(1, prefix=f"15{i:04d}"),
                    delivery_report="per_recipient_final",
                    callback_url=f"http://127.0.0.1:{rx.server_address[1]}/cb",
                )
                with cond:
                    cond.wait_for(lambda: b["id"] in arrivals, 10)
                lat.append((arrivals[b["id"]] - t) * 1000)
        print(
            f"POST -> Delivered callback ({args.sends} sends, idle): p50 {statistics.median(lat):.1f} ms "
            f"p99 {pct(lat, 99):.1f} ms",
            flush=True,
        )
    finally:
        s.stop()
        rx.shutdown()


def throughput(args) -> None:
    """Queue N messages with the engine off, then time the engine draining them to Delivered."""
    s = Server(rate=0, database=args.database, role="api")
    try:
        dt = queue_then_drain(s, args.messages)
        kind = "postgresql" if s.database.startswith("postgresql") else "sqlite"
        print(
            f"dispatch throughput {kind}: {args.messages} messages queued -> Delivered in {dt:.1f} s = "
            f"{args.messages / dt:,.0f} msg/s (including start-up); server CPU {s.drain_cpu:.2f} s = "
            f"{s.drain_cpu / args.messages * 1e6:.1f} us a message",
            flush=True,
        )
    finally:
        s.stop()


def rss(args) -> None:
    """Server memory while a million recipients sit in the queue (plan rate 1 msg/s)."""
    s = Server(rate=1, database=args.database)
    proc = psutil.Process(s.proc.pid)
    samples = []
    try:
        with httpx.Client(timeout=120) as c:
            for i in range(0, args.recipients, 1000):
                s.send(c, numbers(1000, prefix=f"17{i // 1000:04d}"))
                if i % 100_000 == 0:
                    samples.append((i, proc.memory_info().rss / 2**20))
        for _ in range(10):
            time.sleep(1)
            samples.append((args.recipients, proc.memory_info().rss / 2**20))
        queued = s.scalar("SELECT count(*) FROM recipients WHERE status = 'Queued'")
        print(
            f"RSS with {queued:,} recipients queued: "
            + ", ".join(f"{n // 1000}k:{m:.0f}MB" for n, m in samples[::2])
            + f"; peak {max(m for _, m in samples):.0f} MB, last {samples[-1][1]:.0f} MB",
            flush=True,
        )
    finally:
        s.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=["rate", "lateness", "callback", "throughput", "rss"])
    ap.add_argument("--database", help="postgresql://... (a fresh schema is made); default SQLite")
    ap.add_argument("--rates", default="10,100,1000")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--sends", type=int, default=200)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--recipients", type=int, default=1_000_000)
    args = ap.parse_args()
    globals()[args.case](args)


if __name__ == "__main__":
    main()
