"""Every outbound message, for the web UI: one recipient row of any batch (SMS API batches and
the one-recipient batches that carry Conversation API messages on SMS), newest first, with what
its batch, its handset copy (`sim_messages`) and its Conversation message add.

Pages are keyset pages over the recipient id (`before`: the last id of the previous page), so a
page costs the same at the 1st and the 100,000th message. Searching goes through the search
index (`search.py`) up to its watermark and scans the rows past it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import outbox, search, smpp
from .db import Row, Tx


@dataclass
class Filter:
    plans: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    code: int | None = None
    start: int | None = None  # queued at or after (ms)
    end: int | None = None  # queued before (ms)
    batch_id: str | None = None
    q: str = ""  # search text


_BODY = {"sqlite": "json_extract(b.doc, '$.body')", "postgresql": "(b.doc::jsonb ->> 'body')"}

_SELECT = (
    "SELECT r.id, r.batch_id, r.account_id, r.msisdn, r.status, r.code, r.final, r.parts, r.encoding, "
    "r.created_at, r.status_at, r.operator_status_at, b.type, b.type AS batch_type, b.sender, b.client_reference, "
    "b.origin, "
    "b.created_at AS accepted_at, {body} AS batch_body, s.body AS sim_body, s.udh, s.encoding AS sim_encoding, "
    "s.parts AS sim_parts, s.received_at, c.app_id AS conv_app_id, c.project_id AS conv_project_id, "
    "c.status AS conv_status, c.batch_id AS conv_batch_id "
    "FROM recipients r JOIN batches b ON b.id = r.batch_id {join} "
    "LEFT JOIN sim_messages s ON s.recipient_id = r.id LEFT JOIN conv_messages c ON c.recipient_id = r.id"
)


def _conditions(tx: Tx, f: Filter, before: int | None, key: str) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    for sql, value in (
        (f"{key} < ?", before),
        ("r.code = ?", f.code),
        ("r.created_at >= ?", f.start),
        ("r.created_at < ?", f.end),
        ("r.batch_id = ?", f.batch_id),
    ):
        if value is not None:
            where.append(sql)
            args.append(value)
    for column, values in (("r.account_id", f.plans), ("r.status", f.statuses)):
        if values:
            where.append(f"{column} IN {tx.in_list(values)}")
            args += values
    return where, args


def _query(tx: Tx, f: Filter, before: int | None, limit: int, match: search.Match | None, extra: str, xargs: list):
    # The search index drives the query when there is one: keyed and ordered by its rowid (= r.id).
    join = match.join if match is not None else ""
    key = "f.rowid" if join else "r.id"
    where, args = _conditions(tx, f, before, key)
    if match is not None:
        if match.where:
            where.append(match.where)
            args += match.args
    if extra:
        where.append(extra)
        args += xargs
    sql = _SELECT.format(body=_BODY[tx.dialect], join=join)
    if where:
        sql += " WHERE " + " AND ".join(where)
    return tx.all(sql + f" ORDER BY {key} DESC LIMIT ?", [*args, limit])


def page(tx: Tx, f: Filter, before: int | None, limit: int) -> list[Row]:
    """Up to `limit` messages matching `f` older than `before` (None: the newest), newest first."""
    words = search.terms(f.q)
    if not words:
        return _query(tx, f, before, limit, None, "", [])
    if tx.dialect == "postgresql":
        # psycopg prepares a statement run 5 times, and PostgreSQL then switches to a generic plan
        # that cannot see the pattern: it walks the whole index backwards instead of asking the
        # trigram index (0.6 s instead of 10 ms at 1M rows, bench/ui_search.py). Plan each search
        # for its own pattern (https://www.postgresql.org/docs/current/runtime-config-query.html).
        tx.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    w = search.watermark(tx)
    tail: list[Row] = []
    if before is None or before > w + 1:
        m = search.unindexed(tx, words)
        tail = _query(tx, f, before, limit, None, "r.id > ? AND " + m.where, [w, *m.args])
    if len(tail) >= limit:
        return tail
    rest = _query(
        tx,
        f,
        before if before is not None and before <= w else w + 1,
        limit - len(tail),
        search.indexed(tx, words),
        "",
        [],
    )
    return tail + rest


def get(tx: Tx, recipient_id: int) -> Row | None:
    rows = _query(tx, Filter(), None, 1, None, "r.id = ?", [recipient_id])
    return rows[0] if rows else None


class Detail(NamedTuple):
    message: Row
    submits: list[smpp.Submitted]  # its parts' submit_sm, when it went over SMPP
    callbacks: list[Row]  # the callbacks about it (outbox rows), oldest first


def detail(tx: Tx, recipient_id: int, callbacks: int = 100) -> Detail | None:
    """One message, what its connector kept of how it was sent, and the callbacks it caused:
    its per-recipient delivery reports and its batch's report (an SMS API message), or its
    Conversation receipts (a carrier, whose batch id is the Conversation message's)."""
    m = get(tx, recipient_id)
    if m is None:
        return None
    return Detail(m, smpp.submits_of(tx, recipient_id), outbox.about(tx, m.batch_id, m.msisdn, callbacks))
