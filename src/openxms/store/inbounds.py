"""Inbound (MO) messages."""

from __future__ import annotations

from dataclasses import dataclass

from .db import Tx


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
