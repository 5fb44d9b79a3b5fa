"""What the message path reads and makes among apps, contacts, webhooks and conversations,
in the shape it wants (parsed documents). No SQL of its own: the tables' SQL is in apps.py,
contacts.py, webhooks.py and conversations.py beside it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple

import msgspec

from ..db import Tx
from . import apps as app_store
from . import contacts as contact_store
from . import conversations as conversation_store
from . import webhooks as webhook_store

# Stored docs are decoded on every send (the app) and every set of receipts: msgspec is ~4x json.loads.
_decode = msgspec.json.decode


class AppRow(NamedTuple):
    id: str
    project_id: str
    plan_id: str | None
    doc: dict[str, Any]
    raw: str = ""  # `doc` as stored: what `app_unchanged` compares a cached copy by


def _app(r: app_store.AppRow) -> AppRow:
    return AppRow(r.id, r.project_id, r.plan_id, _decode(r.doc), r.doc)


def app(tx: Tx, project_id: str, app_id: str) -> AppRow | None:
    r = app_store.get(tx, project_id, app_id)
    return None if r is None else _app(r)


def app_unchanged(tx: Tx, app: AppRow) -> bool:
    """Whether `app` (read earlier, perhaps by another transaction) is still the app as stored."""
    return app_store.unchanged(tx, app.project_id, app.id, app.plan_id, app.raw)


def apps(tx: Tx, app_ids: Iterable[str]) -> dict[str, AppRow]:
    return {k: _app(r) for k, r in app_store.by_ids(tx, app_ids).items()}


def apps_of_plan(tx: Tx, plan_id: str) -> list[AppRow]:
    """Apps whose SMS channel is this service plan, oldest first."""
    return [_app(r) for r in app_store.of_plan(tx, plan_id)]


def webhooks(tx: Tx, app_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """The webhooks of these apps (their JSON), in creation order."""
    return {k: [_decode(w.doc) for w in ws] for k, ws in webhook_store.of_apps(tx, app_ids).items()}


def contact(tx: Tx, project_id: str, contact_id: str) -> dict[str, Any] | None:
    r = contact_store.get(tx, project_id, contact_id)
    return None if r is None else _decode(r.doc)


def contact_of(tx: Tx, project_id: str, channel: str, identity: str) -> str | None:
    """The contact holding this channel identity."""
    return contact_store.holders(tx, project_id, [(channel, identity)]).get((channel, identity))


def add_contact(tx: Tx, project_id: str, contact_id: str, doc: dict[str, Any], now: int) -> None:
    """A contact made by the message path (CONVERSATION mode meets an unknown identity)."""
    contact_store.insert(
        tx, contact_store.ContactRow(contact_id, project_id, doc.get("external_id") or None, now, json.dumps(doc))
    )
    contact_store.claim(
        tx, project_id, contact_id, [(i["channel"], i["identity"]) for i in doc.get("channel_identities", [])]
    )


class ConversationRow(NamedTuple):
    id: str
    doc: dict[str, Any]


def active_conversation(tx: Tx, app_id: str, contact_id: str) -> ConversationRow | None:
    r = conversation_store.active_of(tx, app_id, contact_id)
    return None if r is None else ConversationRow(r.id, _decode(r.doc))


def add_conversation(
    tx: Tx, project_id: str, conversation_id: str, app_id: str, contact_id: str, doc: dict[str, Any], now: int
) -> None:
    conversation_store.insert(
        tx,
        conversation_store.ConversationRow(
            conversation_id, project_id, app_id, contact_id, True, now, 0, json.dumps(doc)
        ),
    )


def save_conversation(tx: Tx, conversation_id: str, doc: dict[str, Any], last_received: int | None = None) -> None:
    conversation_store.update(tx, conversation_id, True, json.dumps(doc))
    if last_received is not None:
        conversation_store.received(tx, conversation_id, last_received)
