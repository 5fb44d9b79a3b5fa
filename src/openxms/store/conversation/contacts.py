"""Contacts (`conv_contacts`) and the channel identities that find them (`conv_identities`).

A contact's identities are kept in `conv_identities` in step with its `doc`, in the same
transaction: (project, channel, identity) is the table's primary key, so an identity belongs
to one contact of a project at most, which is what lets a recipient or an inbound message find
its contact. Claims use `ON CONFLICT DO NOTHING`, so two writers racing for one identity
cannot both win (on PostgreSQL with several nodes too): the loser sees which ones it did not get.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from ..db import Tx

Identity = tuple[str, str]  # (channel, identity)


class ContactRow(NamedTuple):
    id: str
    project_id: str
    external_id: str | None
    created_at: int
    doc: str  # the Contact object as JSON


_COLS = "id, project_id, external_id, created_at, doc"


def _row(r: Any) -> ContactRow:
    return ContactRow(r.id, r.project_id, r.external_id, r.created_at, r.doc)


def get(tx: Tx, project_id: str, contact_id: str, *, for_update: bool = False) -> ContactRow | None:
    lock = " FOR UPDATE" if for_update and tx.dialect == "postgresql" else ""
    r = tx.one(f"SELECT {_COLS} FROM conv_contacts WHERE id = ? AND project_id = ?{lock}", (contact_id, project_id))
    return None if r is None else _row(r)


def holders(tx: Tx, project_id: str, identities: Iterable[Identity]) -> dict[Identity, str]:
    """Which contact holds each of these identities (absent: nobody)."""
    out: dict[Identity, str] = {}
    for channel, identity in dict.fromkeys(identities):
        holder = tx.scalar(
            "SELECT contact_id FROM conv_identities WHERE project_id = ? AND channel = ? AND identity = ?",
            (project_id, channel, identity),
        )
        if holder is not None:
            out[(channel, identity)] = holder
    return out


def claim(tx: Tx, project_id: str, contact_id: str, identities: Iterable[Identity]) -> list[Identity]:
    """Give these identities to the contact; returns those another contact holds (not taken)."""
    lost = []
    for channel, identity in dict.fromkeys(identities):
        tx.execute(
            "INSERT INTO conv_identities (project_id, channel, identity, contact_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (project_id, channel, identity, contact_id),
        )
        if tx.rowcount == 0:
            holder = tx.scalar(
                "SELECT contact_id FROM conv_identities WHERE project_id = ? AND channel = ? AND identity = ?",
                (project_id, channel, identity),
            )
            if holder != contact_id:
                lost.append((channel, identity))
    return lost


def set_identities(tx: Tx, project_id: str, contact_id: str, identities: list[Identity]) -> list[Identity]:
    """The contact's identities become exactly these; returns those another contact holds."""
    keep = set(identities)
    for r in tx.all(
        "SELECT channel, identity FROM conv_identities WHERE contact_id = ? AND project_id = ?",
        (contact_id, project_id),
    ):
        if (r.channel, r.identity) not in keep:
            tx.execute(
                "DELETE FROM conv_identities WHERE project_id = ? AND channel = ? AND identity = ?",
                (project_id, r.channel, r.identity),
            )
    return claim(tx, project_id, contact_id, identities)


def insert(tx: Tx, c: ContactRow) -> None:
    tx.execute(f"INSERT INTO conv_contacts ({_COLS}) VALUES (?, ?, ?, ?, ?)", tuple(c))


def update(tx: Tx, contact_id: str, external_id: str | None, doc: str) -> None:
    tx.execute("UPDATE conv_contacts SET external_id = ?, doc = ? WHERE id = ?", (external_id, doc, contact_id))


def delete(tx: Tx, project_id: str, contact_id: str) -> None:
    """The contact, its identities, and its conversations with their messages (a conversation
    is between an app and a contact: it cannot outlive either)."""
    tx.execute("DELETE FROM conv_identities WHERE contact_id = ? AND project_id = ?", (contact_id, project_id))
    tx.execute(
        "DELETE FROM conv_messages WHERE conversation_id IN (SELECT id FROM conv_conversations "
        "WHERE contact_id = ? AND project_id = ?)",
        (contact_id, project_id),
    )
    tx.execute("DELETE FROM conv_conversations WHERE contact_id = ? AND project_id = ?", (contact_id, project_id))
    tx.execute("DELETE FROM conv_contacts WHERE id = ? AND project_id = ?", (contact_id, project_id))


class ContactQuery(NamedTuple):
    project_id: str
    external_id: str | None = None
    channel: str | None = None
    identity: str | None = None


def list_page(tx: Tx, q: ContactQuery, after: str | None, limit: int) -> list[ContactRow]:
    """Contacts in id (= creation) order after the id `after`: keyset paging, so contacts created
    meanwhile neither shift nor repeat a page."""
    cols = ", ".join(f"c.{c.strip()}" for c in _COLS.split(","))
    sql = [f"SELECT {cols} FROM conv_contacts c"]
    args: list[Any] = []
    if q.channel is not None and q.identity is not None:
        sql.append(
            "JOIN conv_identities i ON i.contact_id = c.id AND i.project_id = c.project_id "
            "AND i.channel = ? AND i.identity = ?"
        )
        args += [q.channel, q.identity]
    sql.append("WHERE c.project_id = ?")
    args.append(q.project_id)
    if q.external_id is not None:
        sql.append("AND c.external_id = ?")
        args.append(q.external_id)
    if after is not None:
        sql.append("AND c.id > ?")
        args.append(after)
    sql.append("ORDER BY c.id LIMIT ?")
    return [_row(r) for r in tx.all(" ".join(sql), [*args, limit])]
