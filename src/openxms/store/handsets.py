"""The simulator's virtual handsets (`sim_messages`): what each handset received, the outcome
the simulator decided for it, and when its receipt is due. Written by the simulator connector
(`connectors/simulator.py`), read by the `/simulator` API and the web UI.

A message that carries a Conversation API message says so (`conversation`: its app, id, last
delivery status and batch): the Conversation message points at the SMS recipient row that
carries it (`conv_messages.recipient_id`, unique).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..sms import dates
from . import search
from .db import Tx

_COLS = (
    "s.id, s.msisdn, s.sender, s.type, s.body, s.udh, s.encoding, s.parts, s.flash, s.received_at, "
    "s.batch_id, s.account_id, s.outcome_status, s.outcome_code, r.status, r.code, c.id AS conv_id, "
    "c.project_id AS conv_project_id, c.app_id AS conv_app_id, c.status AS conv_status, "
    "c.batch_id AS conv_batch_id"
)


class Landed(NamedTuple):
    """A message as it lands on a handset, with the outcome decided for it."""

    recipient_id: int
    account_id: str
    batch_id: str
    msisdn: str
    sender: str | None
    type: str
    body: str
    udh: str | None
    encoding: str
    parts: int
    flash: bool
    received_at: int
    outcome_status: str
    outcome_code: int
    receipt_due_at: int | None  # None: no receipt will come (refused at submit, or a dead handset)


_LAND = (
    "recipient_id, account_id, batch_id, msisdn, sender, type, body, udh, encoding, "
    "parts, flash, received_at, outcome_status, outcome_code, receipt_due_at"
)


def land(tx: Tx, messages: list[Landed]) -> None:
    """Store what handsets received, and queue the receipts they will send. A second copy of the
    same recipient (a redelivery after a crash) is ignored, its receipt too: `recipient_id` is
    unique, and a receipt is queued only for a recipient no handset holds yet (it may have been
    taken already)."""
    rows = [
        (*m[:10], int(m.flash), m.received_at, m.outcome_status, m.outcome_code, m.receipt_due_at) for m in messages
    ]
    due = [
        (m.recipient_id, m.receipt_due_at, m.outcome_status, m.outcome_code, m.parts, m.encoding)
        for m in messages
        if m.receipt_due_at is not None
    ]
    if tx.dialect == "postgresql":  # one statement over arrays, one per column (recipients.set_statuses)
        if due:
            tx.execute(
                "INSERT INTO sim_receipts (recipient_id, due_at, outcome_status, outcome_code, parts, encoding) "
                "SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::int[], ?::int[], ?::text[]) "
                "AS v(recipient_id, due_at, st, code, parts, encoding) "
                "WHERE NOT EXISTS (SELECT 1 FROM sim_messages s WHERE s.recipient_id = v.recipient_id) "
                "ON CONFLICT (recipient_id) DO NOTHING",
                [list(column) for column in zip(*due, strict=True)],
            )
        if rows:
            tx.execute(
                f"INSERT INTO sim_messages ({_LAND}) SELECT * FROM unnest("
                "?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], "
                "?::text[], ?::int[], ?::int[], ?::bigint[], ?::text[], ?::int[], ?::bigint[]) "
                "ON CONFLICT (recipient_id) DO NOTHING",
                [list(column) for column in zip(*rows, strict=True)],
            )
        return
    # one statement per chunk: every simulated message is landed here
    if due:
        tx.values(
            "INSERT INTO sim_receipts (recipient_id, due_at, outcome_status, outcome_code, parts, encoding) "
            "SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6 FROM (VALUES {values}) AS v "
            "WHERE NOT EXISTS (SELECT 1 FROM sim_messages s WHERE s.recipient_id = v.column1) "
            "ON CONFLICT (recipient_id) DO NOTHING",
            due,
        )
    tx.values(f"INSERT INTO sim_messages ({_LAND}) VALUES {{values}} ON CONFLICT (recipient_id) DO NOTHING", rows)


# A sim_messages row whose receipt is still queued (purge and retention keep those).
PENDING_RECEIPT = "SELECT 1 FROM sim_receipts q WHERE q.recipient_id = sim_messages.recipient_id"


class DueReceipt(NamedTuple):
    recipient_id: int
    outcome_status: str
    outcome_code: int
    receipt_due_at: int
    parts: int | None  # what the handset received, reported with the receipt
    encoding: str | None


def take_due_receipts(tx: Tx, now: int, limit: int) -> list[DueReceipt]:
    """Receipts due by `now`, taken off the queue (in the caller's transaction, with the status
    change). On PostgreSQL, `SKIP LOCKED`: two nodes' simulators never take the same receipt,
    and neither waits for the other's rows."""
    lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
    taken = tx.all(
        "DELETE FROM sim_receipts WHERE recipient_id IN (SELECT recipient_id FROM sim_receipts WHERE due_at <= ? "
        f"ORDER BY due_at, recipient_id LIMIT ?{lock}) "
        "RETURNING recipient_id, outcome_status, outcome_code, due_at, parts, encoding",
        (now, limit),
    )
    # RETURNING's order is not the subquery's: due first, as the receipts were due
    return sorted((DueReceipt(*r) for r in taken), key=lambda r: (r.receipt_due_at, r.recipient_id))


def next_receipt_due(tx: Tx) -> int | None:
    return tx.scalar("SELECT min(due_at) FROM sim_receipts")


def _msg(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "msisdn": r.msisdn,
        "from": r.sender,
        "type": r.type,
        "body": r.body,
        "udh": r.udh,
        "encoding": r.encoding,
        "parts": r.parts,
        "flash": bool(r.flash),
        "received_at": dates.format(r.received_at),
        "batch_id": r.batch_id,
        "service_plan_id": r.account_id,
        "outcome": {"status": r.outcome_status, "code": r.outcome_code},
        "status": r.status or r.outcome_status,
        "code": r.code if r.code is not None else r.outcome_code,
        "conversation": None
        if r.conv_id is None
        else {
            "message_id": r.conv_id,
            "project_id": r.conv_project_id,
            "app_id": r.conv_app_id,
            "status": r.conv_status,
            "batch_id": r.conv_batch_id,
        },
    }


class Handset(NamedTuple):
    msisdn: str
    messages: int
    unread: int  # messages newer than its read mark (all of them when it was never opened)
    last_id: int  # its newest message: the list's order and cursor
    last_at: int
    last_type: str
    last_body: str


def handsets(tx: Tx, q: str = "", before: int | None = None, limit: int = 100) -> list[Handset]:
    """Handsets that received messages, the most recently reached first, up to `limit` whose
    newest message is older than `before` (a keyset page: the last `last_id` shown). `q`: words
    that must all occur in the number (any part of it; a phone-number-like query is its
    digits) or in the text of one message to it (search.terms)."""
    where: list[str] = []
    args: list = []
    words = search.terms(q)
    if words:
        op = "ILIKE" if tx.dialect == "postgresql" else "LIKE"
        test = " AND ".join(f"(m.msisdn LIKE ? ESCAPE '\\' OR m.body {op} ? ESCAPE '\\')" for _ in words)
        where.append(f"s.msisdn IN (SELECT m.msisdn FROM sim_messages m WHERE {test})")
        args += [a for w in words for a in (search.like_pattern(w), search.like_pattern(w))]
    sql = "SELECT s.msisdn, count(*) AS n, max(s.received_at) AS last_at, max(s.id) AS last_id FROM sim_messages s"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " GROUP BY s.msisdn"
    if before is not None:
        sql += " HAVING max(s.id) < ?"
        args.append(before)
    rows = tx.all(sql + " ORDER BY max(s.id) DESC LIMIT ?", [*args, limit])
    if not rows:
        return []
    numbers = [r.msisdn for r in rows]
    unread = {
        r.msisdn: r.n
        for r in tx.all(
            "SELECT s.msisdn, count(*) AS n FROM sim_messages s LEFT JOIN sim_read_marks k ON k.msisdn = s.msisdn "
            f"WHERE s.msisdn IN {tx.in_list(numbers)} AND s.id > coalesce(k.read_id, 0) GROUP BY s.msisdn",
            numbers,
        )
    }
    ids = [r.last_id for r in rows]
    last = {r.id: r for r in tx.all(f"SELECT id, type, body FROM sim_messages WHERE id IN {tx.in_list(ids)}", ids)}
    return [
        Handset(r.msisdn, r.n, unread.get(r.msisdn, 0), r.last_id, r.last_at, m.type, m.body)
        for r in rows
        if (m := last.get(r.last_id)) is not None
    ]


def mark_read(tx: Tx, msisdn: str, through: int | None) -> tuple[int, int]:
    """The handset's messages up to id `through` (default: its newest) are read: the mark only
    moves forward. Returns (the read mark, messages still unread)."""
    newest = tx.scalar("SELECT max(id) FROM sim_messages WHERE msisdn = ?", (msisdn,), 0)
    mark = newest if through is None else min(through, newest)
    higher = "GREATEST" if tx.dialect == "postgresql" else "max"
    tx.execute(
        "INSERT INTO sim_read_marks (msisdn, read_id) VALUES (?, ?) ON CONFLICT (msisdn) DO UPDATE "
        f"SET read_id = {higher}(sim_read_marks.read_id, excluded.read_id)",
        (msisdn, mark),
    )
    read_id = tx.scalar("SELECT read_id FROM sim_read_marks WHERE msisdn = ?", (msisdn,))
    unread = tx.scalar("SELECT count(*) FROM sim_messages WHERE msisdn = ? AND id > ?", (msisdn, read_id), 0)
    return read_id, unread


def messages(tx: Tx, msisdn: str | None, after_id: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    sql = (
        f"SELECT {_COLS} FROM sim_messages s LEFT JOIN recipients r ON r.id = s.recipient_id "
        "LEFT JOIN conv_messages c ON c.recipient_id = s.recipient_id WHERE s.id > ?"
    )
    args: list = [after_id]
    if msisdn:
        sql += " AND s.msisdn = ?"
        args.append(msisdn)
    order = "ASC" if after_id else "DESC"
    return [_msg(r) for r in tx.all(sql + f" ORDER BY s.id {order} LIMIT ?", args + [limit])]


def purge(tx: Tx, msisdn: str | None) -> int:
    """Forget what handsets received (messages still waiting for their receipt stay), and the
    read marks of handsets left with nothing."""
    answered = f"NOT EXISTS ({PENDING_RECEIPT})"
    if msisdn:
        tx.execute(f"DELETE FROM sim_messages WHERE msisdn = ? AND {answered}", (msisdn,))
    else:
        tx.execute(f"DELETE FROM sim_messages WHERE {answered}")
    n = tx.rowcount
    tx.execute(
        "DELETE FROM sim_read_marks WHERE NOT EXISTS "
        "(SELECT 1 FROM sim_messages s WHERE s.msisdn = sim_read_marks.msisdn)" + (" AND msisdn = ?" if msisdn else ""),
        (msisdn,) if msisdn else (),
    )
    return n
