"""Conversation batches (`conv_batches`) and their metadata (`conv_batch_metadata`, one row
per key, to find and cancel batches by metadata).

Cancel and fan-out race for the same row: both change it with a guarded UPDATE in one
statement (`WHERE status = 'SCHEDULED' AND send_after > now` for cancel; the fan-out claims a
due batch `FOR UPDATE SKIP LOCKED` on PostgreSQL, and SQLite has one writer), so a batch is
either cancelled or sent, never both.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from ..db import Tx

COLS = "id, project_id, app_id, status, send_after, created_at, metadata, request, request_form"


class BatchRow(NamedTuple):
    id: str
    project_id: str
    app_id: str
    status: str  # SCHEDULED | READY | PROCESSED | CANCELLED
    send_after: int  # the effective schedule (the acceptance time for an immediate batch)
    created_at: int
    metadata: dict[str, str]
    request: str  # the request: as `request_form` says
    request_form: str  # 'body': as the client sent it; 'checked': BatchRequest JSON (older rows)


def row(r: Any) -> BatchRow:
    return BatchRow(
        r.id,
        r.project_id,
        r.app_id,
        r.status,
        r.send_after,
        r.created_at,
        json.loads(r.metadata),
        r.request,
        r.request_form,
    )


def insert(tx: Tx, b: BatchRow) -> None:
    tx.execute(
        f"INSERT INTO conv_batches ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            b.id,
            b.project_id,
            b.app_id,
            b.status,
            b.send_after,
            b.created_at,
            json.dumps(b.metadata),
            b.request,
            b.request_form,
        ),
    )
    tx.executemany(
        "INSERT INTO conv_batch_metadata (project_id, key, value, batch_id) VALUES (?, ?, ?, ?)",
        [(b.project_id, k, v, b.id) for k, v in b.metadata.items()],
    )


class BatchHead(NamedTuple):
    """A batch without its stored request (up to 1000 recipients, only the fan-out reads it):
    what the status reads answer (`GET .../messages/{batch_id}`, by metadata) and the web UI's
    batch list shows."""

    id: str
    project_id: str
    app_id: str
    status: str
    send_after: int
    created_at: int
    metadata: dict[str, str]

    @classmethod
    def of(cls, b: BatchRow) -> BatchHead:
        return cls(b.id, b.project_id, b.app_id, b.status, b.send_after, b.created_at, b.metadata)


HEAD_COLS = "id, project_id, app_id, status, send_after, created_at, metadata"


def head(r: Any) -> BatchHead:
    """A row selected with HEAD_COLS."""
    return BatchHead(r.id, r.project_id, r.app_id, r.status, r.send_after, r.created_at, json.loads(r.metadata))


def get(tx: Tx, project_id: str, batch_id: str) -> BatchHead | None:
    r = tx.one(f"SELECT {HEAD_COLS} FROM conv_batches WHERE id = ? AND project_id = ?", (batch_id, project_id))
    return None if r is None else head(r)


def by_metadata(tx: Tx, project_id: str, key: str, value: str) -> list[BatchHead]:
    return [
        head(r)
        for r in tx.all(
            f"SELECT {HEAD_COLS} FROM conv_batches WHERE project_id = ? "
            "AND id IN (SELECT batch_id FROM conv_batch_metadata WHERE project_id = ? AND key = ? AND value = ?) "
            "ORDER BY created_at, id",
            (project_id, project_id, key, value),
        )
    ]


def cancel(
    tx: Tx, project_id: str, now: int, batch_id: str | None = None, key: str | None = None, value: str | None = None
) -> int:
    """Cancel the batches named (by id, or by a metadata pair) that are still SCHEDULED and not
    yet due; returns how many."""
    guard = "status = 'SCHEDULED' AND send_after > ? AND project_id = ?"
    if batch_id is not None:
        tx.execute(
            f"UPDATE conv_batches SET status = 'CANCELLED' WHERE id = ? AND {guard}", (batch_id, now, project_id)
        )
    else:
        tx.execute(
            f"UPDATE conv_batches SET status = 'CANCELLED' WHERE {guard} AND id IN (SELECT batch_id FROM "
            "conv_batch_metadata WHERE project_id = ? AND key = ? AND value = ?)",
            (now, project_id, project_id, key, value),
        )
    return tx.rowcount


def claim_due(tx: Tx, now: int) -> BatchRow | None:
    """The oldest batch due for fan-out (locked until the caller's transaction ends)."""
    lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
    r = tx.one(
        f"SELECT {COLS} FROM conv_batches WHERE status IN ('SCHEDULED', 'READY') AND send_after <= ? "
        f"ORDER BY send_after, created_at, id LIMIT 1{lock}",
        (now,),
    )
    return None if r is None else row(r)


def set_status(tx: Tx, batch_id: str, status: str) -> None:
    tx.execute("UPDATE conv_batches SET status = ? WHERE id = ?", (status, batch_id))


def next_due(tx: Tx) -> int | None:
    return tx.scalar("SELECT min(send_after) FROM conv_batches WHERE status IN ('SCHEDULED', 'READY')")
