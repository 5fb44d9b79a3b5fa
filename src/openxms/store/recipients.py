"""Recipient rows, one per batch x recipient: created when a batch becomes due (groups resolved
then, as Sinch does), removed again while still undispatched (update, replace), and their
status columns. The same rows are the queue (`queue.py` claims them) and the delivery reports
(`reports.py` reads them). Which status change is allowed, and what it causes, is decided in
`engine/status.py`; the SQL that records it is here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple

import msgspec

from .. import metrics
from ..sms.msisdn import split_targets
from .db import Tx

CHUNK = 500  # ids per IN (...) list


def chunks(values: list, n: int = CHUNK):
    for i in range(0, len(values), n):
        yield values[i : i + n]


def group_tree(tx: Tx, account_id: str, group_ids: list[str]) -> list[str]:
    """These groups and their child groups, transitively, in breadth-first order; deleted ones
    (and ones of another account) are left out."""
    seen: set[str] = set()
    pending = list(dict.fromkeys(group_ids))
    live: list[str] = []
    while pending:
        batch = [g for g in pending if g not in seen]
        seen.update(batch)
        pending = []
        if not batch:
            break
        rows = tx.all(
            f"SELECT id, child_groups FROM groups WHERE account_id = ? AND id IN {tx.in_list(batch)}",
            [account_id, *batch],
        )
        found = {r.id: r for r in rows}
        for g in batch:
            if g in found:
                live.append(g)
                pending += [c for c in json.loads(found[g].child_groups or "[]") if c not in seen]
    return live


def members_count(tx: Tx, group_ids: list[str]) -> int:
    """Members of these groups, counted with repeats (an upper bound of the distinct numbers)."""
    n = 0
    for part in chunks(group_ids):
        n += tx.scalar(f"SELECT count(*) FROM group_members WHERE group_id IN {tx.in_list(part)}", part, 0)
    return n


def members_page(tx: Tx, group_id: str, after: str, limit: int) -> list[str]:
    """Up to `limit` members of one group after `after`, in number order (a resumable cursor)."""
    return [
        r.msisdn
        for r in tx.all(
            "SELECT msisdn FROM group_members WHERE group_id = ? AND msisdn > ? ORDER BY msisdn LIMIT ?",
            (group_id, after, limit),
        )
    ]


def group_members(tx: Tx, account_id: str, group_ids: list[str]) -> list[str]:
    """Members of these groups and their child groups (deleted groups count as empty)."""
    live = group_tree(tx, account_id, group_ids)
    members: list[str] = []
    for part in chunks(live):
        members += [
            r.msisdn
            for r in tx.all(
                f"SELECT msisdn FROM group_members WHERE group_id IN {tx.in_list(part)} ORDER BY group_id, msisdn", part
            )
        ]
    return members


def resolve(tx: Tx, account_id: str, targets: list[str]) -> list[str]:
    """`to` (numbers and group ids) -> unique MSISDNs, numbers first in their order."""
    numbers, groups = split_targets(targets)
    if not groups:
        return list(dict.fromkeys(numbers))
    return list(dict.fromkeys(numbers + group_members(tx, account_id, groups)))


def insert_queued(tx: Tx, batch_id: str, account_id: str, msisdns: list[str], now: int, *, new: bool = False) -> None:
    """Queue recipients (FIFO = id order). A number already in the batch keeps its row.

    `new`: the batch was inserted in this transaction and `msisdns` are distinct, so no row can
    conflict, and the statement has no ON CONFLICT clause. On PostgreSQL the clause makes each
    row a speculative insertion checked against the unique index first: without it a 1000-row
    insert took 6.1 instead of 8.2 ms alone, and two API nodes accepted ~1.25x the recipients/s
    (docs/benchmarks.md §6). A repeat then raises instead of being dropped (both dialects), so
    only a fresh send passes it."""
    if not msisdns:
        return
    metrics.RECIPIENTS_QUEUED.inc((account_id,), len(msisdns))
    tx.emit({"event": "queued", "count": len(msisdns)})  # the web UI's live stream (live.py)
    insert = "INSERT INTO recipients (batch_id, account_id, msisdn, status, code, created_at, status_at) "
    conflict = "" if new else " ON CONFLICT (batch_id, msisdn) DO NOTHING"
    if tx.dialect == "postgresql":
        tx.execute(
            insert + "SELECT ?, ?, m, 'Queued', 400, ?, ? FROM unnest(?::text[]) WITH ORDINALITY AS t(m, n) "
            "ORDER BY n" + conflict,
            (batch_id, account_id, now, now, msisdns),
        )
    elif len(msisdns) == 1:  # most sends: a plain VALUES row is half the CPU of json_each for one
        tx.execute(
            insert + "VALUES (?, ?, ?, 'Queued', 400, ?, ?)" + conflict, (batch_id, account_id, msisdns[0], now, now)
        )
    else:
        # json_each() walks the list inside SQLite: 3x faster than executemany binding each row.
        # It yields the array's elements in order (https://sqlite.org/json1.html#jeach: "walks
        # the JSON value"), and a scan of one table is not reordered, so ids follow the list
        # (FIFO) without `ORDER BY key`, whose temporary B-tree cost a quarter of the insert
        # (0.18 of 0.72 ms per 1000 rows). test_insert_queued_keeps_list_order guards this.
        # (`WHERE true` lets SQLite parse an ON CONFLICT after a SELECT: sqlite.org/lang_upsert.html.)
        tx.execute(
            insert + "SELECT ?, ?, value, 'Queued', 400, ?, ? FROM json_each(?) WHERE true" + conflict,
            (batch_id, account_id, now, now, msgspec.json.encode(msisdns).decode()),
        )


def expand(tx: Tx, batch_id: str, account_id: str, targets: list[str], now: int) -> int:
    """Queue a batch's recipients now (groups resolved as they are at this moment)."""
    msisdns = resolve(tx, account_id, targets)
    insert_queued(tx, batch_id, account_id, msisdns, now)
    return len(msisdns)


def drop_undispatched(tx: Tx, batch_id: str, msisdns: list[str] | None = None) -> int:
    """Forget queued, unclaimed rows (update removed them / replace or reschedule supersedes them)."""
    if msisdns is None:
        tx.execute(
            "DELETE FROM recipients WHERE batch_id = ? AND status = 'Queued' AND claimed_by IS NULL", (batch_id,)
        )
        return tx.rowcount
    n = 0
    for part in chunks(msisdns):
        tx.execute(
            f"DELETE FROM recipients WHERE batch_id = ? AND status = 'Queued' AND claimed_by IS NULL "
            f"AND msisdn IN {tx.in_list(part)}",
            [batch_id, *part],
        )
        n += tx.rowcount
    return n


def undispatched_ids(tx: Tx, batch_id: str) -> list[int]:
    return [
        r.id
        for r in tx.all(
            "SELECT id FROM recipients WHERE batch_id = ? AND status = 'Queued' AND claimed_by IS NULL ORDER BY id",
            (batch_id,),
        )
    ]


def undispatched_msisdns(tx: Tx, batch_id: str) -> list[str]:
    return [
        r.msisdn
        for r in tx.all(
            "SELECT msisdn FROM recipients WHERE batch_id = ? AND status = 'Queued' AND claimed_by IS NULL", (batch_id,)
        )
    ]


def ids_in_status(
    tx: Tx, batch_id: str, status: str, *, unclaimed: bool = False, msisdns: list[str] | None = None
) -> list[int]:
    """Recipient ids of a batch in one status (optionally only unclaimed ones, or these numbers)."""
    sql = "SELECT id FROM recipients WHERE batch_id = ? AND status = ?"
    args: list[Any] = [batch_id, status]
    if unclaimed:
        sql += " AND claimed_by IS NULL"
    if msisdns:
        sql += f" AND msisdn IN {tx.in_list(msisdns)}"
        args += msisdns
    return [r.id for r in tx.all(sql + " ORDER BY id", args)]


def count_open(tx: Tx, batch_ids: list[str]) -> dict[str, int]:
    """Non-final recipients per batch (a batch report is due when it reaches 0)."""
    out = {b: 0 for b in batch_ids}
    for part in chunks(batch_ids):
        for r in tx.all(
            f"SELECT batch_id, count(*) AS n FROM recipients WHERE final = 0 AND batch_id IN "
            f"{tx.in_list(part)} GROUP BY batch_id",
            part,
        ):
            out[r.batch_id] = r.n
    return out


# Status columns (the rules are engine/status.py's) ------------------------------------------


class Current(NamedTuple):
    final: bool
    status: str
    code: int
    batch_id: str
    parts: int | None = None
    encoding: str | None = None


def current(tx: Tx, ids: Iterable[int]) -> dict[int, Current]:
    """The status of these recipients now (ids not found are absent)."""
    out: dict[int, Current] = {}
    cols = "id, final, status, code, batch_id, parts, encoding"
    if tx.dialect == "postgresql":  # one statement, one array parameter
        rows = tx.all(
            f"SELECT {cols} FROM recipients WHERE id = ANY(?::bigint[])",
            (list(ids),),
        )
    else:
        rows = [
            r
            for part in chunks(list(ids))
            for r in tx.all(
                f"SELECT {cols} FROM recipients WHERE id IN {tx.in_list(part)}",
                part,
            )
        ]
    for r in rows:
        out[r.id] = Current(bool(r.final), r.status, r.code, r.batch_id, r.parts, r.encoding)
    return out


class StatusUpdate(NamedTuple):
    id: int
    status: str
    code: int
    final: bool
    operator_status_at: int | None
    parts: int | None
    encoding: str | None


def fill_parts(tx: Tx, rows: list[tuple[int, int | None, str | None]]) -> None:
    """(id, parts, encoding): fill in what a row does not know yet, whatever its status."""
    if tx.dialect == "postgresql" and rows:  # one statement over arrays (set_statuses)
        tx.execute(
            "UPDATE recipients r SET parts = COALESCE(r.parts, v.parts), encoding = COALESCE(r.encoding, v.encoding) "
            "FROM unnest(?::bigint[], ?::int[], ?::text[]) AS v(id, parts, encoding) WHERE r.id = v.id",
            ([rid for rid, _, _ in rows], [p for _, p, _ in rows], [e for _, _, e in rows]),
        )
        return
    tx.executemany(
        "UPDATE recipients SET parts = COALESCE(parts, ?), encoding = COALESCE(encoding, ?) WHERE id = ?",
        [(parts, enc, rid) for rid, parts, enc in rows],
    )


def set_statuses(tx: Tx, updates: list[StatusUpdate], now: int) -> None:
    """Write new statuses. A final row is never touched again (`final = 0` guard); reaching a
    final status also releases the dispatcher's claim. The ids are distinct (`engine/status.py`
    keeps one change per recipient): of a VALUES row joined twice, SQLite would apply one."""
    if tx.dialect == "sqlite":  # every message passes here twice: one statement per chunk (Tx.values)
        tx.values(
            "UPDATE recipients SET status = v.column2, code = v.column3, final = v.column4, status_at = v.column5, "
            "operator_status_at = COALESCE(v.column6, operator_status_at), parts = COALESCE(v.column7, parts), "
            "encoding = COALESCE(v.column8, encoding), "
            "claimed_by = CASE WHEN v.column4 = 1 THEN NULL ELSE claimed_by END "
            "FROM (VALUES {values}) AS v WHERE recipients.id = v.column1 AND recipients.final = 0",
            [(u.id, u.status, u.code, int(u.final), now, u.operator_status_at, u.parts, u.encoding) for u in updates],
        )
        return
    # PostgreSQL: one statement over arrays, not executemany's statement per row: a third of the
    # writer's CPU per row and less of the server's (docs/benchmarks.md, section 6, P6).
    if not updates:
        return
    tx.execute(
        "UPDATE recipients r SET status = v.status, code = v.code, final = v.final, status_at = ?, "
        "operator_status_at = COALESCE(v.operator_at, r.operator_status_at), parts = COALESCE(v.parts, r.parts), "
        "encoding = COALESCE(v.encoding, r.encoding), "
        "claimed_by = CASE WHEN v.final = 1 THEN NULL ELSE r.claimed_by END "
        "FROM unnest(?::bigint[], ?::text[], ?::int[], ?::int[], ?::bigint[], ?::int[], ?::text[]) "
        "AS v(id, status, code, final, operator_at, parts, encoding) WHERE r.id = v.id AND r.final = 0",
        (
            now,
            [u.id for u in updates],
            [u.status for u in updates],
            [u.code for u in updates],
            [int(u.final) for u in updates],
            [u.operator_status_at for u in updates],
            [u.parts for u in updates],
            [u.encoding for u in updates],
        ),
    )
