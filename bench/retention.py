"""Sending while the retention sweep deletes a million old messages (issue #12's goal: within
10 % of the same drain without a sweep).

Each run: a fresh SQLite database with `--old` finished messages (1000-recipient batches, 30
days old, as a server would have left them) and `--messages` new ones queued with the engine
off; then the engine starts and drains the new ones while, in the "sweep" case, retention
(14 days, checked every second) deletes the old ones in its chunks. Printed: the drain's
msg/s in each case and the ratio, and how many old rows the sweep had deleted by then.

    python bench/retention.py                      # 1,000,000 old, 20,000 new, 3 pairs
    python bench/retention.py --old 200000 --pairs 1

Bounded: loopback only; each drain has a 10-minute limit.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import PLAN, Server, queue_then_drain

DAY_MS = 86_400_000


def seed(url: str, old: int) -> None:
    """Migrate, then write `old` finished messages dated 30 days ago straight into SQLite."""
    from openxms.store import schema
    from openxms.store.db import Database, sqlite_path

    schema.migrate(Database(url))
    at = int(time.time() * 1000) - 30 * DAY_MS
    with sqlite3.connect(sqlite_path(url)) as c:
        for b in range(old // 1000):
            bid = f"OLD{b:023d}"
            c.execute(
                "INSERT INTO batches (id, account_id, type, sender, created_at, modified_at, due_at, expire_at, "
                "expire_explicit, canceled, state, delivery_report, feedback_enabled, report_sent, doc, origin) "
                "VALUES (?, ?, 'mt_text', '12025550100', ?, ?, ?, ?, 0, 0, 'active', 'none', 0, 0, '{}', 'sms')",
                (bid, PLAN, at, at, at, at + DAY_MS),
            )
            c.executemany(
                "INSERT INTO recipients (batch_id, account_id, msisdn, status, code, final, created_at, status_at) "
                "VALUES (?, ?, ?, 'Delivered', 0, 1, ?, ?)",
                [(bid, PLAN, f"1309{b:03d}{i:04d}", at, at) for i in range(1000)],
            )


def old_left(s: Server) -> int:
    return s.scalar("SELECT count(*) FROM recipients WHERE batch_id LIKE 'OLD%'")


def drain(old: int, messages: int, sweep: bool) -> tuple[float, int]:
    tmp = Path(tempfile.mkdtemp(prefix="openxms-bench-retention-"))
    cfg = tmp / "openxms.toml"
    cfg.write_text("[retention]\n" + ("days = 14\ninterval = 1\n" if sweep else "days = 0\n"))
    s = Server(rate=0, role="api", config=str(cfg), data_dir=str(tmp), setup=lambda url: seed(url, old))
    try:
        dt = queue_then_drain(s, messages, prefix="17", delivery_report="none")
        return messages / dt, old - old_left(s)
    finally:
        s.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=int, default=1_000_000)
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--pairs", type=int, default=3)
    args = ap.parse_args()
    ratios = []
    for _ in range(args.pairs):
        base, _ = drain(args.old, args.messages, sweep=False)
        swept, deleted = drain(args.old, args.messages, sweep=True)
        ratios.append(swept / base)
        print(
            f"drain of {args.messages:,} with {args.old:,} old rows: no sweep {base:,.0f} msg/s, "
            f"sweeping {swept:,.0f} msg/s ({deleted:,} old rows deleted meanwhile): ratio {swept / base:.2f}",
            flush=True,
        )
    print(f"median ratio {statistics.median(ratios):.2f} over {len(ratios)} pairs", flush=True)


if __name__ == "__main__":
    sys.exit(main())
