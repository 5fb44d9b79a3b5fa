"""Small persistent settings the server makes for itself (OAuth signing secret, dev plan)."""

from __future__ import annotations

from collections.abc import Callable

from .db import Tx


def get_or_create(tx: Tx, key: str, make: Callable[[], str]) -> str:
    value = tx.scalar("SELECT value FROM meta WHERE key = ?", (key,))
    if value is None:
        value = make()
        tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value))
        value = tx.scalar("SELECT value FROM meta WHERE key = ?", (key,))
    return value


def ping(tx: Tx) -> bool:
    """The database answers (readiness)."""
    return tx.scalar("SELECT 1") == 1


def get(tx: Tx, key: str) -> str | None:
    return tx.scalar("SELECT value FROM meta WHERE key = ?", (key,))
