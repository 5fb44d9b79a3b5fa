"""The reliability sweep: one fault per case, counted. Results and how to read them: docs/reliability.md.

    python bench/faults.py kill9 [--messages 100000] [--database postgresql://...]
    python bench/faults.py smsc-restart [--messages 20000] [--receipt-wait 20] [--database ...]
    python bench/faults.py receiver-down [--callbacks 1000] [--down 3600] [--database ...]
    python bench/faults.py slowloris [--connections 500] [--seconds 30]
    python bench/faults.py keepalive [--connections 3000] [--seconds 30]
    python bench/faults.py bighead [--megabytes 200]
    python bench/faults.py schemathesis [--examples 50] [--database ...]

Every case starts its own processes on 127.0.0.1 (an `openxms serve`, and the SMSC or a
callback receiver where the case needs one), stops them by PID at the end, and works on a
fresh database: SQLite in a temp dir, or a new schema in the PostgreSQL given with --database,
dropped at exit. Each ends with one line of figures (`lost / duplicated / stuck / wrong` where
they apply) and exits non-zero when a figure is not what the docs promise.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from common import Server, free_port, numbers


def wait_until(what: str, cond, cap: float, every: float = 0.1):
    deadline = time.monotonic() + cap
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {cap:.0f} s: {what}")
        time.sleep(every)


def verdict(ok: bool, line: str) -> None:
    print(("PASS " if ok else "FAIL ") + line, flush=True)
    if not ok:
        raise SystemExit(1)


# kill -9 mid-dispatch ---------------------------------------------------------------------


def kill9(args) -> None:
    """Queue N messages (1000 per batch), SIGKILL the server once a third reached the handsets,
    restart it on the same database, wait until every recipient is final, count."""
    n = args.messages
    s = Server(rate=args.rate, database=args.database)
    kind = "postgresql" if s.database.startswith("postgresql") else "sqlite"
    try:
        with httpx.Client(timeout=120) as c:
            for i in range(0, n, 1000):
                s.send(c, numbers(min(1000, n - i), prefix=f"16{i // 1000:03d}"), delivery_report="none")
        wait_until("a third delivered", lambda: s.scalar("SELECT count(*) FROM sim_messages") >= n // 3, 300, 0.02)
        s.proc.kill()  # SIGKILL: no shutdown code runs
        s.proc.wait(30)
        at_kill = s.scalar("SELECT count(*) FROM sim_messages")
        claimed = s.scalar("SELECT count(*) FROM recipients WHERE status = 'Queued' AND claimed_by IS NOT NULL")
        inflight = s.scalar("SELECT count(*) FROM recipients WHERE status = 'Dispatched'")
        t = time.perf_counter()
        s.start("all")
        wait_until(
            "every recipient final", lambda: s.scalar("SELECT count(*) FROM recipients WHERE final = 0") == 0, 600, 0.2
        )
        took = time.perf_counter() - t
        rows = s.scalar("SELECT count(*) FROM recipients")
        unsent = s.scalar(
            "SELECT count(*) FROM recipients r WHERE NOT EXISTS "
            "(SELECT 1 FROM sim_messages m WHERE m.recipient_id = r.id)"
        )
        copies = s.scalar("SELECT count(*) FROM sim_messages")
        dup = copies - s.scalar("SELECT count(DISTINCT msisdn) FROM sim_messages")
        stuck = s.scalar("SELECT count(*) FROM recipients WHERE final = 0")
        wrong = s.scalar("SELECT count(*) FROM recipients WHERE NOT (status = 'Delivered' AND code = 0)") + s.scalar(
            "SELECT count(*) FROM sim_messages m JOIN recipients r ON r.id = m.recipient_id WHERE r.msisdn <> m.msisdn"
        )
        again = s.scalar("SELECT count(*) FROM recipients WHERE attempts > 1")
    finally:
        s.stop()
    lost = (n - rows) + unsent
    verdict(
        lost == dup == stuck == wrong == 0,
        f"kill9 {kind}: {n} messages, killed with {at_kill} at the handsets ({claimed} claimed with no status "
        f"recorded yet, {inflight} Dispatched awaiting receipt); after restart all final in {took:.1f} s, "
        f"{again} claimed again; lost {lost} / duplicated {dup} / stuck {stuck} / wrong {wrong}",
    )


# callbacks to a receiver that is down ------------------------------------------------------


class Receiver:
    """Records every callback POST with the engine time it arrived at (the bench moves the clock)."""

    def __init__(self, port: int) -> None:
        self.got: list[tuple[int, dict]] = []
        self.clock_ms = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                outer.got.append((outer.clock_ms, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", port), H)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def receiver_down(args) -> None:
    """Callbacks to a URL where nothing listens for `--down` s of engine time (manual clock), then a
    receiver: every retry must come when the schedule says (5 s after the first failure, then 10,
    20, ... doubling), nothing before, and every callback must arrive exactly once."""
    port = free_port()  # nothing listens here until the receiver starts
    url = f"http://127.0.0.1:{port}/cb"
    s = Server(rate=0, database=args.database)
    s.stop()
    s.args += ["--clock", "manual"]
    s.start("all")
    rx = None
    per_batch = 100
    batches = max(1, args.callbacks // per_batch)
    try:
        c = httpx.Client(timeout=60)

        def clock(**body) -> int:
            r = c.post(f"{s.url}/clock/advance", json=body)
            r.raise_for_status()
            return r.json()["now_ms"]

        t0 = clock(ms=0)
        for i in range(batches):  # per recipient (final status only), and one summary per batch
            s.send(c, numbers(per_batch, prefix=f"20{i:03d}"), delivery_report="per_recipient_final", callback_url=url)
            s.send(c, numbers(3, prefix=f"21{i:03d}"), delivery_report="summary", callback_url=url)
        total = batches * (per_batch + 1)
        wait_until(
            "every callback written to the outbox", lambda: s.scalar("SELECT count(*) FROM outbox") == total, 120
        )
        wait_until("first attempts made", lambda: s.scalar("SELECT min(attempts) FROM outbox") == 1, 120)
        verdict(
            s.scalar(f"SELECT count(*) FROM outbox WHERE first_failure_at <> {t0}") == 0,
            f"receiver-down: {total} callbacks, first attempt failed at engine time t0",
        )
        early = late = 0
        k = 1
        while True:  # each retry of the schedule, checked just before and at its due time
            due = t0 + 5000 * 2 ** (k - 1)
            up = rx is None and due > t0 + args.down * 1000
            if up:
                clock(to=_iso(t0 + args.down * 1000))
                rx = Receiver(port)
                rx.clock_ms = t0 + args.down * 1000
            rx_clock = clock(to=_iso(due - 1000))
            if rx is not None:
                rx.clock_ms = rx_clock
            time.sleep(args.settle)
            early += s.scalar(f"SELECT count(*) FROM outbox WHERE attempts > {k}") + (len(rx.got) if rx else 0)
            rx_clock = clock(to=_iso(due))
            if rx is not None:
                rx.clock_ms = rx_clock
            if rx is not None:
                try:
                    wait_until(
                        "every callback delivered",
                        lambda: (
                            s.scalar("SELECT count(*) FROM outbox WHERE state = 'done'") == total
                            and len(rx.got) >= total
                        ),
                        120,
                    )
                except SystemExit:
                    print(
                        "outbox (state, attempts, rows):",
                        s.rows("SELECT state, attempts, count(*) FROM outbox GROUP BY state, attempts"),
                        f"received {len(rx.got)}",
                        file=sys.stderr,
                    )
                    raise
                break
            wait_until(f"retry {k} made", lambda: s.scalar("SELECT min(attempts) FROM outbox") == k + 1, 120)
            late += s.scalar("SELECT count(*) FROM outbox WHERE state <> 'pending'")
            k += 1
        time.sleep(args.settle)  # any duplicate would land now
        keys = [(b.get("type"), b.get("batch_id"), b.get("recipient")) for _, b in rx.got]
        dup = len(keys) - len(set(keys))
        lost = total - len(set(keys))
        wrong = sum(
            1 for _, b in rx.got if b.get("type") == "recipient_delivery_report_sms" and b.get("status") != "Delivered"
        )
        attempts = s.scalar("SELECT min(attempts) FROM outbox"), s.scalar("SELECT max(attempts) FROM outbox")
        before_due = sum(1 for at, _ in rx.got if at < t0 + 5000 * 2 ** (k - 1))
        c.close()
    finally:
        s.stop()
        if rx is not None:
            rx.stop()
    kind = "postgresql" if s.database.startswith("postgresql") else "sqlite"
    verdict(
        lost == dup == wrong == early == late == before_due == 0,
        f"receiver-down {kind}: {total} callbacks, receiver down {args.down} s of engine time; retries 1-{k - 1} "
        f"each at its due time (none early: {early}, none missed: {late}); delivered at retry {k} = "
        f"t0 + {5 * 2 ** (k - 1)} s, {attempts[0]}-{attempts[1]} attempts each; "
        f"lost {lost} / duplicated {dup} / early {before_due} / wrong {wrong}",
    )


def _iso(ms: int) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "case", choices=["kill9", "smsc-restart", "receiver-down", "slowloris", "keepalive", "bighead", "schemathesis"]
    )
    ap.add_argument("--database", help="postgresql://... (a fresh schema is made and dropped); default SQLite")
    ap.add_argument("--messages", type=int, help="kill9: 100000; smsc-restart: 20000")
    ap.add_argument("--rate", type=float, default=0, help="kill9: the plan's rate (0 = unlimited)")
    ap.add_argument("--receipt-wait", type=float, default=20.0, help="smsc-restart: the plan's receipt_wait (s)")
    ap.add_argument(
        "--sweep-cap",
        type=float,
        help="smsc-restart: s to wait for stuck ones to become Unknown "
        "(default receipt_wait + 660: the connector sweeps every 600 s)",
    )
    ap.add_argument("--receipt-delay-ms", type=int, default=1000, help="smsc-restart: SMSC receipt delay")
    ap.add_argument("--callbacks", type=int, default=1000, help="receiver-down: per-recipient callbacks")
    ap.add_argument("--down", type=int, default=3600, help="receiver-down: engine seconds the receiver is down")
    ap.add_argument("--settle", type=float, default=0.5, help="receiver-down: real s to wait for early callbacks")
    ap.add_argument("--connections", type=int, help="slowloris: 500; keepalive: 3000")
    ap.add_argument("--seconds", type=float, default=30.0, help="slowloris/keepalive: how long the attack lasts")
    ap.add_argument("--body-length", type=int, default=1000, help="slowloris: declared body size")
    ap.add_argument("--megabytes", type=int, default=200, help="bighead: size of the request head sent")
    ap.add_argument("--examples", type=int, default=50, help="schemathesis: examples per operation")
    ap.add_argument("--seed", type=int, default=1, help="schemathesis: seed (a rerun makes the same cases)")
    ap.add_argument("--cap", type=float, default=1500, help="schemathesis: s the run may take")
    args = ap.parse_args()
    # a SIGTERM (timeout, Ctrl-C's cousin) still stops what the case started and drops its schema
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.case == "kill9":
        args.messages = args.messages or 100_000
        kill9(args)
    elif args.case == "receiver-down":
        receiver_down(args)
    elif args.case == "smsc-restart":
        from faults_smpp import smsc_restart

        args.messages = args.messages or 20_000
        smsc_restart(args)
    elif args.case in ("slowloris", "keepalive", "bighead"):
        import faults_conn

        args.connections = args.connections or (500 if args.case == "slowloris" else 3000)
        getattr(faults_conn, args.case)(args)
    else:
        from faults_api import schemathesis

        schemathesis(args)


if __name__ == "__main__":
    main()
