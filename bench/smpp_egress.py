"""SMPP egress to the bundled SMSC (`openxms smsc`), openxms vs Kannel, same run.

    python bench/smpp_egress.py [--messages 20000] [--latency-ms 0] [--window 10] [--binds 1] [--kannel]

For each gateway: the SMSC is down while N messages are queued in the gateway; then the SMSC
starts and we time how fast the gateway drains its queue over `--binds` transceiver binds
(one plan: openxms `binds = N`, Kannel `instances = N` of one smsc group), each with the window:
- submit_sm/s seen by the SMSC (steady state, between 10 % and 90 % of N), for both;
- for openxms also end to end, queue -> every recipient final (receipts processed, statuses and
  delivery reports written).
Kannel 1.4.5 (Debian `kannel`): bearerbox + smsbox, `max-pending-submits` = the same window,
messages injected with /cgi-bin/sendsms, run twice: without DLR requests (submits only, less
work per message than openxms does), and with `dlr-mask=1` (Kannel stores each message's DLR
entry, matches the receipt and answers its deliver_sm; end to end = until the SMSC has every
deliver_sm_resp). No `dlr-url`, so Kannel, like openxms here, makes no HTTP callback.
Bounded: N messages, 10-minute cap.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from common import AUTH, PLAN, Kannel, Server, free_port, numbers

TOML = """
[[service_plans]]
id = "{plan}"
token = "{token}"
rate = 0
numbers = ["12025550100"]
connector = "smpp"
[service_plans.smpp]
host = "127.0.0.1"
port = {port}
system_id = "bench"
password = "bench"
window = {window}
binds = {binds}
reconnect_min = 0.2
reconnect_max = 0.5
"""

KANNEL_SMSC = """
group = smsc
smsc = smpp
smsc-id = bench
host = 127.0.0.1
port = {port}
transceiver-mode = true
smsc-username = bench
smsc-password = bench
system-type = ""
max-pending-submits = {window}
instances = {binds}
reconnect-delay = 1
log-level = 4
"""


class Smsc:
    def __init__(self, port: int, latency_ms: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openxms",
                "smsc",
                "--port",
                str(port),
                "--user",
                "bench:bench",
                "--latency-ms",
                str(latency_ms),
                "--log-level",
                "warning",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert "listening" in self.proc.stdout.readline()

    def stats(self) -> dict:
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def watch(smsc: Smsc, n: int, done=lambda: True, cap: float = 600) -> tuple[float, list[tuple[float, int]]]:
    """Sample the SMSC's submit count until n submits (and `done()`); returns steady submit/s."""
    samples = []
    t0 = time.perf_counter()
    while True:
        s = smsc.stats()["submits"]
        samples.append((time.perf_counter() - t0, s))
        if s >= n and done():
            break
        if time.perf_counter() - t0 > cap:
            raise SystemExit("gave up after 10 minutes")
        time.sleep(0.05)
    lo = next(t for t, c in samples if c >= 0.1 * n)
    hi_t, hi_c = next((t, c) for t, c in samples if c >= 0.9 * n)
    lo_c = next(c for t, c in samples if t == lo)
    return (hi_c - lo_c) / max(hi_t - lo, 1e-6), samples


def binds(args) -> str:
    return f" binds={args.binds}" if args.binds != 1 else ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), steadier than wall-clock rates here."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_openxms(args) -> None:
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="openxms-smpp-bench-"))
    cfg = tmp / "openxms.toml"
    cfg.write_text(TOML.format(plan=PLAN, token="BENCHTOKEN", port=port, window=args.window, binds=args.binds))
    s = Server(config=str(cfg), plans="", database=args.database, data_dir=str(tmp))
    try:
        with httpx.Client(timeout=120) as c:
            for i in range(0, args.messages, 1000):
                c.post(
                    f"{s.url}/xms/v1/{PLAN}/batches",
                    headers=AUTH,
                    json={
                        "to": numbers(min(1000, args.messages - i), prefix=f"18{i // 1000:03d}"),
                        "from": "12025550100",
                        "body": "benchmark message",
                    },
                ).raise_for_status()
        cpu0 = cpu_seconds(s.proc.pid)
        t = time.perf_counter()
        smsc = Smsc(port, args.latency_ms)
        try:
            rate, _ = watch(
                smsc, args.messages, lambda: s.scalar("SELECT count(*) FROM recipients WHERE final = 0") == 0
            )
            e2e = time.perf_counter() - t
            cpu = cpu_seconds(s.proc.pid) - cpu0
            smsc_cpu = cpu_seconds(smsc.proc.pid)
        finally:
            smsc.stop()
        trip = submit_round_trip(s.url)
        delivered = s.scalar("SELECT count(*) FROM recipients WHERE status = 'Delivered'")
        print(
            f"openxms  window={args.window}{binds(args)} latency={args.latency_ms:g}ms: "
            f"{rate:8,.0f} submit_sm/s at the SMSC; "
            f"end to end {args.messages} msgs queue->final in {e2e:.1f} s = {args.messages / e2e:,.0f} msg/s "
            f"({delivered} Delivered); gateway CPU {cpu / args.messages * 1e6:.0f} us/msg, "
            f"SMSC {smsc_cpu / args.messages * 1e6:.0f} us/msg ({smsc_cpu / e2e:.0%} of a core); "
            f"submit_sm -> resp seen by openxms {trip * 1e3:.2f} ms mean",
            flush=True,
        )
    finally:
        s.stop()


def submit_round_trip(url: str) -> float:
    """Mean submit_sm -> submit_sm_resp time as the client measured it (its /metrics histogram):
    beside the SMSC's latency and the rate, it tells time waiting for responses from time
    between a response and the next submit_sm."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    total = {"sum": 0.0, "count": 0.0}
    for kind, value in re.findall(r"^openxms_smpp_submit_duration_seconds_(sum|count)\{[^}]*\} (\S+)$", text, re.M):
        total[kind] += float(value)  # every label set (one per plan and bind), not only the last
    return total["sum"] / max(total["count"], 1.0)


def bench_kannel(args, dlr: bool) -> None:
    port = free_port()
    k = Kannel(KANNEL_SMSC.format(port=port, window=args.window, binds=args.binds))
    try:
        nums = [n.lstrip("+") for n in numbers(args.messages, prefix="19")]
        extra = {"dlr-mask": "1"} if dlr else {}

        def push(chunk):
            with httpx.Client(timeout=30) as c:
                for n in chunk:
                    c.get(
                        k.sendsms_url,
                        params={
                            "username": "bench",
                            "password": "bench",
                            "from": "12025550100",
                            "to": n,
                            "text": "benchmark message",
                            **extra,
                        },
                    )

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(push, [nums[i::16] for i in range(16)]))
        t = time.perf_counter()
        smsc = Smsc(port, args.latency_ms)
        try:
            rate, _ = watch(
                smsc, args.messages, (lambda: smsc.stats()["acked"] >= args.messages) if dlr else (lambda: True)
            )
            e2e = time.perf_counter() - t
            smsc_cpu = cpu_seconds(smsc.proc.pid)
        finally:
            smsc.stop()
        what = (
            f"; end to end {args.messages} msgs queue->receipt matched in {e2e:.1f} s = "
            f"{args.messages / e2e:,.0f} msg/s"
            if dlr
            else " (no DLR requested)"
        ) + f"; SMSC {smsc_cpu / args.messages * 1e6:.0f} us/msg ({smsc_cpu / e2e:.0%} of a core)"
        print(
            f"kannel   window={args.window}{binds(args)} latency={args.latency_ms:g}ms: "
            f"{rate:8,.0f} submit_sm/s at the SMSC{what}",
            flush=True,
        )
    finally:
        k.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--binds", type=int, default=1, help="binds of the one plan (Kannel: instances)")
    ap.add_argument("--database")
    ap.add_argument("--kannel", action="store_true")
    args = ap.parse_args()
    bench_openxms(args)
    if args.kannel:
        bench_kannel(args, dlr=True)
        bench_kannel(args, dlr=False)


if __name__ == "__main__":
    main()
