"""What any client can get from the bundled SMSC at a set latency: a minimal ESME, no gateway.

    python bench/smsc_latency.py [--latency-ms 50] [--window 10] [--seconds 10] [--runs 3]

Starts `openxms smsc --latency-ms L` as its own process and binds one transceiver; `--window`
loops each keep one submit_sm in flight (send, wait for the response, send again), with no
queue, database or receipt work. Prints submit_sm/s and the round trip (mean, p50, p99), and
the ratio to the window bound, window / latency, which bench/compare.py's P4 row compares
openxms against: this is the most a client gets from the simulator, the part of P4's gap that
is the SMSC's (its timers and the loop's wake-up), not the gateway's. Receipts are not asked
for. Bounded: `--seconds` per run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from common import free_port
from openxms.connectors.smpp import pdu
from openxms.connectors.smpp.session import Session
from smpp_egress import Smsc


async def one_run(port: int, window: int, seconds: float) -> tuple[float, list[float]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    s = Session(reader, writer, lambda p: pdu.response(p), "esme")
    runner = asyncio.ensure_future(s.run())
    bind = pdu.Pdu(pdu.BIND_TRANSCEIVER, 0, fields={"system_id": "bench", "password": "bench"})
    assert (await s.request(bind, 5)).status == pdu.ESME_ROK
    trips: list[float] = []
    end = time.perf_counter() + seconds

    async def loop(k: int) -> None:
        while time.perf_counter() < end:
            fields = {"source_addr": "12025550100", "destination_addr": f"1201777{k:04d}", "short_message": b"hello"}
            p = pdu.Pdu(pdu.SUBMIT_SM, 0, fields=fields)
            t = time.perf_counter()
            await s.request(p, 5)
            trips.append(time.perf_counter() - t)

    await asyncio.sleep(0.2)  # past the bind's own turn
    start = time.perf_counter()
    await asyncio.gather(*(loop(k) for k in range(window)))
    elapsed = time.perf_counter() - start
    s.close()
    runner.cancel()
    return len(trips) / elapsed, trips


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    bound = args.window * 1000 / args.latency_ms
    rates = []
    for i in range(args.runs):
        port = free_port()
        smsc = Smsc(port, args.latency_ms)
        try:
            rate, trips = asyncio.run(one_run(port, args.window, args.seconds))
        finally:
            smsc.stop()
        trips.sort()
        rates.append(rate)
        print(
            f"run {i + 1}: {rate:,.1f} submit_sm/s = {rate / bound:.3f} of the bound {bound:,.0f}/s; "
            f"round trip mean {statistics.fmean(trips) * 1e3:.2f} ms, p50 {trips[len(trips) // 2] * 1e3:.2f}, "
            f"p99 {trips[int(len(trips) * 0.99)] * 1e3:.2f}",
            flush=True,
        )
    med = statistics.median(rates)
    print(f"median {med:,.1f} submit_sm/s = {med / bound:.3f} of the window bound")


if __name__ == "__main__":
    main()
