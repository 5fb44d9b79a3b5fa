"""Engine nodes: one heartbeat row per node that runs an engine, so that every node knows how
many share the dispatch leases (the fair-share rule of `engine/leasing.py`).

A row is `(id, seen_at, started_at)` in wall-clock milliseconds (`clock.wall_ms`, passed in by
the caller). A node beats in every lease pass (each second); it is *live* while its last beat
is younger than the lease TTL, so a node is counted exactly as long as its leases may still be
valid. A node stopping cleanly deletes its row (the others' shares grow at their next pass);
one that died just stops beating, and its row is pruned an hour later when another node starts.

Why this is safe with two nodes racing (PostgreSQL, READ COMMITTED):

- a node writes only its own row (its primary key is the node id), so beats never conflict;
- the live count is a plain read of committed rows: it may miss a node whose first beat is not
  committed yet, or still count one that has just died. The count only decides how many leases
  a node asks for, never whether two nodes may drain one plan (the lease upsert of `leases.py`
  decides that, and the claims of `queue.py` could not share a row even then), so a stale count
  costs balance for a pass or for one TTL, never order or delivery.
- the prune at start-up deletes only rows an hour stale: rows of live nodes are never touched.

On SQLite there is one engine per file: a starting engine forgets every row.
"""

from __future__ import annotations

from .db import Tx

PRUNE_AFTER_MS = 3_600_000


def join(tx: Tx, node: str, now: int) -> None:
    """A node's engine starts: forget nodes dead for an hour, then beat."""
    tx.execute("DELETE FROM nodes WHERE seen_at < ? AND id <> ?", (now - PRUNE_AFTER_MS, node))
    tx.execute(
        "INSERT INTO nodes (id, seen_at, started_at) VALUES (?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, started_at = excluded.started_at",
        (node, now, now),
    )


def beat(tx: Tx, node: str, now: int) -> None:
    tx.execute(
        "INSERT INTO nodes (id, seen_at, started_at) VALUES (?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
        (node, now, now),
    )


def live(tx: Tx, now: int, ttl_ms: int) -> list[str]:
    """Ids of the nodes that beat within `ttl_ms` (the last beat at `now - ttl_ms` still counts)."""
    return [r.id for r in tx.all("SELECT id FROM nodes WHERE seen_at >= ? ORDER BY id", (now - ttl_ms,))]


def leave(tx: Tx, node: str) -> None:
    """A node's engine stops cleanly: it is no longer counted."""
    tx.execute("DELETE FROM nodes WHERE id = ?", (node,))


def forget_all(tx: Tx) -> None:
    """SQLite: one engine per file, so rows of a previous life are not other nodes."""
    tx.execute("DELETE FROM nodes")
