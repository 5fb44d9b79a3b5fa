"""Batch rows: insert, fetch, list, rewrite, and the scheduler's queries over them. The
recipients they expand into are in `recipients.py`; the rules that decide what to write are in
`services/batches.py`.

A batch moves through `state`: scheduled (waiting for `due_at`) -> [expanding (large groups
being turned into recipients, a chunk at a time)] -> active (recipients queued) -> expired
(past `expire_at`: nothing more is sent) -> closed (receipts no longer awaited).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .db import Tx


@dataclass
class BatchRow:
    id: str
    account_id: str
    type: str
    sender: str | None
    client_reference: str | None
    created_at: int
    modified_at: int
    due_at: int
    expire_at: int
    expire_explicit: bool
    canceled: bool
    state: str  # scheduled | active | canceled
    delivery_report: str
    callback_url: str | None
    feedback_enabled: bool
    report_sent: bool
    doc: str
    origin: str = "sms"  # "conversation": carries one Conversation message; not shown by the SMS API


_COLUMNS = (
    "id, account_id, type, sender, client_reference, created_at, modified_at, due_at, expire_at, "
    "expire_explicit, canceled, state, delivery_report, callback_url, feedback_enabled, report_sent, doc, "
    "origin"
)


def _row(r: Any) -> BatchRow:
    return BatchRow(
        r.id,
        r.account_id,
        r.type,
        r.sender,
        r.client_reference,
        r.created_at,
        r.modified_at,
        r.due_at,
        r.expire_at,
        bool(r.expire_explicit),
        bool(r.canceled),
        r.state,
        r.delivery_report,
        r.callback_url,
        bool(r.feedback_enabled),
        bool(r.report_sent),
        r.doc,
        r.origin,
    )


_DOCS: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()


def parsed_doc(b: BatchRow) -> dict[str, Any]:
    """`b.doc` as a dict, parsed once per batch version: a dispatcher renders thousands of
    recipients of the same few batches, and the document only changes with `modified_at`."""
    key = (b.id, b.modified_at)
    doc = _DOCS.get(key)
    if doc is None:
        doc = _DOCS[key] = json.loads(b.doc)
        if len(_DOCS) > 512:
            _DOCS.popitem(last=False)
    return doc


def insert(tx: Tx, b: BatchRow) -> None:
    tx.execute(
        f"INSERT INTO batches ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            b.id,
            b.account_id,
            b.type,
            b.sender,
            b.client_reference,
            b.created_at,
            b.modified_at,
            b.due_at,
            b.expire_at,
            int(b.expire_explicit),
            int(b.canceled),
            b.state,
            b.delivery_report,
            b.callback_url,
            int(b.feedback_enabled),
            int(b.report_sent),
            b.doc,
            b.origin,
        ),
    )


def get(tx: Tx, account_id: str, batch_id: str, *, for_update: bool = False) -> BatchRow | None:
    lock = " FOR UPDATE" if for_update and tx.dialect == "postgresql" else ""
    r = tx.one(
        f"SELECT {_COLUMNS} FROM batches WHERE id = ? AND account_id = ? AND origin = 'sms'{lock}",
        (batch_id, account_id),
    )
    return None if r is None else _row(r)


def get_doc(tx: Tx, account_id: str, batch_id: str) -> str | None:
    return tx.scalar(
        "SELECT doc FROM batches WHERE id = ? AND account_id = ? AND origin = 'sms'", (batch_id, account_id)
    )


def get_many(tx: Tx, batch_ids: list[str], *, with_doc: bool = True) -> dict[str, BatchRow]:
    """Several batches by id; `with_doc=False` skips the (large) document, leaving it ''."""
    if not batch_ids:
        return {}
    cols = _COLUMNS if with_doc else _COLUMNS.replace(", doc,", ", '' AS doc,")
    rows = tx.all(f"SELECT {cols} FROM batches WHERE id IN {tx.in_list(batch_ids)}", batch_ids)
    return {r.id: _row(r) for r in rows}


def save(tx: Tx, b: BatchRow) -> None:
    """Rewrite everything but id, account and created_at."""
    tx.execute(
        "UPDATE batches SET type = ?, sender = ?, client_reference = ?, modified_at = ?, due_at = ?, "
        "expire_at = ?, expire_explicit = ?, canceled = ?, state = ?, delivery_report = ?, callback_url = ?, "
        "feedback_enabled = ?, report_sent = ?, doc = ? WHERE id = ?",
        (
            b.type,
            b.sender,
            b.client_reference,
            b.modified_at,
            b.due_at,
            b.expire_at,
            int(b.expire_explicit),
            int(b.canceled),
            b.state,
            b.delivery_report,
            b.callback_url,
            int(b.feedback_enabled),
            int(b.report_sent),
            b.doc,
            b.id,
        ),
    )


@dataclass
class ListFilter:
    account_id: str
    start: int
    end: int | None = None
    senders: list[str] | None = None
    targets: list[str] | None = None
    client_reference: str | None = None


def _where(tx: Tx, f: ListFilter) -> tuple[str, list]:
    sql = ["account_id = ? AND created_at >= ? AND origin = 'sms'"]
    args: list = [f.account_id, f.start]
    if f.end is not None:
        sql.append("created_at < ?")
        args.append(f.end)
    if f.senders:
        sql.append(f"sender IN {tx.in_list(f.senders)}")
        args += f.senders
    if f.client_reference is not None:
        sql.append("client_reference = ?")
        args.append(f.client_reference)
    if f.targets:
        if tx.dialect == "postgresql":
            sql.append("jsonb_exists_any(doc::jsonb -> 'to', ?::text[])")
            args.append(f.targets)
        else:
            sql.append(f"EXISTS (SELECT 1 FROM json_each(batches.doc, '$.to') WHERE value IN {tx.in_list(f.targets)})")
            args += f.targets
    return " AND ".join(sql), args


def list_page(tx: Tx, f: ListFilter, page: int, size: int) -> tuple[int, list[str]]:
    """(total matching, docs of this page), newest first."""
    where, args = _where(tx, f)
    count = tx.scalar(f"SELECT count(*) FROM batches WHERE {where}", args)
    docs = [
        r.doc
        for r in tx.all(
            f"SELECT doc FROM batches WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            args + [size, page * size],
        )
    ]
    return count, docs


# The scheduler's queries ------------------------------------------------------------------


def claim_due(tx: Tx, now: int, limit: int = 200) -> list[BatchRow]:
    """Scheduled batches whose time has come, in (due, creation) order so they enter their
    account's FIFO queue in that order. On PostgreSQL the rows stay locked until the caller's
    transaction ends (`SKIP LOCKED`: two nodes never expand the same batch; a cancel waits)."""
    lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
    return [
        _row(r)
        for r in tx.all(
            f"SELECT {_COLUMNS} FROM batches WHERE state = 'scheduled' AND due_at <= ? "
            f"ORDER BY due_at, created_at, id LIMIT ?{lock}",
            (now, limit),
        )
    ]


def claim_expanding(tx: Tx) -> tuple[BatchRow, str] | None:
    """The oldest batch being expanded and its cursor (locked on PostgreSQL: one node at a time)."""
    lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
    r = tx.one(
        f"SELECT {_COLUMNS}, expand_cursor FROM batches WHERE state = 'expanding' ORDER BY created_at, id LIMIT 1{lock}"
    )
    return None if r is None else (_row(r), r.expand_cursor)


def set_expanding(tx: Tx, batch_id: str, cursor: str | None) -> None:
    """Park the batch in 'expanding' at `cursor` (None: expansion done, the batch is active)."""
    if cursor is None:
        tx.execute("UPDATE batches SET state = 'active', expand_cursor = NULL WHERE id = ?", (batch_id,))
    else:
        tx.execute("UPDATE batches SET state = 'expanding', expand_cursor = ? WHERE id = ?", (cursor, batch_id))


def any_expanding(tx: Tx) -> bool:
    return tx.one("SELECT 1 FROM batches WHERE state = 'expanding' LIMIT 1") is not None


def any_due(tx: Tx, now: int) -> bool:
    return tx.one("SELECT 1 FROM batches WHERE state = 'scheduled' AND due_at <= ? LIMIT 1", (now,)) is not None


def set_state(tx: Tx, batch_id: str, state: str) -> None:
    tx.execute("UPDATE batches SET state = ? WHERE id = ?", (state, batch_id))


def in_state_until(tx: Tx, state: str, until: int, limit: int = 100) -> list[str]:
    """Ids of batches in `state` whose `expire_at` is at or before `until`."""
    return [
        r.id for r in tx.all("SELECT id FROM batches WHERE state = ? AND expire_at <= ? LIMIT ?", (state, until, limit))
    ]


def next_wake(tx: Tx, unknown_after_ms: int) -> int | None:
    """The next time the scheduler has something to do: a due time, an expiry, or the moment an
    expired batch stops waiting for receipts."""
    times = [
        tx.scalar("SELECT min(due_at) FROM batches WHERE state = 'scheduled'"),
        tx.scalar("SELECT min(expire_at) FROM batches WHERE state = 'active'"),
    ]
    closing = tx.scalar("SELECT min(expire_at) FROM batches WHERE state = 'expired'")
    if closing is not None:
        times.append(closing + unknown_after_ms)
    found = [t for t in times if t is not None]
    return min(found) if found else None


def set_report_sent(tx: Tx, batch_id: str) -> bool:
    """Claim the one summary/full callback of a batch; False if already claimed."""
    tx.execute("UPDATE batches SET report_sent = 1 WHERE id = ? AND report_sent = 0", (batch_id,))
    return tx.rowcount == 1


# Idempotency keys --------------------------------------------------------------------------

IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000


def idempotent_lookup(tx: Tx, account_id: str, key: str, now: int) -> tuple[str, str] | None:
    """(body hash, batch id) of a live key, or None."""
    r = tx.one(
        "SELECT body_hash, batch_id, created_at FROM idempotency_keys WHERE account_id = ? AND key = ?",
        (account_id, key),
    )
    if r is None:
        return None
    if r.created_at <= now - IDEMPOTENCY_TTL_MS:
        tx.execute("DELETE FROM idempotency_keys WHERE account_id = ? AND key = ?", (account_id, key))
        return None
    return r.body_hash, r.batch_id


def idempotent_store(tx: Tx, account_id: str, key: str, body_hash: str, batch_id: str, now: int) -> None:
    tx.execute(
        "INSERT INTO idempotency_keys (account_id, key, body_hash, batch_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (account_id, key, body_hash, batch_id, now),
    )
