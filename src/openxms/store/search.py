"""The message search index (`msg_search`): one row per recipient (rowid = recipient id) with
the text a tester searches for: the number, the sender, the body, the batch id and the
client_reference.

It is filled off the send path: the send transaction (the benchmarked hot path) writes no index
row. The engine's indexer (engine/search_index.py) calls `index_next` in bounded chunks, each
one unit of work on the single writer, and keeps the last recipient id indexed (the watermark)
in `meta`. A search reads the index up to the watermark and scans the few rows past it (the
tail not indexed yet) directly, so a message is found from the moment its batch is accepted.

SQLite: FTS5 with the trigram tokenizer (any substring of 3+ characters, case-insensitive).
PostgreSQL: one text column under a pg_trgm GIN index, searched with ILIKE. The tail is matched
with LIKE on SQLite, which folds ASCII letters only: until a row is indexed (under a second when
idle), a non-ASCII letter matches in the case it was sent in.

On PostgreSQL, transactions of several nodes can commit recipient ids out of order: a row may
commit below the watermark after it moved on. `index_next` therefore also re-checks the last
`LOOKBACK` ids below the watermark for rows not indexed yet (on SQLite one writer commits ids in
order, so it never has to).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .db import Tx

WATERMARK = "msg_search_watermark"
LOOKBACK = 5000
# The text of a recipient row as both databases index it; the tail scan uses the same.
_SQLITE_BODY = "coalesce(json_extract(b.doc, '$.body'), '')"
_PG_BODY = "coalesce(b.doc::jsonb ->> 'body', '')"
_PG_DOC = f"concat_ws(E'\\n', r.msisdn, b.sender, {_PG_BODY}, r.batch_id, b.client_reference)"
_SQLITE_DOC = (
    f"r.msisdn || char(10) || coalesce(b.sender, '') || char(10) || {_SQLITE_BODY} || char(10) || "
    "r.batch_id || char(10) || coalesce(b.client_reference, '')"
)


def doc_expr(tx: Tx) -> str:
    """The SQL of a row's searchable text over `recipients r JOIN batches b`."""
    return _PG_DOC if tx.dialect == "postgresql" else _SQLITE_DOC


def watermark(tx: Tx) -> int:
    v = tx.scalar("SELECT value FROM meta WHERE key = ?", (WATERMARK,))
    return int(v) if v is not None else 0


def _set_watermark(tx: Tx, value: int) -> None:
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (WATERMARK, str(value)),
    )


def index_next(tx: Tx, limit: int) -> int:
    """Index up to `limit` recipients past the watermark (and, on PostgreSQL, late ones below it);
    returns how many rows were indexed."""
    w = watermark(tx)
    upper = tx.scalar("SELECT max(id) FROM (SELECT id FROM recipients WHERE id > ? ORDER BY id LIMIT ?) t", (w, limit))
    n = 0
    if tx.dialect == "postgresql":
        low = max(0, w - LOOKBACK)
        tx.execute(
            f"INSERT INTO msg_search (rowid, doc) SELECT r.id, {_PG_DOC} FROM recipients r "
            "JOIN batches b ON b.id = r.batch_id WHERE r.id > ? AND r.id <= ? "
            "AND NOT EXISTS (SELECT 1 FROM msg_search s WHERE s.rowid = r.id) ON CONFLICT (rowid) DO NOTHING",
            (low, upper if upper is not None else w),
        )
        n = tx.rowcount
    elif upper is not None:
        tx.execute(
            "INSERT INTO msg_search (rowid, msisdn, sender, body, batch_id, client_reference) "
            f"SELECT r.id, r.msisdn, coalesce(b.sender, ''), {_SQLITE_BODY}, r.batch_id, "
            "coalesce(b.client_reference, '') FROM recipients r JOIN batches b ON b.id = r.batch_id "
            "WHERE r.id > ? AND r.id <= ? ORDER BY r.id",
            (w, upper),
        )
        n = tx.rowcount
    if upper is not None:
        _set_watermark(tx, upper)
    return n


def forget(tx: Tx, recipient_ids: list[int]) -> None:
    """Drop the index rows of deleted recipients (retention)."""
    if recipient_ids:
        tx.execute(f"DELETE FROM msg_search WHERE rowid IN {tx.in_list(recipient_ids)}", recipient_ids)


# Queries ----------------------------------------------------------------------------------

_PHONE = re.compile(r"\+?[\d\s().-]+")
MIN_TRIGRAM = 3


def terms(q: str) -> list[str]:
    """The words of a search, every one of which must occur. A query that looks like a phone
    number (`+1 (201) 555-01`) is one term, its digits, since numbers are stored as digits."""
    q = q.strip()
    if not q:
        return []
    if _PHONE.fullmatch(q) and sum(c.isdigit() for c in q) >= MIN_TRIGRAM:
        return ["".join(c for c in q if c.isdigit())]
    return list(dict.fromkeys(q.split()))


def like_pattern(term: str) -> str:
    """A LIKE pattern matching `term` anywhere (its %, _ and \\ escaped; use ESCAPE '\\')."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Match(NamedTuple):
    """SQL to add to a query over `recipients r JOIN batches b`: a join and a condition."""

    join: str
    where: str
    args: list


def indexed(tx: Tx, words: list[str]) -> Match:
    """Rows of the index whose text holds every word (drive the query from `f`)."""
    if tx.dialect == "postgresql":
        where = " AND ".join("f.doc ILIKE ? ESCAPE '\\'" for _ in words)
        return Match("JOIN msg_search f ON f.rowid = r.id", where, [like_pattern(w) for w in words])
    long = [w for w in words if len(w) >= MIN_TRIGRAM]
    short = [w for w in words if len(w) < MIN_TRIGRAM]  # the trigram index cannot look these up
    parts: list[str] = []
    args: list = []
    if long:
        parts.append("msg_search MATCH ?")
        args.append(" ".join('"' + w.replace('"', '""') + '"' for w in long))
    cols = ("f.msisdn", "f.sender", "f.body", "f.batch_id", "f.client_reference")
    for w in short:
        parts.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in cols) + ")")
        args += [like_pattern(w)] * len(cols)
    return Match("JOIN msg_search f ON f.rowid = r.id", " AND ".join(parts), args)


def unindexed(tx: Tx, words: list[str]) -> Match:
    """The same test on the rows past the watermark, computed from the rows themselves."""
    op = "ILIKE" if tx.dialect == "postgresql" else "LIKE"
    doc = doc_expr(tx)
    where = " AND ".join(f"{doc} {op} ? ESCAPE '\\'" for _ in words)
    return Match("", where, [like_pattern(w) for w in words])
