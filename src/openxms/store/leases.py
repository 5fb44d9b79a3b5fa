"""Leases: which node does a piece of work that must run in one place at a time (an account's
dispatch, see `queue.py` for why that keeps FIFO order and rate exact across nodes).

A lease is a row `(name, holder, expires_at)`. The holder renews it well before it expires;
anyone may take it once it has expired. The upsert below is one statement, so two nodes
racing for an expired lease cannot both win: PostgreSQL serialises the conflicting inserts
on the primary key, and the `WHERE` of `DO UPDATE` is evaluated on the row as the winner left
it. SQLite has one writer anyway.

Leases run on wall-clock time on purpose: they are about which process is alive, not business
time, so they keep working under `--clock manual`.
"""

from __future__ import annotations

import time

from .db import Tx

LEASE_MS = 15_000


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def acquire(tx: Tx, name: str, node: str, ttl_ms: int = LEASE_MS) -> tuple[bool, bool]:
    """(held, newly acquired). Renews our own lease; takes an expired one."""
    now = _wall_ms()
    prev = tx.one("SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
    tx.execute(
        "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
        "SET holder = excluded.holder, expires_at = excluded.expires_at "
        "WHERE leases.holder = excluded.holder OR leases.expires_at < ?",
        (name, node, now + ttl_ms, now),
    )
    held = tx.scalar("SELECT holder FROM leases WHERE name = ?", (name,)) == node
    fresh = held and (prev is None or prev.holder != node)
    return held, fresh


def release(tx: Tx, name: str, node: str) -> None:
    tx.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, node))


def release_all(tx: Tx) -> None:
    """Forget every lease (SQLite: one engine per file, so a starting engine owns them all)."""
    tx.execute("DELETE FROM leases")


def held(tx: Tx, prefix: str) -> list[tuple[str, str, int]]:
    """(name, holder, expires_at) of the leases named `prefix...` that have not expired."""
    rows = tx.all(
        "SELECT name, holder, expires_at FROM leases WHERE name LIKE ? AND expires_at >= ? ORDER BY name",
        (prefix.replace("%", "") + "%", _wall_ms()),
    )
    return [(r.name, r.holder, r.expires_at) for r in rows]
