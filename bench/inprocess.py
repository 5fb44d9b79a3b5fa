"""POST /batches driven in process, without sockets: the CPU one request costs.

Builds the app as `openxms serve --role api` would (SQLite in a temp dir), runs the ASGI
lifespan, then 64 concurrent callers send `--requests` single- (or `--recipients`-) recipient
batches straight into the ASGI app. Prints the event loop's CPU per request (thread time) and
the other threads' (mostly the database writer), which do not depend on sockets, wrk or the
box's noise the way requests/s do; `--profile` adds cProfile's top functions of the loop.
Compare two trees by running this from each (interleaved, several times).

    python bench/inprocess.py
    python bench/inprocess.py --recipients 1000 --requests 2000 --profile
    python bench/inprocess.py --conversation        # messages:send (text, SMS_SENDER) instead
    python bench/inprocess.py --conversation-batch --recipients 1000 --requests 500  # the Batch API
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import gc
import json
import os
import pstats
import resource
import tempfile
import threading
import time
from pathlib import Path

from openxms import config
from openxms.app import build


def writer_cpu() -> float:
    """CPU seconds of the database writer thread (Linux: /proc/self/task/<tid>/stat)."""
    for t in threading.enumerate():
        if t.name == "openxms-writer" and t.native_id is not None:
            fields = Path(f"/proc/self/task/{t.native_id}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


APP = "01K0APP0000000000000000001"
CONVERSATION = "/v1/projects/BENCHPROJ/messages:send"
CONVERSATION_BATCH = "/conversationbatch/v1/projects/BENCHPROJ/messages"


def post_scope(path: str, content_type: bytes, authorization: bytes, length: int) -> dict:
    """The ASGI scope of a POST to `path`, as uvicorn would hand it over."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"content-type", content_type),
            (b"authorization", authorization),
            (b"content-length", str(length).encode()),
        ],
        "client": ("127.0.0.1", 5555),
        "server": ("127.0.0.1", 8080),
    }


async def token(app, basic: bytes) -> bytes:
    """An access token from POST /oauth2/token (client credentials), straight through ASGI."""
    form = b"grant_type=client_credentials"
    scope = post_scope("/oauth2/token", b"application/x-www-form-urlencoded", basic, len(form))
    body = bytearray()

    async def receive():
        return {"type": "http.request", "body": form, "more_body": False}

    async def send(m):
        if m["type"] == "http.response.body":
            body.extend(m.get("body", b""))

    await app(scope, receive, send)
    return json.loads(body)["access_token"].encode()


async def run(app, path: str, body: bytes, requests: int, profile: bool) -> None:
    basic = b"Basic " + base64.b64encode(b"BENCHKEY:BENCHSECRET")
    auth = basic if path == CONVERSATION else b"Bearer BENCHTOKEN"
    scope = post_scope(path, b"application/json", auth, len(body))
    headers = scope["headers"]
    statuses: dict[int, int] = {}

    async def one() -> None:
        sent = False

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)

        async def send(m):
            if m["type"] == "http.response.start":
                statuses[m["status"]] = statuses.get(m["status"], 0) + 1

        await app(dict(scope), receive, send)

    startup: asyncio.Queue = asyncio.Queue()
    answers: asyncio.Queue = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, startup.get, answers.put)
    )
    await answers.get()
    if path == CONVERSATION_BATCH:  # the Batch API takes OAuth2 bearer tokens only
        headers[2] = (b"authorization", b"Bearer " + await token(app, basic))
    for _ in range(200):
        await one()  # warm-up
    left = requests

    async def caller() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    prof = cProfile.Profile() if profile else None
    w0 = writer_cpu()
    t0, c0, r0 = time.perf_counter(), time.thread_time(), resource.getrusage(resource.RUSAGE_SELF)
    if prof:
        prof.enable()
    await asyncio.gather(*(caller() for _ in range(64)))
    if prof:
        prof.disable()
    dt, loop_cpu = time.perf_counter() - t0, time.thread_time() - c0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    total = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    print(
        f"{requests} requests, statuses {statuses}: {requests / dt:,.0f} req/s in process, "
        f"event loop {loop_cpu / requests * 1e6:.1f} us/request, "
        f"other threads {(total - loop_cpu) / requests * 1e6:.1f} us/request "
        f"(the writer {(writer_cpu() - w0) / requests * 1e6:.1f})",
        flush=True,
    )
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    await startup.put({"type": "lifespan.shutdown"})
    await answers.get()
    await lifespan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipients", type=int, default=1)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--conversation", action="store_true", help="POST messages:send instead (one text message)")
    ap.add_argument(
        "--conversation-batch", action="store_true", help="the Batch API instead (--recipients, a ${name} each)"
    )
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="openxms-bench-inprocess-")
    s = config.load(
        None,
        env={
            "OPENXMS_SERVICE_PLANS": "BENCH:BENCHTOKEN:0",
            "OPENXMS_PROJECTS": "BENCHPROJ:BENCHKEY:BENCHSECRET",
            "OPENXMS_CONVERSATION_APPS": f"{APP}:BENCHPROJ:BENCH",
        },
        database_url=f"sqlite:///{tmp}/db.sqlite3",
        data_dir=tmp,
        role="api",
    )
    app, _ = build(s)
    gc.freeze()  # as `openxms serve` does once it has started (cli.py)
    gc.set_threshold(50_000, 20, 100)
    if args.conversation:
        path, doc = (
            CONVERSATION,
            {
                "app_id": APP,
                "recipient": {
                    "identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+12017777777"}]}
                },
                "message": {"text_message": {"text": "Benchmark message"}},
                "channel_properties": {"SMS_SENDER": "+12025550100"},
            },
        )
    elif args.conversation_batch:
        path, doc = (
            CONVERSATION_BATCH,
            {
                "app_id": APP,
                "message": {"text_message": {"text": "Benchmark message for ${name}"}},
                "recipient_and_params": [
                    {
                        "recipient": {
                            "identified_by": {"channel_identities": [{"channel": "SMS", "identity": f"+1201{i:07d}"}]}
                        },
                        "parameters": {"name": f"n{i}"},
                    }
                    for i in range(args.recipients)
                ],
                "channel_properties": {"SMS_SENDER": "+12025550100"},
            },
        )
    else:
        path = "/xms/v1/BENCH/batches"
        doc = {
            "to": [f"+1201{i:07d}" for i in range(args.recipients)],
            "from": "12025550100",
            "body": "Benchmark message",
        }
    asyncio.run(run(app, path, json.dumps(doc).encode(), args.requests, args.profile))


if __name__ == "__main__":
    main()
