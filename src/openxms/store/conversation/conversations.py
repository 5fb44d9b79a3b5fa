"""Conversations (`conv_conversations`): the Conversation object's JSON in `doc`; `active` and
`last_received` (the newest inbound message, written by the message path) beside it, since
queries filter and sort on them.

There is at most one active conversation per app and contact. Nothing in the schema enforces
it: the writers check `active_of` inside their write transaction (one writer per process).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from ..db import Tx
from . import messages


class ConversationRow(NamedTuple):
    id: str
    project_id: str
    app_id: str
    contact_id: str
    active: bool
    created_at: int
    last_received: int  # ms; 0: no inbound message yet
    doc: str  # the Conversation object as JSON


_COLS = "id, project_id, app_id, contact_id, active, created_at, last_received, doc"


def _row(r: Any) -> ConversationRow:
    return ConversationRow(
        r.id, r.project_id, r.app_id, r.contact_id, bool(r.active), r.created_at, r.last_received or 0, r.doc
    )


def get(tx: Tx, project_id: str, conversation_id: str, *, for_update: bool = False) -> ConversationRow | None:
    lock = " FOR UPDATE" if for_update and tx.dialect == "postgresql" else ""
    r = tx.one(
        f"SELECT {_COLS} FROM conv_conversations WHERE id = ? AND project_id = ?{lock}", (conversation_id, project_id)
    )
    return None if r is None else _row(r)


def active_of(tx: Tx, app_id: str, contact_id: str) -> ConversationRow | None:
    r = tx.one(
        f"SELECT {_COLS} FROM conv_conversations WHERE app_id = ? AND contact_id = ? AND active = 1 "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        (app_id, contact_id),
    )
    return None if r is None else _row(r)


def of_contact(tx: Tx, project_id: str, contact_id: str) -> list[ConversationRow]:
    return [
        _row(r)
        for r in tx.all(
            f"SELECT {_COLS} FROM conv_conversations WHERE contact_id = ? AND project_id = ? ORDER BY created_at, id",
            (contact_id, project_id),
        )
    ]


def insert(tx: Tx, c: ConversationRow) -> None:
    tx.execute(
        f"INSERT INTO conv_conversations ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (c.id, c.project_id, c.app_id, c.contact_id, int(c.active), c.created_at, c.last_received, c.doc),
    )


def update(tx: Tx, conversation_id: str, active: bool, doc: str, contact_id: str | None = None) -> None:
    if contact_id is None:
        tx.execute(
            "UPDATE conv_conversations SET active = ?, doc = ? WHERE id = ?", (int(active), doc, conversation_id)
        )
    else:
        tx.execute(
            "UPDATE conv_conversations SET active = ?, doc = ?, contact_id = ? WHERE id = ?",
            (int(active), doc, contact_id, conversation_id),
        )


def received(tx: Tx, conversation_id: str, at: int) -> None:
    """An inbound message arrived in the conversation."""
    tx.execute("UPDATE conv_conversations SET last_received = ? WHERE id = ?", (at, conversation_id))


def delete(tx: Tx, project_id: str, conversation_id: str) -> bool:
    """The conversation and its messages."""
    tx.execute("DELETE FROM conv_messages WHERE conversation_id = ? AND project_id = ?", (conversation_id, project_id))
    tx.execute("DELETE FROM conv_conversations WHERE id = ? AND project_id = ?", (conversation_id, project_id))
    return tx.rowcount > 0


def move_messages(tx: Tx, project_id: str, from_conversation: str, to_conversation: str, contact_id: str) -> None:
    """Every message of one conversation into another (a contact merge)."""
    tx.execute(
        "UPDATE conv_messages SET conversation_id = ?, contact_id = ? WHERE conversation_id = ? AND project_id = ?",
        (to_conversation, contact_id, from_conversation, project_id),
    )


def set_messages_contact(tx: Tx, project_id: str, from_contact: str, to_contact: str) -> None:
    tx.execute(
        "UPDATE conv_messages SET contact_id = ? WHERE contact_id = ? AND project_id = ?",
        (to_contact, from_contact, project_id),
    )


class ConversationQuery(NamedTuple):
    project_id: str
    app_id: str | None = None
    contact_id: str | None = None
    only_active: bool = False
    active_channel: str | None = None


def _where(tx: Tx, q: ConversationQuery) -> tuple[str, list[Any]]:
    sql, args = ["c.project_id = ?"], [q.project_id]
    for column in ("app_id", "contact_id"):
        value = getattr(q, column)
        if value is not None:
            sql.append(f"c.{column} = ?")
            args.append(value)
    if q.only_active:
        sql.append("c.active = 1")
    if q.active_channel is not None:
        # The channel lives in the document only (JSON functions of each database).
        sql.append(
            "json_extract(c.doc, '$.active_channel') = ?"
            if tx.dialect == "sqlite"
            else "(c.doc::json ->> 'active_channel') = ?"
        )
        args.append(q.active_channel)
    return " AND ".join(sql), args


_C_COLS = ", ".join(f"c.{c.strip()}" for c in _COLS.split(","))


def list_page(tx: Tx, q: ConversationQuery, offset: int, limit: int) -> tuple[int, list[ConversationRow]]:
    """(how many match, one page of them in creation order)."""
    where, args = _where(tx, q)
    total = tx.scalar(f"SELECT count(*) FROM conv_conversations c WHERE {where}", args, 0)
    rows = tx.all(
        f"SELECT {_C_COLS} FROM conv_conversations c WHERE {where} ORDER BY c.created_at, c.id LIMIT ? OFFSET ?",
        [*args, limit, offset],
    )
    return total, [_row(r) for r in rows]


def recent_page(
    tx: Tx, q: ConversationQuery, newest_first: bool, offset: int, limit: int
) -> tuple[int, list[ConversationRow]]:
    """Like `list_page`, ordered by the time of each conversation's newest message (either
    direction); conversations without messages count as older than any message."""
    where, args = _where(tx, q)
    total = tx.scalar(f"SELECT count(*) FROM conv_conversations c WHERE {where}", args, 0)
    order = "DESC" if newest_first else "ASC"
    rows = tx.all(
        f"SELECT {_C_COLS}, COALESCE((SELECT max(m.accept_time) FROM conv_messages m "
        f"WHERE m.conversation_id = c.id), 0) AS last_at FROM conv_conversations c WHERE {where} "
        f"ORDER BY last_at {order}, c.created_at {order}, c.id {order} LIMIT ? OFFSET ?",
        [*args, limit, offset],
    )
    return total, [_row(r) for r in rows]


def last_messages(tx: Tx, conversation_ids: Iterable[str]) -> dict[str, messages.Message]:
    """The newest message of each of these conversations (those with none are absent)."""
    cols = ", ".join(messages.Message._fields)
    out: dict[str, messages.Message] = {}
    for cid in dict.fromkeys(conversation_ids):
        r = tx.one(
            f"SELECT {cols} FROM conv_messages WHERE conversation_id = ? ORDER BY accept_time DESC, id DESC LIMIT 1",
            (cid,),
        )
        if r is not None:
            out[cid] = messages.Message(*r)
    return out
