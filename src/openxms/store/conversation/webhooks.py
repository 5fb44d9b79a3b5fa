"""Webhooks (`conv_webhooks`): the Webhook object's JSON in `doc`, per app, in creation order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from ..db import Tx
from ..recipients import chunks


class WebhookRow(NamedTuple):
    id: str
    project_id: str
    app_id: str
    created_at: int
    doc: str  # the Webhook object as JSON


_COLS = "id, project_id, app_id, created_at, doc"


def _row(r: Any) -> WebhookRow:
    return WebhookRow(r.id, r.project_id, r.app_id, r.created_at, r.doc)


def get(tx: Tx, project_id: str, webhook_id: str) -> WebhookRow | None:
    r = tx.one(f"SELECT {_COLS} FROM conv_webhooks WHERE id = ? AND project_id = ?", (webhook_id, project_id))
    return None if r is None else _row(r)


def of_app(tx: Tx, project_id: str, app_id: str) -> list[WebhookRow]:
    return [
        _row(r)
        for r in tx.all(
            f"SELECT {_COLS} FROM conv_webhooks WHERE app_id = ? AND project_id = ? ORDER BY created_at, id",
            (app_id, project_id),
        )
    ]


def of_apps(tx: Tx, app_ids: Iterable[str]) -> dict[str, list[WebhookRow]]:
    """The webhooks of these apps (whatever their project: the callers hold the apps already)."""
    out: dict[str, list[WebhookRow]] = {}
    for part in chunks(sorted(set(app_ids))):
        for r in tx.all(
            f"SELECT {_COLS} FROM conv_webhooks WHERE app_id IN {tx.in_list(part)} ORDER BY created_at, id", part
        ):
            out.setdefault(r.app_id, []).append(_row(r))
    return out


def count(tx: Tx, app_id: str) -> int:
    return tx.scalar("SELECT count(*) FROM conv_webhooks WHERE app_id = ?", (app_id,), 0)


def insert(tx: Tx, w: WebhookRow) -> None:
    tx.execute(f"INSERT INTO conv_webhooks ({_COLS}) VALUES (?, ?, ?, ?, ?)", tuple(w))


def update(tx: Tx, webhook_id: str, doc: str) -> None:
    tx.execute("UPDATE conv_webhooks SET doc = ? WHERE id = ?", (doc, webhook_id))


def delete(tx: Tx, project_id: str, webhook_id: str) -> bool:
    tx.execute("DELETE FROM conv_webhooks WHERE id = ? AND project_id = ?", (webhook_id, project_id))
    return tx.rowcount > 0
