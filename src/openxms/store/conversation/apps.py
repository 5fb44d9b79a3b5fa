"""Conversation apps (`conv_apps`): the app's JSON in `doc`, the service plan its SMS channel is
bound to in `plan_id` (what the message path routes on), newest last."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from ..db import Tx
from ..recipients import chunks


class AppRow(NamedTuple):
    id: str
    project_id: str
    plan_id: str | None
    created_at: int
    doc: str  # the App object as JSON


_COLS = "id, project_id, plan_id, created_at, doc"


def _row(r: Any) -> AppRow:
    return AppRow(r.id, r.project_id, r.plan_id, r.created_at, r.doc)


def get(tx: Tx, project_id: str, app_id: str, *, for_update: bool = False) -> AppRow | None:
    """The app, if it is one of this project's."""
    lock = " FOR UPDATE" if for_update and tx.dialect == "postgresql" else ""
    r = tx.one(f"SELECT {_COLS} FROM conv_apps WHERE id = ? AND project_id = ?{lock}", (app_id, project_id))
    return None if r is None else _row(r)


def unchanged(tx: Tx, project_id: str, app_id: str, plan_id: str | None, doc: str) -> bool:
    """Whether the app is stored as given. A primary-key lookup that compares the document in
    SQL, so a cached copy is checked inside the writer's transaction without decoding anything."""
    return (
        tx.one(
            # COALESCE: a null-safe comparison both databases have (SQLite before 3.39 has no
            # IS NOT DISTINCT FROM); plan ids are never empty.
            "SELECT 1 AS same FROM conv_apps WHERE id = ? AND project_id = ? AND COALESCE(plan_id, '') = ? AND doc = ?",
            (app_id, project_id, plan_id or "", doc),
        )
        is not None
    )


def get_any(tx: Tx, app_id: str) -> AppRow | None:
    """The app whatever its project (start-up provisioning checks the owner itself)."""
    r = tx.one(f"SELECT {_COLS} FROM conv_apps WHERE id = ?", (app_id,))
    return None if r is None else _row(r)


def list_all(tx: Tx, project_id: str) -> list[AppRow]:
    """The project's apps in creation order (Sinch's ListApps has no paging)."""
    return [
        _row(r)
        for r in tx.all(f"SELECT {_COLS} FROM conv_apps WHERE project_id = ? ORDER BY created_at, id", (project_id,))
    ]


def by_ids(tx: Tx, app_ids: Iterable[str]) -> dict[str, AppRow]:
    out: dict[str, AppRow] = {}
    for part in chunks(sorted(set(app_ids))):
        out.update(
            (r.id, _row(r)) for r in tx.all(f"SELECT {_COLS} FROM conv_apps WHERE id IN {tx.in_list(part)}", part)
        )
    return out


def of_plan(tx: Tx, plan_id: str) -> list[AppRow]:
    """Apps whose SMS channel is this service plan, oldest first."""
    return [
        _row(r) for r in tx.all(f"SELECT {_COLS} FROM conv_apps WHERE plan_id = ? ORDER BY created_at, id", (plan_id,))
    ]


def insert(tx: Tx, app: AppRow) -> None:
    tx.execute(f"INSERT INTO conv_apps ({_COLS}) VALUES (?, ?, ?, ?, ?)", tuple(app))


def update(tx: Tx, app_id: str, plan_id: str | None, doc: str) -> None:
    tx.execute("UPDATE conv_apps SET plan_id = ?, doc = ? WHERE id = ?", (plan_id, doc, app_id))


def delete(tx: Tx, project_id: str, app_id: str) -> bool:
    """The app with what only exists within it: its webhooks, its conversations and its messages.
    Contacts are the project's and stay."""
    tx.execute("DELETE FROM conv_webhooks WHERE app_id = ? AND project_id = ?", (app_id, project_id))
    tx.execute("DELETE FROM conv_messages WHERE app_id = ? AND project_id = ?", (app_id, project_id))
    tx.execute("DELETE FROM conv_conversations WHERE app_id = ? AND project_id = ?", (app_id, project_id))
    tx.execute("DELETE FROM conv_apps WHERE id = ? AND project_id = ?", (app_id, project_id))
    return tx.rowcount > 0
