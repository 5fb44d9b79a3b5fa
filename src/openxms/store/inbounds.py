"""Inbound (MO) messages."""

from __future__ import annotations

from dataclasses import dataclass

from .db import Row, Tx, newest_first


def insert(
    tx: Tx,
    inbound_id: str,
    account_id: str,
    recipient: str,
    sender: str,
    received_at: int,
    client_reference: str | None,
    doc: str,
) -> None:
    tx.execute(
        "INSERT INTO inbounds (id, account_id, recipient, sender, received_at, client_reference, doc) "
        "VALUES (?,?,?,?,?,?,?)",
        (inbound_id, account_id, recipient, sender, received_at, client_reference, doc),
    )


def get_doc(tx: Tx, account_id: str, inbound_id: str) -> str | None:
    return tx.scalar("SELECT doc FROM inbounds WHERE id = ? AND account_id = ?", (inbound_id, account_id))


@dataclass
class ListFilter:
    account_id: str
    start: int
    end: int | None = None
    recipients: list[str] | None = None
    client_reference: str | None = None


def list_page(tx: Tx, f: ListFilter, page: int, size: int) -> tuple[int, list[str]]:
    sql = " FROM inbounds WHERE account_id = ? AND received_at >= ?"
    args: list = [f.account_id, f.start]
    if f.end is not None:
        sql += " AND received_at < ?"
        args.append(f.end)
    if f.recipients:
        sql += f" AND recipient IN {tx.in_list(f.recipients)}"
        args += f.recipients
    if f.client_reference is not None:
        sql += " AND client_reference = ?"
        args.append(f.client_reference)
    count = tx.scalar("SELECT count(*)" + sql, args, 0)
    docs = [
        r.doc
        for r in tx.all(
            "SELECT doc" + sql + " ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?", args + [size, page * size]
        )
    ]
    return count, docs


def by_handset(tx: Tx, msisdn: str, limit: int) -> list[str]:
    return [
        r.doc
        for r in tx.all(
            "SELECT doc FROM inbounds WHERE sender = ? ORDER BY received_at DESC, id DESC LIMIT ?", (msisdn, limit)
        )
    ]


def browse(tx: Tx, plans: list[str], number: str | None, before: tuple[int, str] | None, limit: int) -> list[Row]:
    """Every plan's MOs for the web UI, newest first: up to `limit` older than `before`
    ((received_at, id) of the last one shown), of these plans, from or to this number."""
    where, args = newest_first(tx, plans, before, "received_at")
    if number is not None:
        where.append("(sender = ? OR recipient = ?)")
        args += [number, number]
    sql = "SELECT id, account_id, received_at, doc FROM inbounds"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return tx.all(sql + " ORDER BY received_at DESC, id DESC LIMIT ?", [*args, limit])


def find(tx: Tx, inbound_id: str) -> Row | None:
    """One MO of any plan (id, account_id, received_at, doc)."""
    return tx.one("SELECT id, account_id, received_at, doc FROM inbounds WHERE id = ?", (inbound_id,))
