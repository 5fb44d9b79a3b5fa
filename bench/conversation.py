"""The Conversation API beside the SMS API, same run, same machine (simulator connector).

    python bench/conversation.py send  [--duration 10] [--connections 64] [--messages 20000] [--pairs 3]
    python bench/conversation.py batch [--duration 10] [--connections 64] [--batches 50] [--latency 10]
    ... [--database postgresql://postgres@127.0.0.1:5432/postgres] [--mode DISPATCH|CONVERSATION]

`send`: `POST /v1/projects/{project}/messages:send` (HTTP Basic, as the SDKs may) against
`POST /xms/v1/{plan}/batches` with one recipient:
- accepted: wrk, `--connections` for `--duration` s after a 3 s warm-up, `--role api`; every
  200/201 means the message and its carrier SMS are committed; `--pairs` runs of each,
  alternating, the median of each and the median ratio of the pairs;
- delivered: `--messages` queued with the engine off, then the engine started; msg/s from
  its start until every recipient row is final (Delivered at the simulator, receipts
  processed; for Conversation also each message's status), and the steady rate between 10 %
  and 90 % done.

`batch`: `POST /conversationbatch/v1/projects/{project}/messages` (OAuth2 bearer) with 1000
recipients, each with a `${name}` parameter, against SMS batches of 1000:
- accepted: wrk as above, recipients/s;
- fan-out and delivery: `--batches` queued with the engine off (for Conversation only the
  batch row exists then), the engine started; fan-out = until every batch is PROCESSED (all
  its carrier SMS queued), delivered = until every carrier is final. Once with the plan
  unlimited (fan-out competing with delivery), once with the plan at 0.01 msg/s (fan-out
  alone). SMS batches have no fan-out (recipients are queued at accept), so their delivery
  rate is the figure fan-out must keep up with;
- latency at idle (`--latency` sends one after another, engine on): accept -> PROCESSED and
  accept -> all 1000 delivered, beside SMS accept -> all 1000 delivered.

The Conversation app (DISPATCH mode by default) is written into the fresh database before
the server starts, as the app's JSON, through the store's own Database. Bounded in count and
time; loopback only; every server is an `openxms serve` process started and stopped (by its
PID) here; PostgreSQL schemas made for the run are dropped at exit (common.py).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from common import AUTH, PLAN, TOKEN, Server, numbers
from http_send import run_wrk

PROJECT, KEY, SECRET = "BENCHPROJ", "BENCHKEY", "BENCHSECRET"
APP = "01JBENCHAPP000000000000000"  # ULID-shaped: 26 letters or digits
SENDER = "12025550100"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
LUA = """
wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "%s"
"""


# request bodies ------------------------------------------------------------------------------


def sms_body(to: list[str]) -> bytes:
    return json.dumps({"to": to, "from": SENDER, "body": "Benchmark message"}).encode()


def _recipient(number: str) -> dict:
    return {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": number}]}}


def conv_send_body(number: str) -> bytes:
    return json.dumps(
        {
            "app_id": APP,
            "recipient": _recipient(number),
            "message": {"text_message": {"text": "Benchmark message"}},
            "channel_properties": {"SMS_SENDER": SENDER},
        }
    ).encode()


def conv_batch_body(to: list[str]) -> bytes:
    return json.dumps(
        {
            "app_id": APP,
            "message": {"text_message": {"text": "Benchmark message for ${name}"}},
            "recipient_and_params": [
                {"recipient": _recipient(n), "parameters": {"name": f"n{i}"}} for i, n in enumerate(to)
            ],
            "channel_properties": {"SMS_SENDER": SENDER},
        }
    ).encode()


# servers -------------------------------------------------------------------------------------


def add_app(mode: str):
    """A setup hook for Server: migrate the fresh database and store the app (bound to the
    bench plan by its SMS channel credential), as the apps API would."""

    def setup(url: str) -> None:
        import msgspec

        from openxms.conversation.apps import decode_app_create, new_app
        from openxms.store import schema
        from openxms.store.db import Database

        db = Database(url)
        schema.migrate(db)
        body = {
            "display_name": "bench",
            "processing_mode": mode,
            "channel_credentials": [{"channel": "SMS", "static_bearer": {"claimed_identity": PLAN, "token": TOKEN}}],
        }
        doc = msgspec.json.encode(new_app(decode_app_create(json.dumps(body).encode()), APP)).decode()
        db.run_sync(
            lambda tx: tx.execute(
                "INSERT INTO conv_apps (id, project_id, plan_id, created_at, doc) VALUES (?, ?, ?, 0, ?)",
                (APP, PROJECT, PLAN, doc),
            )
        )

    return setup


_made: list[Path] = []  # the servers' data directories, removed when the run completes


def server(args, role: str, rate: float = 0) -> Server:
    s = Server(rate=rate, database=args.database, role=role, setup=add_app(args.mode))
    _made.append(s.tmp)
    return s


def bearer(s: Server) -> str:
    r = httpx.post(f"{s.url}/oauth2/token", data={"grant_type": "client_credentials"}, auth=(KEY, SECRET))
    r.raise_for_status()
    return "Bearer " + r.json()["access_token"]


def restart(s: Server, role: str, rate: float) -> float:
    """Stop `s` and start it again with the plan at `rate`; returns when it was started."""
    s.stop()
    s.env["OPENXMS_SERVICE_PLANS"] = f"{PLAN}:{TOKEN}:{rate}"
    t = time.perf_counter()
    s.start(role)
    return t


# load ----------------------------------------------------------------------------------------


async def _post_many(url: str, authorization: str, bodies: list[bytes], concurrency: int) -> None:
    """POST every body over `concurrency` keep-alive connections (a minimal HTTP/1.1 client:
    the server is the bottleneck, not this)."""
    u = urlsplit(url)
    todo = iter(bodies)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(u.hostname, u.port)
        try:
            for body in todo:
                writer.write(
                    f"POST {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: {authorization}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                answer = await reader.readexactly(length)
                if status >= 300:
                    raise RuntimeError(f"{u.path}: {status} {answer[:300]!r}")
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def post_many(url: str, authorization: str, bodies: list[bytes], concurrency: int = 16) -> None:
    asyncio.run(_post_many(url, authorization, bodies, concurrency))


def accept(s: Server, path: str, authorization: str, body: bytes, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="conv-wrk-", dir=s.tmp))
    lua = tmp / "post.lua"
    lua.write_text(LUA % (body.decode(), authorization))
    assert s.proc is not None
    return run_wrk(s.url + path, lua, args.duration, args.connections, pid=s.proc.pid)


def wait_until(s: Server, *progress, limit_s: float = 600) -> list[tuple[float, ...]]:
    """Poll every `progress()` (a fraction in [0, 1]) until all are 1; returns samples
    (time, fraction, ...), so several stages of one run are timed from the same polls."""
    samples = []
    t0 = time.perf_counter()
    while True:
        fs = [p() for p in progress]
        samples.append((time.perf_counter(), *fs))
        if min(fs) >= 1:
            return samples
        if time.perf_counter() - t0 > limit_s:
            raise SystemExit(f"not done within {limit_s:.0f} s ({fs})")
        time.sleep(0.05)


def done_at(samples: list[tuple[float, ...]], stage: int = 1) -> float:
    """When stage `stage` (1 = the first progress function) first read 1."""
    return next(x[0] for x in samples if x[stage] >= 1)


def steady(samples: list[tuple[float, ...]], n: int, stage: int = 1) -> float:
    """Items/s between 10 % and 90 % done (stage as in `done_at`)."""
    a = next(x[0] for x in samples if x[stage] >= 0.1)
    b = next(x[0] for x in samples if x[stage] >= 0.9)
    return 0.8 * n / (b - a) if b > a else float("nan")


def pending(s: Server) -> int:
    return s.scalar("SELECT count(*) FROM recipients WHERE final = 0")


def final_count(s: Server) -> int:
    return s.scalar("SELECT count(*) FROM recipients WHERE final = 1")


def check_delivered(s: Server, n: int, conversation: bool) -> None:
    """Every message reached the handsets, and (Conversation) every message shows DELIVERED."""
    got = s.scalar("SELECT count(*) FROM recipients WHERE status = 'Delivered'")
    if got != n:
        raise SystemExit(f"{got} of {n} recipients Delivered: see {s.tmp / 'server.log'}")
    if conversation:
        got = s.scalar("SELECT count(*) FROM conv_messages WHERE status = 'DELIVERED'")
        if got != n:
            raise SystemExit(f"{got} of {n} Conversation messages DELIVERED: see {s.tmp / 'server.log'}")


def line(name: str, text: str) -> None:
    print(f"{name:<60} {text}", flush=True)


# cases ---------------------------------------------------------------------------------------


def send(args) -> None:
    kind = "postgresql" if args.database else "sqlite"
    cases = (
        (
            "sms   POST /xms/v1/{plan}/batches to=1",
            f"/xms/v1/{PLAN}/batches",
            AUTH["Authorization"],
            sms_body(numbers(1)),
        ),
        (
            "conv  POST /v1/projects/{project}/messages:send",
            f"/v1/projects/{PROJECT}/messages:send",
            BASIC,
            conv_send_body(numbers(1)[0]),
        ),
    )
    # `--pairs` runs of each, alternating (sms, conv, sms, conv, ...), each on a fresh server:
    # on a box shared with other work the load changes by the minute, and a ratio of two runs
    # made one after the other is steadier than two medians.
    runs: dict[str, list[dict]] = {"sms": [], "conv": []}
    for pair in range(args.pairs):
        for name, path, authorization, body in cases:
            s = server(args, "api")
            try:
                r = accept(s, path, authorization, body, args)
            finally:
                s.stop()
            runs[name.split()[0]].append(r)
        sms, conv = runs["sms"][-1], runs["conv"][-1]
        line(
            f"  pair {pair + 1} accepted",
            f"sms {sms['rps']:>7.0f} conv {conv['rps']:>7.0f} req/s  ratio {conv['rps'] / sms['rps']:.2f}; "
            f"server CPU/request sms {sms['cpu_us']:.0f} conv {conv['cpu_us']:.0f} us, "
            f"ratio {sms['cpu_us'] / conv['cpu_us']:.2f}",
        )
    for name, _, _, _ in cases:
        rs = runs[name.split()[0]]
        r = sorted(rs, key=lambda x: x["rps"])[len(rs) // 2]
        line(
            f"{name} accepted ({kind}, api)",
            f"{r['rps']:>8.0f} req/s  p50 {r['p50']:>8} p99 {r['p99']:>8}  non-2xx {sum(x['errors'] for x in rs)}",
        )
    ratios = sorted(c["rps"] / m["rps"] for m, c in zip(runs["sms"], runs["conv"], strict=True))
    line(
        "  ratio conv/sms accepted",
        f"{ratios[len(ratios) // 2]:.2f} (median of {len(ratios)} pairs; {ratios[0]:.2f}-{ratios[-1]:.2f})",
    )
    # The server is CPU-bound under this load (one event loop and one writer thread sharing
    # the GIL), so requests per CPU-second is what req/s would be on a quiet box.
    cpu = sorted(m["cpu_us"] / c["cpu_us"] for m, c in zip(runs["sms"], runs["conv"], strict=True))
    line(
        "  ratio conv/sms requests per server CPU-second",
        f"{cpu[len(cpu) // 2]:.2f} (median of {len(cpu)} pairs; {cpu[0]:.2f}-{cpu[-1]:.2f})",
    )

    delivered = {}
    to = numbers(args.messages, prefix="1310")
    for name, path, authorization, bodies in (
        ("sms   to=1", f"/xms/v1/{PLAN}/batches", AUTH["Authorization"], [sms_body([n]) for n in to]),
        ("conv  messages:send", f"/v1/projects/{PROJECT}/messages:send", BASIC, [conv_send_body(n) for n in to]),
    ):
        s = server(args, "api")
        try:
            post_many(s.url + path, authorization, bodies)
            t = restart(s, "all", 0)
            samples = wait_until(s, lambda: final_count(s) / args.messages)
            dt = samples[-1][0] - t
            check_delivered(s, args.messages, name.startswith("conv"))
        finally:
            s.stop()
        delivered[name.split()[0]] = args.messages / dt
        line(
            f"{name} delivered ({kind})",
            f"{args.messages} in {dt:5.2f} s = {args.messages / dt:>7,.0f} msg/s "
            f"(steady {steady(samples, args.messages):,.0f} msg/s)",
        )
    line("  ratio conv/sms delivered", f"{delivered['conv'] / delivered['sms']:.2f}")


def batch(args) -> None:
    kind = "postgresql" if args.database else "sqlite"
    to = numbers(1000, prefix="1320")

    s = server(args, "api")
    try:
        r = accept(s, f"/xms/v1/{PLAN}/batches", AUTH["Authorization"], sms_body(to), args)
    finally:
        s.stop()
    sms_acc = r["rps"] * 1000
    line(
        f"sms   POST /xms/v1/{{plan}}/batches to=1000 accepted ({kind})",
        f"{r['rps']:>6.0f} req/s = {sms_acc:>9,.0f} recipients/s  p50 {r['p50']} p99 {r['p99']}  non-2xx {r['errors']}",
    )
    s = server(args, "api")
    try:
        r = accept(s, f"/conversationbatch/v1/projects/{PROJECT}/messages", bearer(s), conv_batch_body(to), args)
    finally:
        s.stop()
    conv_acc = r["rps"] * 1000
    line(
        f"conv  POST /conversationbatch/.../messages x1000 accepted ({kind})",
        f"{r['rps']:>6.0f} req/s = {conv_acc:>9,.0f} recipients/s  p50 {r['p50']} p99 {r['p99']}  "
        f"non-2xx {r['errors']}",
    )
    line("  ratio conv/sms accepted", f"{conv_acc / sms_acc:.2f}")

    n = args.batches * 1000
    bodies = [sms_body(numbers(1000, prefix=f"133{i % 10}")) for i in range(args.batches)]
    s = server(args, "api")
    try:
        post_many(s.url + f"/xms/v1/{PLAN}/batches", AUTH["Authorization"], bodies, 4)
        t = restart(s, "all", 0)
        samples = wait_until(s, lambda: final_count(s) / n)
        dt = samples[-1][0] - t
        check_delivered(s, n, False)
    finally:
        s.stop()
    sms_rate = n / dt
    line(
        f"sms   {args.batches} x 1000 delivered ({kind})",
        f"{n} in {dt:5.2f} s = {sms_rate:>7,.0f} msg/s (steady {steady(samples, n):,.0f})",
    )

    bodies = [conv_batch_body(numbers(1000, prefix=f"133{i % 10}")) for i in range(args.batches)]
    for rate in (0, 0.01):
        s = server(args, "api")
        try:
            post_many(s.url + f"/conversationbatch/v1/projects/{PROJECT}/messages", bearer(s), bodies, 4)
            t = restart(s, "all", rate)

            def processed(s=s):
                return s.scalar("SELECT count(*) FROM conv_batches WHERE status = 'PROCESSED'") / args.batches

            if rate == 0:
                samples = wait_until(s, processed, lambda: final_count(s) / n)
                dt = samples[-1][0] - t
                check_delivered(s, n, True)
            else:
                samples = wait_until(s, processed)
            t_fan = done_at(samples) - t
        finally:
            s.stop()
        if rate == 0:
            line(
                f"conv  {args.batches} x 1000 fanned out, delivering ({kind})",
                f"{n} in {t_fan:5.2f} s = {n / t_fan:>7,.0f} recipients/s (steady {steady(samples, n):,.0f}) = "
                f"{n / t_fan / sms_rate:.2f} x sms delivery",
            )
            line(
                f"conv  {args.batches} x 1000 delivered ({kind})",
                f"{n} in {dt:5.2f} s = {n / dt:>7,.0f} msg/s (steady {steady(samples, n, 2):,.0f}) = "
                f"{n / dt / sms_rate:.2f} x sms",
            )
        else:
            line(
                f"conv  {args.batches} x 1000 fanned out, plan at 0.01/s ({kind})",
                f"{n} in {t_fan:5.2f} s = {n / t_fan:>7,.0f} recipients/s (steady {steady(samples, n):,.0f}) = "
                f"{n / t_fan / sms_rate:.2f} x sms delivery",
            )

    s = server(args, "all")
    try:
        token = bearer(s)
        sms_lat, fan_lat, conv_lat = [], [], []
        with httpx.Client(timeout=60) as c:
            for i in range(args.latency):
                before = final_count(s)
                t = time.perf_counter()
                c.post(
                    f"{s.url}/xms/v1/{PLAN}/batches",
                    headers={**AUTH, "Content-Type": "application/json"},
                    content=sms_body(to),
                ).raise_for_status()
                wait_until(s, lambda: (final_count(s) - before) / 1000, limit_s=60)
                sms_lat.append(time.perf_counter() - t)
                before = final_count(s)
                t = time.perf_counter()
                r = c.post(
                    f"{s.url}/conversationbatch/v1/projects/{PROJECT}/messages",
                    headers={"Authorization": token, "Content-Type": "application/json"},
                    content=conv_batch_body(to),
                )
                r.raise_for_status()
                status_url = f"{s.url}/conversationbatch/v1/projects/{PROJECT}/messages/{r.json()['batch_id']}"
                while c.get(status_url, headers={"Authorization": token}).json()["status"] != "PROCESSED":
                    if time.perf_counter() - t > 60:
                        raise SystemExit("a batch was not PROCESSED within 60 s")
                    time.sleep(0.002)
                fan_lat.append(time.perf_counter() - t)
                wait_until(s, lambda: (final_count(s) - before) / 1000, limit_s=60)
                conv_lat.append(time.perf_counter() - t)
    finally:
        s.stop()
    ms = lambda v: f"p50 {1000 * statistics.median(v):6.0f} ms max {1000 * max(v):6.0f} ms"  # noqa: E731
    line(f"sms   1 x 1000, idle: accept -> all delivered ({kind})", ms(sms_lat))
    line(f"conv  1 x 1000, idle: accept -> PROCESSED ({kind})", ms(fan_lat))
    line(f"conv  1 x 1000, idle: accept -> all delivered ({kind})", ms(conv_lat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=["send", "batch"])
    ap.add_argument("--database", help="postgresql://... (a fresh schema per server); default SQLite")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--messages", type=int, default=20_000, help="send: messages queued for the delivery run")
    ap.add_argument("--pairs", type=int, default=3, help="send: alternating sms/conv accepted runs")
    ap.add_argument("--batches", type=int, default=50, help="batch: 1000-recipient batches for the fan-out run")
    ap.add_argument("--latency", type=int, default=10, help="batch: sends one after another for the idle latency")
    ap.add_argument("--mode", default="DISPATCH", choices=["DISPATCH", "CONVERSATION"], help="the app's mode")
    args = ap.parse_args()
    os.environ["OPENXMS_PROJECTS"] = f"{PROJECT}:{KEY}:{SECRET}"  # every server gets the project
    globals()[args.case](args)
    for d in _made:  # kept when the run failed: their server.log says why
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
