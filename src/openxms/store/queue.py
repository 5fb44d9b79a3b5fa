"""The queue: claiming work from the recipients table itself (the dispatcher's SQL).

A recipient is *queued* while `status = 'Queued' AND claimed_by IS NULL`; FIFO order is
`recipients.id` order (rows are inserted in batch creation / due order). The dispatcher
claims up to n rows per transaction by stamping `claimed_by` with its node id; the row keeps
its public status (Queued) until the connector has taken the message.

Why this is safe with several nodes on PostgreSQL:

1. An account's queue is drained by the one node that holds the account's *lease* (`leases.py`:
   a row with an expiry, renewed every few seconds). One drainer per account is what
   keeps the account's FIFO order and its rate limit exact across nodes.
2. Claims are `FOR UPDATE SKIP LOCKED` and re-check `claimed_by IS NULL` under the row lock
   (READ COMMITTED re-evaluates the WHERE clause on the locked row), so even two nodes that
   both believe they hold a lease (a stalled node whose lease ran out) never claim the same
   row twice.
3. A node that takes over a lease first releases claims left by others (or by its own previous
   life): those messages may or may not have reached the connector, so they are resent
   (at-least-once towards the carrier; the simulator ignores a second copy of the same
   recipient). Their final status is still recorded once, because a final status is never
   overwritten (`engine/status.py`).
4. A node handing a plan over to another (the fair share of `engine/leasing.py`) first stops
   claiming and lets its in-flight chunks finish, then gives back its claims that are still
   queued and deletes its lease in one transaction (`release_claims` + `leases.release`): the
   next holder can only take the lease after that commits, so it never sees a claim of a node
   still sending, and the plan is drained by one node at a time.

On SQLite there is one writer, so claims are serialised anyway; the same statements run
without the row-locking clauses.
"""

from __future__ import annotations

from typing import NamedTuple

from .db import Tx


class Claimed(NamedTuple):
    id: int
    batch_id: str
    msisdn: str


def claim(tx: Tx, account_id: str, node: str, limit: int) -> list[Claimed]:
    """Claim up to `limit` queued recipients of an account, oldest first."""
    if tx.dialect == "postgresql":
        rows = tx.all(
            "WITH c AS (SELECT id FROM recipients WHERE account_id = ? AND status = 'Queued' "
            "AND claimed_by IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) "
            "UPDATE recipients r SET claimed_by = ?, attempts = r.attempts + 1 FROM c "
            "WHERE r.id = c.id AND r.claimed_by IS NULL RETURNING r.id, r.batch_id, r.msisdn",
            (account_id, limit, node),
        )
    else:
        rows = tx.all(
            "UPDATE recipients SET claimed_by = ?, attempts = attempts + 1 WHERE id IN ("
            "SELECT id FROM recipients WHERE account_id = ? AND status = 'Queued' AND claimed_by IS NULL "
            "ORDER BY id LIMIT ?) RETURNING id, batch_id, msisdn",
            (node, account_id, limit),
        )
    return sorted(Claimed(r.id, r.batch_id, r.msisdn) for r in rows)


def depths(tx: Tx) -> tuple[list[tuple[str, int, int | None]], int]:
    """For /metrics: (plan, queued, oldest created_at) per plan with queued messages, and the
    callbacks waiting. The first reads the queue index (recipients_queue: queued and
    unclaimed), so claimed-but-unsent messages are not in the depth."""
    rows = tx.all(
        "SELECT account_id, count(*) AS n, min(created_at) AS oldest FROM recipients "
        "WHERE status = 'Queued' AND claimed_by IS NULL GROUP BY account_id ORDER BY account_id"
    )
    backlog = tx.scalar("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')", (), 0)
    return [(r.account_id, r.n, r.oldest) for r in rows], backlog


def unclaim(tx: Tx, ids: list[int]) -> None:
    """Give claimed rows back to the queue (the connector could not take them now)."""
    if not ids:
        return
    if tx.dialect == "postgresql":  # one statement over an array (recipients.set_statuses)
        tx.execute("UPDATE recipients SET claimed_by = NULL WHERE id = ANY(?::bigint[]) AND status = 'Queued'", (ids,))
        return
    tx.executemany("UPDATE recipients SET claimed_by = NULL WHERE id = ? AND status = 'Queued'", [(i,) for i in ids])


def release_foreign_claims(tx: Tx, account_id: str, node: str) -> int:
    """On taking a lease: claims by other (dead) nodes go back to the queue, in their order."""
    tx.execute(
        "UPDATE recipients SET claimed_by = NULL WHERE account_id = ? AND status = 'Queued' "
        "AND claimed_by IS NOT NULL AND claimed_by <> ?",
        (account_id, node),
    )
    return tx.rowcount


def release_claims(tx: Tx, account_id: str, node: str) -> int:
    """On handing an account's lease over: this node's claims of it that never reached the
    connector (a chunk cut short) go back to the queue, in their order."""
    tx.execute(
        "UPDATE recipients SET claimed_by = NULL WHERE account_id = ? AND claimed_by = ? AND status = 'Queued'",
        (account_id, node),
    )
    return tx.rowcount


def release_own_claims(tx: Tx, node: str) -> int:
    """At start-up: claims this node made before it was killed."""
    tx.execute("UPDATE recipients SET claimed_by = NULL WHERE claimed_by = ? AND status = 'Queued'", (node,))
    return tx.rowcount


def has_queued(tx: Tx, account_id: str) -> bool:
    return (
        tx.one(
            "SELECT 1 FROM recipients WHERE account_id = ? AND status = 'Queued' AND claimed_by IS NULL LIMIT 1",
            (account_id,),
        )
        is not None
    )
