"""The callback outbox: rows written in the same transaction as the change that causes them,
then claimed, posted and settled by the callback sender (`engine/callbacks.py`, which owns
the retry schedule).

A row is `pending` until due (`next_attempt_at`), `sending` while a node posts it, then
`done`, `failed` (a 4xx Sinch does not retry) or `dead` (retries exhausted). Claiming stamps
`sending` with a visibility deadline instead of holding a lock across the HTTP call: if the
node dies while posting, the row becomes due again at that deadline and anyone picks it up.
A callback can therefore be posted twice around a crash, never lost. On PostgreSQL the claim
is `FOR UPDATE SKIP LOCKED`, so two nodes never claim the same row in the same instant.
"""

from __future__ import annotations

from typing import NamedTuple

from .db import Tx


def enqueue(tx: Tx, rows: list[tuple[str, str, str, str]], now: int) -> None:
    """rows: (account_id, kind, url, payload JSON)."""
    if rows:
        tx.executemany(
            "INSERT INTO outbox (account_id, kind, url, payload, created_at, next_attempt_at) VALUES (?,?,?,?,?,?)",
            [(a, k, u, p, now, now) for a, k, u, p in rows])


class Due(NamedTuple):
    id: int
    account_id: str
    url: str
    payload: str
    attempts: int
    first_failure_at: int | None


def claim(tx: Tx, node: str, now: int, limit: int, visibility_ms: int) -> list[Due]:
    """Due callbacks, marked `sending` by `node` until `now + visibility_ms`."""
    lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
    rows = [Due(r.id, r.account_id, r.url, r.payload, r.attempts, r.first_failure_at) for r in tx.all(
        "SELECT id, account_id, url, payload, attempts, first_failure_at FROM outbox "
        "WHERE state IN ('pending', 'sending') AND next_attempt_at <= ? "
        f"ORDER BY next_attempt_at, id LIMIT ?{lock}", (now, limit))]
    if rows:
        tx.executemany("UPDATE outbox SET state = 'sending', claimed_by = ?, next_attempt_at = ? WHERE id = ?",
                       [(node, now + visibility_ms, r.id) for r in rows])
    return rows


class Outcome(NamedTuple):
    """What one attempt left behind. `next_attempt_at` is the retry time while `pending`, and
    the time it was settled otherwise."""

    id: int
    state: str  # pending | done | failed | dead
    attempts: int
    first_failure_at: int | None
    last_status: int | None
    last_error: str | None
    next_attempt_at: int


def settle(tx: Tx, outcomes: list[Outcome]) -> None:
    tx.executemany(
        "UPDATE outbox SET state = ?, attempts = ?, first_failure_at = ?, last_status = ?, last_error = ?, "
        "next_attempt_at = ?, claimed_by = NULL, done_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END "
        "WHERE id = ?",
        [(o.state, o.attempts, o.first_failure_at, o.last_status, o.last_error, o.next_attempt_at, o.state,
          o.next_attempt_at, o.id) for o in outcomes])


def next_due(tx: Tx) -> int | None:
    return tx.scalar("SELECT min(next_attempt_at) FROM outbox WHERE state IN ('pending', 'sending')")


def release_own(tx: Tx, node: str, now: int) -> int:
    """At start-up: callbacks this node was posting when it stopped are due now."""
    tx.execute("UPDATE outbox SET state = 'pending', claimed_by = NULL, next_attempt_at = ? "
               "WHERE state = 'sending' AND claimed_by = ?", (now, node))
    return tx.rowcount
