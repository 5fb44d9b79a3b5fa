"""What SQLite itself costs the writer for a 1000-recipient batch, and each index's share (P2).

    python bench/sqlite_insert.py [--batches 1200] [--recipients 1000] [--rounds 2]

The recipients table as `store/schema.py` creates it (read back from a migrated database),
filled the way `store/recipients.insert_queued` does (one `INSERT ... SELECT FROM json_each`
per batch, its own transaction, WAL with synchronous=NORMAL), then the same without the
queue index, without the UNIQUE (batch_id, msisdn) index, and without both. A PASSIVE
checkpoint runs every 50 commits, outside the timed insert + COMMIT but inside the CPU figure
(the server runs it on a thread of its own, `store/checkpoint.py`). Prints the median time of
one insert + COMMIT, the floor of what accepting a batch costs the writer thread on this
machine (no HTTP, event loop or batch row), and the process CPU per batch, checkpoints
included.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import tempfile
import time
from pathlib import Path

import msgspec

from openxms.store import schema
from openxms.store.db import Database

INSERT = (
    "INSERT INTO recipients (batch_id, account_id, msisdn, status, code, created_at, status_at) "
    "SELECT ?, ?, value, 'Queued', 400, ?, ? FROM json_each(?) WHERE true {conflict}"
)


def schema_sql() -> tuple[str, list[str]]:
    """The recipients table's CREATE TABLE and its CREATE INDEX statements, as migrated."""
    with tempfile.TemporaryDirectory() as d:
        db = Database(f"sqlite:///{d}/schema.db")
        schema.migrate(db)
        conn = sqlite3.connect(f"{d}/schema.db")
        table = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'recipients'").fetchone()
        indexes = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'recipients' AND sql IS NOT NULL"
        ).fetchall()
        conn.close()
    return table[0], [i[0] for i in indexes]


def run(table: str, indexes: list[str], batches: int, recipients: int, conflict: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as d:
        conn = sqlite3.connect(Path(d) / "x.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "temp_store=MEMORY", "cache_size=-65536"):
            conn.execute(f"PRAGMA {pragma}")
        for stmt in [table, *indexes]:
            conn.execute(stmt)
        sql = INSERT.format(conflict="ON CONFLICT (batch_id, msisdn) DO NOTHING" if conflict else "")
        numbers = msgspec.json.encode([f"1201{i:07d}" for i in range(recipients)]).decode()
        times = []
        cpu = time.process_time()
        for b in range(batches):
            t = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql, (f"01K{b:023d}", "PLAN", b, b, numbers))
            conn.execute("COMMIT")
            times.append(time.perf_counter() - t)
            if b % 50 == 49:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        cpu = time.process_time() - cpu
        conn.close()
    times.sort()
    return times[len(times) // 2], cpu / batches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=1200)
    ap.add_argument("--recipients", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    table, indexes = schema_sql()
    no_unique = re.sub(r",\s*UNIQUE \(batch_id, msisdn\)", "", table)
    assert no_unique != table, "the recipients table no longer has UNIQUE (batch_id, msisdn)"
    assert any("recipients_queue" in i for i in indexes), "no recipients_queue index found"
    others = [i for i in indexes if "recipients_queue" not in i]  # partial: empty while rows are queued
    cases = [
        ("as created", table, indexes, True),
        ("without the queue index", table, others, True),
        ("without UNIQUE (batch_id, msisdn)", no_unique, indexes, False),
        ("without both", no_unique, others, False),
    ]
    for r in range(args.rounds):
        for name, t, idx, conflict in cases:
            median, cpu = run(t, idx, args.batches, args.recipients, conflict)
            print(
                f"round {r + 1} {name:34s} insert + COMMIT median {median * 1e3:6.3f} ms, CPU {cpu * 1e3:6.3f} ms "
                f"per batch of {args.recipients}",
                flush=True,
            )


if __name__ == "__main__":
    main()
