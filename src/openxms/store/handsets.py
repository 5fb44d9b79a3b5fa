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


def land(tx: Tx, messages: list[Landed]) -> None:
    """Store what handsets received. A second copy of the same recipient (a redelivery after a
    crash) is ignored: `recipient_id` is unique."""
    tx.values(  # one statement per chunk: every simulated message is landed here
        "INSERT INTO sim_messages (recipient_id, account_id, batch_id, msisdn, sender, type, body, udh, encoding, "
        "parts, flash, received_at, outcome_status, outcome_code, receipt_due_at, receipt_done) "
        "VALUES {values} ON CONFLICT (recipient_id) DO NOTHING",
        [
            (
                *m[:10],
                int(m.flash),
                m.received_at,
                m.outcome_status,
                m.outcome_code,
                m.receipt_due_at,
                0 if m.receipt_due_at is not None else 1,
            )
            for m in messages
        ],
    )


class DueReceipt(NamedTuple):
    id: int
    recipient_id: int
    outcome_status: str
    outcome_code: int
    receipt_due_at: int


def take_due_receipts(tx: Tx, now: int, limit: int) -> list[DueReceipt]:
    """Receipts due by `now`, marked done (in the caller's transaction, with the status change).
    On PostgreSQL, `SKIP LOCKED`: two nodes' simulators never report the same receipt."""
    lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
    rows = [
        DueReceipt(*r)
        for r in tx.all(
            "SELECT id, recipient_id, outcome_status, outcome_code, receipt_due_at FROM sim_messages "
            f"WHERE receipt_done = 0 AND receipt_due_at <= ? ORDER BY receipt_due_at, id LIMIT ?{lock}",
            (now, limit),
        )
    ]
    if rows:
        ids = [r.id for r in rows]
        tx.execute(f"UPDATE sim_messages SET receipt_done = 1 WHERE id IN {tx.in_list(ids)}", ids)
    return rows


def next_receipt_due(tx: Tx) -> int | None:
    return tx.scalar("SELECT min(receipt_due_at) FROM sim_messages WHERE receipt_done = 0")


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


def handsets(tx: Tx, limit: int = 500) -> list[dict[str, Any]]:
    rows = tx.all(
        "SELECT msisdn, count(*) AS n, max(received_at) AS last_at, max(id) AS last_id FROM sim_messages "
        "GROUP BY msisdn ORDER BY max(id) DESC LIMIT ?",
        (limit,),
    )
    return [{"msisdn": r.msisdn, "messages": r.n, "last_message_at": dates.format(r.last_at)} for r in rows]


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
    if msisdn:
        tx.execute("DELETE FROM sim_messages WHERE msisdn = ? AND receipt_done = 1", (msisdn,))
    else:
        tx.execute("DELETE FROM sim_messages WHERE receipt_done = 1")
    return tx.rowcount
