"""Rows for store-level tests: a migrated database, batches and their recipients, written with
the store's own functions so the tests exercise the SQL the engine runs."""

from __future__ import annotations

from openxms.store import batches as batch_store
from openxms.store import recipients as rstore
from openxms.store import schema
from openxms.store.db import Database

NOW = 1_700_000_000_000


def migrated(url: str) -> Database:
    db = Database(url)
    schema.migrate(db)
    return db


def add_batch(
    tx,
    batch_id: str,
    msisdns: list[str],
    *,
    account_id: str = "A",
    delivery_report: str = "none",
    callback_url: str | None = None,
    state: str = "active",
    now: int = NOW,
    doc: str = "{}",
) -> list[int]:
    """An active batch with its recipients queued (FIFO = insertion order); returns their ids."""
    batch_store.insert(
        tx,
        batch_store.BatchRow(
            id=batch_id,
            account_id=account_id,
            type="mt_text",
            sender="12025550100",
            client_reference=None,
            created_at=now,
            modified_at=now,
            due_at=now,
            expire_at=now + 3 * 86_400_000,
            expire_explicit=False,
            canceled=False,
            state=state,
            delivery_report=delivery_report,
            callback_url=callback_url,
            feedback_enabled=False,
            report_sent=False,
            doc=doc,
        ),
    )
    rstore.insert_queued(tx, batch_id, account_id, msisdns, now)
    return rstore.ids_in_status(tx, batch_id, "Queued")


def recipient(tx, rid: int):
    return tx.one("SELECT id, status, code, final, claimed_by, attempts FROM recipients WHERE id = ?", (rid,))


def claims(tx) -> dict[int, str | None]:
    return {r.id: r.claimed_by for r in tx.all("SELECT id, claimed_by FROM recipients ORDER BY id")}
