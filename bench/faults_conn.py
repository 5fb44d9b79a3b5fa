"""`faults.py slowloris` and `faults.py keepalive`: many connections that hold the server and say
little; are normal requests still served, and what does it cost?

slowloris: `--connections` sockets, half dripping a request head one byte a second (never
ending it), half sending a complete head with `Content-Length: --body-length` and then the
body one byte a second. keepalive: `--connections` sockets that made one request and then
sit idle, and as many that connect and never send a byte. Meanwhile a probe sends one normal
request every 50 ms on a new connection (alternately `GET /health` and a one-recipient
`POST /batches`), and the server's RSS is sampled. At the end: probe latency and errors, peak
RSS, and how many attacking sockets the server closed (and when).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import psutil

from common import AUTH, PLAN, Server, pct
from faults import verdict

PROBE_EVERY = 0.05


async def _probe(url: str, stop: asyncio.Event, lat: list[float], errors: list[str]) -> None:
    i = 0
    # no keep-alive: every probe opens a new connection, as a new client would
    c = httpx.AsyncClient(timeout=5, limits=httpx.Limits(max_keepalive_connections=0))
    while not stop.is_set():
        i += 1
        t = time.perf_counter()
        try:
            if i % 2:
                r = await c.get(url + "/health")
            else:
                r = await c.post(
                    f"{url}/xms/v1/{PLAN}/batches",
                    headers=AUTH,
                    json={"to": [f"+1309{i:07d}8"], "from": "12025550100", "body": "probe"},
                )
            if r.status_code >= 300:
                errors.append(f"HTTP {r.status_code}")
            else:
                lat.append((time.perf_counter() - t) * 1000)
        except httpx.HTTPError as e:
            errors.append(type(e).__name__)
        await asyncio.sleep(PROBE_EVERY)
    await c.aclose()


async def _rss(pid: int, stop: asyncio.Event, samples: list[float]) -> None:
    p = psutil.Process(pid)
    while not stop.is_set():
        samples.append(p.memory_info().rss / 2**20)
        await asyncio.sleep(0.5)


async def _held(reader: asyncio.StreamReader, t0: float, closed: list[float]) -> None:
    """Wait for the server to close this socket; note when."""
    try:
        while await reader.read(65536):
            pass
    except (ConnectionError, OSError):
        pass
    closed.append(time.perf_counter() - t0)


async def _drip(
    host: str,
    port: int,
    head: bytes,
    tail: bytes,
    stop: asyncio.Event,
    t0: float,
    closed: list[float],
    failed: list[str],
) -> None:
    """Send `head` at once, then `tail` one byte a second until the server closes or time is up."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as e:
        failed.append(type(e).__name__)
        return
    watcher = asyncio.create_task(_held(reader, t0, closed))
    try:
        writer.write(head)
        for b in tail:
            if stop.is_set() or watcher.done():
                break
            writer.write(bytes([b]))
            await writer.drain()
            await asyncio.sleep(1.0)
        await asyncio.wait([watcher], timeout=0 if stop.is_set() else None)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        watcher.cancel()


async def _idle(
    host: str, port: int, first: bytes | None, stop: asyncio.Event, t0: float, closed: list[float], failed: list[str]
) -> None:
    """One request (or none), then silence until the server closes or time is up."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as e:
        failed.append(type(e).__name__)
        return
    try:
        if first:
            writer.write(first)
            await reader.readuntil(b"\r\n\r\n")  # /health: the head, then a small body
        watcher = asyncio.create_task(_held(reader, t0, closed))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([watcher, stopper], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        watcher.cancel()
    except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
        failed.append(type(e).__name__)
    finally:
        writer.close()


async def _attack(s: Server, args, make) -> dict:
    host, port = "127.0.0.1", int(s.url.rsplit(":", 1)[1])
    stop = asyncio.Event()
    lat: list[float] = []
    errors: list[str] = []
    rss: list[float] = []
    base_rss = psutil.Process(s.proc.pid).memory_info().rss / 2**20
    t0 = time.perf_counter()
    closed: list[float] = []
    failed: list[str] = []
    attackers = []
    for i in range(args.connections):
        attackers.append(asyncio.create_task(make(i, host, port, stop, t0, closed, failed)))
        if i % 100 == 99:
            await asyncio.sleep(0.01)  # under the listen backlog
    opened = time.perf_counter() - t0
    bg = [asyncio.create_task(_probe(s.url, stop, lat, errors)), asyncio.create_task(_rss(s.proc.pid, stop, rss))]
    await asyncio.sleep(args.seconds)
    stop.set()
    await asyncio.gather(*bg)
    held = args.connections - len(closed) - len(failed)
    for a in attackers:
        a.cancel()
    await asyncio.gather(*attackers, return_exceptions=True)
    return {
        "lat": lat,
        "errors": errors,
        "rss": rss,
        "base": base_rss,
        "closed": closed,
        "held": held,
        "failed": failed,
        "opened": opened,
    }


def _report(case: str, args, r: dict, what: str) -> None:
    lat, closed = r["lat"], sorted(r["closed"])
    served = len(lat)
    line = (
        f"{case}: {args.connections} {what} for {args.seconds:g} s; probe {served} ok / {len(r['errors'])} failed"
        + (f" ({', '.join(sorted(set(r['errors'])))})" if r["errors"] else "")
        + (f", p50 {pct(lat, 50):.1f} ms p99 {pct(lat, 99):.1f} ms max {max(lat):.0f} ms" if lat else "")
        + f"; RSS {r['base']:.0f} MB -> peak {max(r['rss'] or [0]):.0f} MB; server closed {len(closed)} of them"
        + (f" (after {closed[0]:.1f}-{closed[-1]:.1f} s)" if closed else "")
        + f", {r['held']} still open at the end"
        + (f", {len(r['failed'])} could not connect" if r["failed"] else "")
    )
    verdict(not r["errors"] and served > 0, line)


def _server(args) -> Server:
    return Server(rate=0, database=args.database)


def slowloris(args) -> None:
    s = _server(args)
    host = s.url.split("//", 1)[1].encode()
    body = b'{"to": ["+13010000008"], "from": "12025550100", "body": "slow"}'.ljust(args.body_length)

    def make(i, h, p, stop, t0, closed, failed):
        if i % 2:
            head = b"POST /xms/v1/BENCH/batches HTTP/1.1\r\nHost: " + host + b"\r\n"
            tail = b"X-Padding: " + b"a" * 10_000  # never ends the head
        else:
            head = (
                b"POST /xms/v1/BENCH/batches HTTP/1.1\r\nHost: " + host + b"\r\nAuthorization: Bearer BENCHTOKEN"
                b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            )
            tail = body
        return _drip(h, p, head, tail, stop, t0, closed, failed)

    try:
        r = asyncio.run(_attack(s, args, make))
    finally:
        s.stop()
    _report("slowloris", args, r, f"sockets dripping a byte a second (half the head, half a {len(body)}-byte body)")


def keepalive(args) -> None:
    s = _server(args)
    host = s.url.split("//", 1)[1].encode()
    req = b"GET /health HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"

    def make(i, h, p, stop, t0, closed, failed):
        return _idle(h, p, req if i % 2 else None, stop, t0, closed, failed)

    try:
        r = asyncio.run(_attack(s, args, make))
    finally:
        s.stop()
    _report("keepalive", args, r, "idle sockets (half after one request, half never sent a byte)")


def bighead(args) -> None:
    """One socket sending a request head of `--megabytes` MB as fast as it can: is it buffered?"""
    import socket

    s = _server(args)
    p = psutil.Process(s.proc.pid)
    before = p.memory_info().rss / 2**20
    sent, answer = 0, b""
    try:
        with socket.create_connection(("127.0.0.1", int(s.url.rsplit(":", 1)[1])), timeout=10) as k:
            k.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
            try:
                for _ in range(args.megabytes):
                    k.sendall(b"a" * 2**20)
                    sent += 1
            except OSError:
                pass  # the server closed it
            time.sleep(1)
            peak = p.memory_info().rss / 2**20
            k.settimeout(2)
            try:
                answer = k.recv(200).split(b"\r\n", 1)[0]
            except OSError:
                pass
    finally:
        s.stop()
    verdict(
        sent < args.megabytes and peak - before < 32,
        f"bighead: {sent} of {args.megabytes} MB of one request head accepted before the server closed; "
        f"RSS {before:.0f} -> {peak:.0f} MB; answer {answer.decode() or 'none'}",
    )
