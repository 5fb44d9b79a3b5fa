"""Leases: which node does a piece of work that must run in one place at a time (an account's
dispatch, see `queue.py` for why that keeps FIFO order and rate exact across nodes).

A lease is a row `(name, holder, expires_at)`. The holder renews it well before it expires;
anyone may take it once it has expired (or once its holder released it, deleting the row). How
many a node asks for is the fair-share rule of `engine/leasing.py`; whether it gets one is
decided here, by one statement per lease.

Why two nodes racing for one lease cannot both win (PostgreSQL, READ COMMITTED): the upsert is
one statement; conflicting inserts on the primary key are serialised (the second waits for the
first to commit), and the `WHERE` of `DO UPDATE` is evaluated on the row as the winner left it,
so the loser sees an unexpired lease of someone else and changes nothing. `DO UPDATE` locks the
row even when its `WHERE` is false, so a node touching several leases in one transaction does
so in name order (`engine/leasing.py`): two nodes then never wait for each other in a cycle.
SQLite has one writer anyway.

Times are wall-clock milliseconds (`clock.wall_ms`, passed in by the caller): leases are about
which process is alive, not business time, so they keep working under `--clock manual`.
"""

from __future__ import annotations

from ..clock import wall_ms
from .db import Row, Tx

LEASE_MS = 15_000


def acquire(tx: Tx, name: str, node: str, ttl_ms: int = LEASE_MS, now: int | None = None) -> tuple[bool, bool]:
    """(held, newly acquired). Renews our own lease; takes an expired or missing one."""
    now = wall_ms() if now is None else now
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


def holders(tx: Tx, names: list[str]) -> dict[str, Row]:
    """name -> (holder, expires_at) of those of `names` that have a row (a plain read: it only
    tells a node which leases look free; `acquire` decides)."""
    if not names:
        return {}
    rows = tx.all(f"SELECT name, holder, expires_at FROM leases WHERE name IN {tx.in_list(names)}", names)
    return {r.name: r for r in rows}


def release(tx: Tx, name: str, node: str) -> None:
    tx.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, node))


def release_all(tx: Tx) -> None:
    """Forget every lease (SQLite: one engine per file, so a starting engine owns them all)."""
    tx.execute("DELETE FROM leases")


def held(tx: Tx, prefix: str) -> list[tuple[str, str, int]]:
    """(name, holder, expires_at) of the leases named `prefix...` that have not expired."""
    rows = tx.all(
        "SELECT name, holder, expires_at FROM leases WHERE name LIKE ? AND expires_at >= ? ORDER BY name",
        (prefix.replace("%", "") + "%", wall_ms()),
    )
    return [(r.name, r.holder, r.expires_at) for r in rows]
