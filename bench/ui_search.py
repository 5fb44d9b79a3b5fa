"""The web UI's message search at a million messages (issue #13: answer < 200 ms at 1M).

Fills a fresh database with `--messages` one-recipient batches (random text from a small
vocabulary, random numbers, a client_reference on every tenth, statuses mostly Delivered),
written straight into the tables, then runs the engine's indexer (store/search.py) to the end
and prints its cost per row, then times each query `--runs` times the way
`GET /simulator/messages` answers it (a read on the database's reader pool, a page of 50, the
rows turned into the response's JSON) and prints median and p95. The last `--tail` messages are
left unindexed, as if just sent, so every search also scans a tail.

    python bench/ui_search.py                                  # SQLite, 1,000,000 messages
    python bench/ui_search.py --database postgresql://postgres@127.0.0.1:5432/test
    python bench/ui_search.py --messages 100000 --runs 10

Bounded: one database in a temp dir (or one fresh PostgreSQL schema, dropped at exit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time

import msgspec

from common import fresh_pg_schema, pct
from openxms.http.simulator_messages import SimMessages, message
from openxms.store import messages, schema, search
from openxms.store.db import Database

WORDS = (
    "your order has shipped today tomorrow code verify account login password reset appointment reminder "
    "delivery parcel invoice payment received thanks welcome offer sale discount weekend store open closed "
    "meeting confirmed cancelled doctor dentist table booking flight gate boarding delayed train platform "
    "ticket balance low alert security new device sign in expires minutes hello hi dear customer team"
).split()
AT = 1_760_000_000_000
NEEDLE = "zebracornflakes"


def fill(db: Database, n: int, chunk: int = 20_000) -> None:
    rnd = random.Random(13)
    needle_at = n // 2
    for start in range(0, n, chunk):
        batches, recipients = [], []
        for i in range(start, min(n, start + chunk)):
            bid = f"01BENCH{i:019d}"
            words = rnd.choices(WORDS, k=rnd.randint(4, 12))
            if i == needle_at:
                words.append(NEEDLE)
            body = " ".join(words) + (f" {rnd.randint(1000, 999999)}" if rnd.random() < 0.5 else "")
            ref = f"ref-{i}" if i % 10 == 0 else None
            at = AT + i * 100
            batches.append((bid, "BENCH", "12025550100", ref, at, at, at, at + 86_400_000, json.dumps({"body": body})))
            status, code = ("Failed", 153) if rnd.random() < 0.01 else ("Delivered", 0)
            recipients.append(
                (bid, "BENCH", f"1{rnd.randint(200, 999)}{rnd.randint(0, 9999999):07d}", status, code, at)
            )

        def write(tx, batches=batches, recipients=recipients):
            tx.executemany(
                "INSERT INTO batches (id, account_id, type, sender, client_reference, created_at, modified_at, "
                "due_at, expire_at, expire_explicit, canceled, state, delivery_report, feedback_enabled, "
                "report_sent, doc, origin) VALUES (?, ?, 'mt_text', ?, ?, ?, ?, ?, ?, 0, 0, 'active', 'none', "
                "0, 0, ?, 'sms')",
                batches,
            )
            tx.executemany(
                "INSERT INTO recipients (batch_id, account_id, msisdn, status, code, final, parts, encoding, "
                "created_at, status_at) VALUES (?, ?, ?, ?, ?, 1, 1, 'text', ?, ?)",
                [(*r, r[-1]) for r in recipients],
            )

        db.run_sync(write)


def index(db: Database, upto: int, chunk: int) -> tuple[float, int]:
    """Index everything up to recipient id `upto` in the indexer's chunks; (seconds, rows)."""
    t0, rows = time.perf_counter(), 0
    while db.run_sync(search.watermark) < upto:
        rows += db.run_sync(lambda tx: search.index_next(tx, min(chunk, upto - search.watermark(tx))))
    return time.perf_counter() - t0, rows


def sample(db: Database, n: int) -> dict[str, str]:
    r = db.run_sync(
        lambda tx: tx.one(
            "SELECT r.msisdn, r.batch_id FROM recipients r WHERE r.id = ?",
            (n // 3,),
        )
    )
    return {"number": r.msisdn[3:10], "batch": r.batch_id, "ref": f"ref-{(n // 3) // 10 * 10}"}


async def timed(db: Database, f: messages.Filter, runs: int, before: int | None = None) -> tuple[list[float], int]:
    out, found = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        rows = await db.read(messages.page, f, before, 51)
        msgspec.json.encode(SimMessages([message(r) for r in rows[:50]], None))
        out.append((time.perf_counter() - t) * 1000)
        found = len(rows[:50])
    return out, found


async def queries(db: Database, n: int, runs: int) -> None:
    s = sample(db, n)
    cases = [
        ("newest page, no search", messages.Filter(), None),
        ("a page deep down (after = n/2), no search", messages.Filter(), n // 2),
        ("rare word (1 message)", messages.Filter(q=NEEDLE), None),
        ("7 digits of a number", messages.Filter(q=s["number"]), None),
        ("a batch id", messages.Filter(q=s["batch"]), None),
        ("a client_reference", messages.Filter(q=s["ref"]), None),
        ("common word", messages.Filter(q="parcel"), None),
        ("two common words", messages.Filter(q="parcel invoice"), None),
        ("common word + status Failed (1 %)", messages.Filter(q="parcel", statuses=["Failed"]), None),
        ("no match", messages.Filter(q="qqqxyzzy"), None),
        ("status Failed, no search", messages.Filter(statuses=["Failed"]), None),
    ]
    print(f"{'query':45} {'found':>5} {'median ms':>10} {'p95 ms':>8}")
    for name, f, before in cases:
        await timed(db, f, 1, before)  # warm the cache the way a second search would find it
        ms, found = await timed(db, f, runs, before)
        print(f"{name:45} {found:>5} {statistics.median(ms):>10.1f} {pct(ms, 95):>8.1f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--tail", type=int, default=2_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=2_000)
    ap.add_argument("--database", help="postgresql://... (a fresh schema is made); default SQLite in a temp dir")
    args = ap.parse_args()
    url = fresh_pg_schema(args.database) if args.database else f"sqlite:///{tempfile.mkdtemp()}/search.sqlite3"
    db = Database(url)
    schema.migrate(db)
    t = time.perf_counter()
    fill(db, args.messages)
    print(f"filled {args.messages:,} messages in {time.perf_counter() - t:.0f} s ({db.dialect})", flush=True)
    secs, rows = index(db, args.messages - args.tail, args.chunk)
    print(
        f"indexed {rows:,} rows in {secs:.0f} s: {rows / secs:,.0f} rows/s, "
        f"{secs / rows * 1e6:.0f} us of the writer per row, chunks of {args.chunk}; {args.tail:,} left in the tail",
        flush=True,
    )
    if db.dialect == "postgresql":
        db.run_sync(lambda tx: tx.execute("ANALYZE"))

    async def go() -> None:
        await db.start()
        try:
            await queries(db, args.messages, args.runs)
        finally:
            await db.close()

    asyncio.run(go())


if __name__ == "__main__":
    sys.exit(main())
