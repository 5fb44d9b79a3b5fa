"""Callback outbox rows, written in the same transaction as the change that causes them.
Delivery (claiming, retries) is in `engine/callbacks.py`."""

from __future__ import annotations

from .db import Tx


def enqueue(tx: Tx, rows: list[tuple[str, str, str, str]], now: int) -> None:
    """rows: (account_id, kind, url, payload JSON)."""
    if rows:
        tx.executemany(
            "INSERT INTO outbox (account_id, kind, url, payload, created_at, next_attempt_at) VALUES (?,?,?,?,?,?)",
            [(a, k, u, p, now, now) for a, k, u, p in rows])
