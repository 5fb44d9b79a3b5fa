"""The store's hot statements alone on PostgreSQL, and the variants tried beside them.

    python bench/pg_statements.py [--pg postgresql://...] [--rounds 80] [params insert indexes claim lookup doc]

Each case runs in a fresh schema of the given server (dropped at exit), from psycopg with
nothing else of ours running, the variants of a case interleaved round by round so the
machine's drift touches them alike; it prints the median milliseconds of one statement (its
transaction included) and, where it says something, the WAL bytes a row:

- `insert`: 1000 recipients of a new batch, as `store/recipients.insert_queued` writes them
  (`unnest ... ORDER BY n`) with and without `ON CONFLICT (batch_id, msisdn) DO NOTHING`; COPY
  (psycopg `write_row`, and one joined write); without `ORDER BY n`; the array sent binary (`%b`).
  The variant kept sends the array as a literal (`store/pgarray.py`), as the store's
  connections do.
- `params`: 1000 numbers and 1000 ids sent to `unnest(%s::text[])` / `unnest(%s::bigint[])`
  through psycopg's own list dumper and as a literal (`store/pgarray.py`): the client's work
  for one array parameter, the server's parse included.
- `indexes`: the same insert without the clause into copies of the table: as migrated, with
  `COLLATE "C"` text columns, without the queue index, without the unique index, with neither.
- `claim`: claims of 1000 from 200,000 queued rows, as `store/queue.claim` (`FOR UPDATE SKIP
  LOCKED` in a CTE) and as a plain `UPDATE ... WHERE id IN (SELECT ... LIMIT n)`.
- `lookup`: the receipts' lookup of `store/smpp.py` for 500 keys among 40,000 and 200,000
  parts, with `IN (...)` and as a join from `unnest(keys)` (the statement is prepared, as
  psycopg does after five runs, so later runs may use a generic plan).
- `doc`: a 1000-number batch document (~16 KB) inserted with pglz and with lz4 compression.

Figures and what was kept: docs/benchmarks.md, sections 1, 3 and 6.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from collections.abc import Callable

import msgspec
import psycopg

from common import fresh_pg_schema
from openxms.store import pgarray, schema
from openxms.store.db import Database

PG = "postgresql://postgres@127.0.0.1:5432/postgres"
COLS = "(batch_id, account_id, msisdn, status, code, created_at, status_at)"
UNNEST = "SELECT %s, 'SM1', m, 'Queued', 400, 1, 1 FROM unnest(%s::text[]) WITH ORDINALITY AS t(m, n) ORDER BY n"


def migrated(url: str) -> psycopg.Connection:
    """A fresh schema with openxms's tables, and an autocommit connection to it."""
    url = fresh_pg_schema(url)
    schema.migrate(Database(url))
    return psycopg.connect(url, autocommit=True)


def lsn(c: psycopg.Connection) -> str:
    return c.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]


def wal_since(c: psycopg.Connection, start: str) -> int:
    return int(c.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", (start,)).fetchone()[0])


def race(c: psycopg.Connection, variants: dict[str, Callable[[int], int]], rounds: int) -> None:
    """Run each variant once per round (in turn), each in a transaction of its own; print the
    median ms and WAL bytes per row (a variant returns the rows it wrote, 0 for none)."""
    times: dict[str, list[float]] = {k: [] for k in variants}
    wal = dict.fromkeys(variants, 0)
    rows = dict.fromkeys(variants, 0)
    for i in range(rounds):
        for name, run in variants.items():
            start = lsn(c)
            t = time.perf_counter()
            with c.transaction():
                rows[name] += run(i)
            times[name].append(time.perf_counter() - t)
            wal[name] += wal_since(c, start)
    for name in variants:
        per_row = f", WAL {wal[name] / rows[name]:,.0f} bytes a row" if rows[name] else ""
        print(f"  {name:<34} {1000 * statistics.median(times[name]):7.2f} ms{per_row}")


def numbers(i: int, n: int = 1000) -> list[str]:
    return [f"4670{i:04d}{j:05d}" for j in range(n)]


def batch_id() -> str:
    return "01" + secrets.token_hex(12).upper()


def case_insert(url: str, rounds: int) -> None:
    c = migrated(url)

    def sql(text: str) -> Callable[[int], int]:
        def run(i: int) -> int:
            c.execute("INSERT INTO recipients " + COLS + " " + text, (batch_id(), numbers(i)))
            return 1000

        return run

    def literal_sql(text: str) -> Callable[[int], int]:
        def run(i: int) -> int:
            c.execute("INSERT INTO recipients " + COLS + " " + text, (batch_id(), pgarray.literal(numbers(i))))
            return 1000

        return run

    def copy_rows(i: int) -> int:
        b = batch_id()
        with c.cursor().copy("COPY recipients " + COLS + " FROM STDIN") as cp:
            for m in numbers(i):
                cp.write_row((b, "SM1", m, "Queued", 400, 1, 1))
        return 1000

    def copy_joined(i: int) -> int:
        head, tail = f"{batch_id()}\tSM1\t", "\tQueued\t400\t1\t1\n"
        with c.cursor().copy("COPY recipients " + COLS + " FROM STDIN") as cp:
            cp.write("".join([head + m + tail for m in numbers(i)]).encode())
        return 1000

    print("insert: 1000 recipients of a new batch")
    race(
        c,
        {
            "unnest, ON CONFLICT DO NOTHING": sql(UNNEST + " ON CONFLICT (batch_id, msisdn) DO NOTHING"),
            "unnest (a new batch)": sql(UNNEST),
            "unnest, the array a literal (kept)": literal_sql(UNNEST),
            "COPY, write_row": copy_rows,
            "COPY, one joined write": copy_joined,
            "unnest, no ORDER BY": sql("SELECT %s, 'SM1', m, 'Queued', 400, 1, 1 FROM unnest(%s::text[]) AS t(m)"),
            "unnest, the array binary (%b)": sql(UNNEST.replace("%s::text[]", "%b::text[]")),
        },
        rounds,
    )


def case_indexes(url: str, rounds: int) -> None:
    c = migrated(url)
    shapes = {
        "as migrated": ("", True, True),
        'text columns COLLATE "C"': (' COLLATE "C"', True, True),
        "no queue index": ("", True, False),
        "no unique (batch_id, msisdn)": ("", False, True),
        "neither": ("", False, False),
    }
    for n, (collate, unique, queue) in enumerate(shapes.values()):
        c.execute(
            f"CREATE TABLE t{n} (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            f"batch_id TEXT{collate} NOT NULL, account_id TEXT{collate} NOT NULL, msisdn TEXT{collate} NOT NULL, "
            "status TEXT NOT NULL, code INTEGER NOT NULL, final INTEGER NOT NULL DEFAULT 0, claimed_by TEXT, "
            "attempts INTEGER NOT NULL DEFAULT 0, parts INTEGER, encoding TEXT, created_at BIGINT NOT NULL, "
            "status_at BIGINT NOT NULL, operator_status_at BIGINT" + (", UNIQUE (batch_id, msisdn))" if unique else ")")
        )
        if queue:
            c.execute(f"CREATE INDEX ON t{n} (account_id, id) WHERE status = 'Queued' AND claimed_by IS NULL")
        c.execute(f"CREATE INDEX ON t{n} (claimed_by) WHERE claimed_by IS NOT NULL AND status = 'Queued'")
        c.execute(f"CREATE INDEX ON t{n} (account_id, status_at) WHERE final = 1")

    def into(n: int) -> Callable[[int], int]:
        def run(i: int) -> int:
            c.execute(f"INSERT INTO t{n} " + COLS + " " + UNNEST, (batch_id(), numbers(i)))
            return 1000

        return run

    print("indexes: the same insert (no ON CONFLICT) into copies of the recipients table")
    race(c, {name: into(n) for n, name in enumerate(shapes)}, rounds)


def case_claim(url: str, rounds: int) -> None:
    c = migrated(url)
    for acct in ("A", "B"):
        for i in range(rounds):
            c.execute(
                "INSERT INTO recipients " + COLS + " " + UNNEST.replace("'SM1'", f"'{acct}'"), (batch_id(), numbers(i))
            )
    c.execute("VACUUM ANALYZE recipients")
    skip_locked = (
        "WITH c AS (SELECT id FROM recipients WHERE account_id = 'A' AND status = 'Queued' AND claimed_by IS NULL "
        "ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED) UPDATE recipients r SET claimed_by = 'n', "
        "attempts = r.attempts + 1 FROM c WHERE r.id = c.id AND r.claimed_by IS NULL RETURNING r.id"
    )
    plain = (
        "UPDATE recipients r SET claimed_by = 'n', attempts = r.attempts + 1 WHERE r.id IN (SELECT id FROM "
        "recipients WHERE account_id = 'B' AND status = 'Queued' AND claimed_by IS NULL ORDER BY id LIMIT 1000) "
        "AND r.claimed_by IS NULL RETURNING r.id"
    )
    print(f"claim: 1000 at a time from {1000 * rounds:,} queued rows")
    race(
        c,
        {
            "FOR UPDATE SKIP LOCKED (kept)": lambda i: len(c.execute(skip_locked).fetchall()),
            "plain UPDATE ... IN (SELECT ...)": lambda i: len(c.execute(plain).fetchall()),
        },
        rounds,
    )


def case_lookup(url: str, rounds: int) -> None:
    for parts in (40_000, 200_000):
        c = migrated(url)
        c.execute(
            "INSERT INTO recipients " + COLS + " SELECT 'b' || (i / 1000), 'SM1', '1202' || i, 'Dispatched', 400, 1, 1 "
            "FROM generate_series(1, %s) i",
            (parts,),
        )
        c.execute(
            "INSERT INTO smpp_parts (account_id, message_key, recipient_id, part, total, submitted_at) "
            "SELECT 'SM1', 'k' || i, i, 1, 1, 1 FROM generate_series(1, %s) i",
            (parts,),
        )
        c.execute("ANALYZE")
        keys = [f"k{i}" for i in range(parts - 1500, parts, 3)]
        cols = "p.id, p.message_key, p.recipient_id, p.total, p.state, p.submitted_at, r.msisdn"
        in_list = (
            f"SELECT {cols} FROM smpp_parts p LEFT JOIN recipients r ON r.id = p.recipient_id "
            f"WHERE p.account_id = %s AND p.message_key IN ({','.join(['%s'] * len(keys))}) ORDER BY p.id DESC"
        )
        joined = (
            f"SELECT {cols} FROM unnest(%s::text[]) AS k(key) JOIN smpp_parts p ON p.account_id = %s "
            "AND p.message_key = k.key LEFT JOIN recipients r ON r.id = p.recipient_id ORDER BY p.id DESC"
        )
        print(f"lookup: 500 keys among {parts:,} parts")

        def run(sql: str, params: list) -> Callable[[int], int]:
            def go(i: int) -> int:
                assert len(c.execute(sql, params, prepare=True).fetchall()) == len(keys)
                return 0

            return go

        race(
            c,
            {"IN (...)": run(in_list, ["SM1", *keys]), "join from unnest(keys) (kept)": run(joined, [keys, "SM1"])},
            rounds,
        )


def case_doc(url: str, rounds: int) -> None:
    c = migrated(url)
    c.execute("CREATE TABLE d_pglz (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    c.execute("CREATE TABLE d_lz4 (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    c.execute("ALTER TABLE d_lz4 ALTER doc SET COMPRESSION lz4")

    def doc(i: int) -> str:
        return msgspec.json.encode({"id": batch_id(), "to": numbers(i), "from": "12345", "body": "Hello"}).decode()

    def into(table: str) -> Callable[[int], int]:
        def run(i: int) -> int:
            c.execute(f"INSERT INTO {table} VALUES (%s, %s)", (batch_id(), doc(i)))
            return 0

        return run

    print("doc: a 1000-number batch document (TOASTed)")
    race(c, {"pglz (the default, kept)": into("d_pglz"), "lz4": into("d_lz4")}, rounds)


def case_params(url: str, rounds: int) -> None:
    c = migrated(url)
    ids = list(range(10**9, 10**9 + 1000))

    def run(sql: str, value: Callable[[int], object]) -> Callable[[int], int]:
        def go(i: int) -> int:
            c.execute(sql, (value(i),))
            return 0

        return go

    text, bigint = "SELECT count(*) FROM unnest(%s::text[])", "SELECT count(*) FROM unnest(%s::bigint[])"
    print("params: one array parameter of 1000 elements")
    race(
        c,
        {
            "text[], psycopg's list dumper": run(text, numbers),
            "text[], a literal (kept)": run(text, lambda i: pgarray.literal(numbers(i))),
            "bigint[], psycopg's list dumper": run(bigint, lambda i: ids),
            "bigint[], a literal (kept)": run(bigint, lambda i: pgarray.literal(ids)),
        },
        rounds * 4,
    )


CASES = {
    "params": case_params,
    "insert": case_insert,
    "indexes": case_indexes,
    "claim": case_claim,
    "lookup": case_lookup,
    "doc": case_doc,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", metavar="CASE", help=f"any of {', '.join(CASES)} (default: all)")
    ap.add_argument("--pg", default=PG, help="PostgreSQL server (a fresh schema per case)")
    ap.add_argument("--rounds", type=int, default=80)
    args = ap.parse_args()
    unknown = [name for name in args.cases if name not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    for name in args.cases or CASES:
        CASES[name](args.pg, args.rounds)


if __name__ == "__main__":
    main()
