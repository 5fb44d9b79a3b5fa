"""What the message path reads about apps, contacts, webhooks and conversations: which app and
plan a message goes through, who the recipient is, which webhooks hear about it, and the
conversation it belongs to (CONVERSATION mode). Objects are stored as their JSON (`doc`).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, NamedTuple

import msgspec

from ..db import Tx
from ..recipients import chunks

# Stored docs are decoded on every send (the app) and every set of receipts: msgspec is ~4x json.loads.
_decode = msgspec.json.decode


class AppRow(NamedTuple):
    id: str
    project_id: str
    plan_id: str | None
    doc: dict[str, Any]


def app(tx: Tx, project_id: str, app_id: str) -> AppRow | None:
    r = tx.one("SELECT id, project_id, plan_id, doc FROM conv_apps WHERE id = ? AND project_id = ?",
               (app_id, project_id))
    return None if r is None else AppRow(r.id, r.project_id, r.plan_id, _decode(r.doc))


def apps(tx: Tx, app_ids: Iterable[str]) -> dict[str, AppRow]:
    out: dict[str, AppRow] = {}
    for part in chunks(sorted(set(app_ids))):
        for r in tx.all(f"SELECT id, project_id, plan_id, doc FROM conv_apps WHERE id IN {tx.in_list(part)}", part):
            out[r.id] = AppRow(r.id, r.project_id, r.plan_id, _decode(r.doc))
    return out


def apps_of_plan(tx: Tx, plan_id: str) -> list[AppRow]:
    """Apps whose SMS channel is this service plan, oldest first."""
    return [AppRow(r.id, r.project_id, r.plan_id, _decode(r.doc)) for r in tx.all(
        "SELECT id, project_id, plan_id, doc FROM conv_apps WHERE plan_id = ? ORDER BY created_at, id", (plan_id,))]


def webhooks(tx: Tx, app_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """The webhooks of these apps (their JSON), in creation order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for part in chunks(sorted(set(app_ids))):
        for r in tx.all(f"SELECT app_id, doc FROM conv_webhooks WHERE app_id IN {tx.in_list(part)} "
                        "ORDER BY created_at, id", part):
            out.setdefault(r.app_id, []).append(_decode(r.doc))
    return out


def contact(tx: Tx, project_id: str, contact_id: str) -> dict[str, Any] | None:
    doc = tx.scalar("SELECT doc FROM conv_contacts WHERE id = ? AND project_id = ?", (contact_id, project_id))
    return None if doc is None else _decode(doc)


def contact_of(tx: Tx, project_id: str, channel: str, identity: str) -> str | None:
    """The contact holding this channel identity."""
    return tx.scalar("SELECT contact_id FROM conv_identities WHERE project_id = ? AND channel = ? AND identity = ?",
                     (project_id, channel, identity))


def add_contact(tx: Tx, project_id: str, contact_id: str, doc: dict[str, Any], now: int) -> None:
    """A contact made by the message path (CONVERSATION mode meets an unknown identity)."""
    tx.execute("INSERT INTO conv_contacts (id, project_id, external_id, created_at, doc) VALUES (?, ?, ?, ?, ?)",
               (contact_id, project_id, doc.get("external_id") or None, now, json.dumps(doc)))
    tx.executemany("INSERT INTO conv_identities (project_id, channel, identity, contact_id) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT DO NOTHING",
                   [(project_id, i["channel"], i["identity"], contact_id) for i in doc.get("channel_identities", [])])


class ConversationRow(NamedTuple):
    id: str
    doc: dict[str, Any]


def active_conversation(tx: Tx, app_id: str, contact_id: str) -> ConversationRow | None:
    r = tx.one("SELECT id, doc FROM conv_conversations WHERE app_id = ? AND contact_id = ? AND active = 1 "
               "ORDER BY created_at DESC LIMIT 1", (app_id, contact_id))
    return None if r is None else ConversationRow(r.id, _decode(r.doc))


def add_conversation(tx: Tx, project_id: str, conversation_id: str, app_id: str, contact_id: str,
                     doc: dict[str, Any], now: int) -> None:
    tx.execute("INSERT INTO conv_conversations (id, project_id, app_id, contact_id, active, created_at, doc) "
               "VALUES (?, ?, ?, ?, 1, ?, ?)", (conversation_id, project_id, app_id, contact_id, now, json.dumps(doc)))


def save_conversation(tx: Tx, conversation_id: str, doc: dict[str, Any], last_received: int | None = None) -> None:
    if last_received is None:
        tx.execute("UPDATE conv_conversations SET doc = ? WHERE id = ?", (json.dumps(doc), conversation_id))
    else:
        tx.execute("UPDATE conv_conversations SET doc = ?, last_received = ? WHERE id = ?",
                   (json.dumps(doc), last_received, conversation_id))
