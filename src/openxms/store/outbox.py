"""The callback outbox: rows written in the same transaction as the change that causes them,
then claimed, posted and settled by the callback sender (`engine/callbacks.py`, which owns
the retry schedule).

A row is `pending` until due (`next_attempt_at`), `sending` while a node posts it, then
`done`, `failed` (a 4xx Sinch does not retry) or `dead` (retries exhausted). Claiming stamps
`sending` with a visibility deadline instead of holding a lock across the HTTP call: if the
node dies while posting, the row becomes due again at that deadline and anyone picks it up.
A callback can therefore be posted twice around a crash, never lost. The claim's guarded
UPDATE (below) keeps two nodes from claiming the same row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

from .db import Tx
from .recipients import chunks


def target_of(url: str) -> str:
    """`scheme://host[:port]` of a callback URL (no user info): what concurrency is bounded by."""
    try:
        u = urlsplit(url)
        host = (u.hostname or "").lower()
        port = f":{u.port}" if u.port is not None else ""
    except ValueError:  # e.g. a bracketed host that is not an IPv6 address
        return "invalid:" + url[:64]
    return f"{u.scheme.lower()}://{host}{port}"


class Callback(NamedTuple):
    account_id: str
    kind: str
    url: str
    payload: str  # JSON
    subject: str | None = None  # what it is about: an SMS batch, a Conversation message, an inbound
    recipient: str | None = None  # the number a per-recipient report is about


def enqueue(tx: Tx, rows: Sequence[tuple[str, str, str, str] | Callback], now: int) -> None:
    """rows: Callbacks (or (account_id, kind, url, payload)); signed with the account's webhook secret."""
    if rows:
        cbs = [r if isinstance(r, Callback) else Callback(*r) for r in rows]
        tx.executemany(
            "INSERT INTO outbox (account_id, kind, url, target, payload, subject, recipient, created_at, "
            "next_attempt_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [(c.account_id, c.kind, c.url, target_of(c.url), c.payload, c.subject, c.recipient, now, now) for c in cbs],
        )


def enqueue_signed(
    tx: Tx, rows: list[tuple[str, str, str, str, str | None]], now: int, subject: str | None = None
) -> None:
    """rows: (account_id, kind, url, payload JSON, secret): signed with that secret (None: unsigned),
    as Conversation API callbacks are with their webhook's; all about `subject`."""
    if rows:
        tx.executemany(
            "INSERT INTO outbox (account_id, kind, url, target, payload, secret, subject, created_at, "
            "next_attempt_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [(a, k, u, target_of(u), p, sec or "", subject, now, now) for a, k, u, p, sec in rows],
        )


class Due(NamedTuple):
    id: int
    account_id: str
    url: str
    payload: str
    attempts: int
    first_failure_at: int | None
    target: str
    secret: str | None = None  # None: sign with the account's secret; "": unsigned; else this one


def _not_busy(tx: Tx, busy: list[str]) -> tuple[str, list[str]]:
    if not busy:
        return "", []
    return f" AND (target IS NULL OR target NOT IN {tx.in_list(busy)})", busy


def claim(
    tx: Tx, node: str, now: int, limit: int, visibility_ms: int, per_target: int, in_flight: Mapping[str, int]
) -> list[Due]:
    """Up to `limit` due callbacks, at most `per_target` in flight per target counting
    `in_flight` (what this node is posting now), marked `sending` by `node` until
    `now + visibility_ms`, oldest first.

    Saturated targets are left out in SQL, so a target with a deep backlog never hides the
    others' callbacks behind it. Rows are chosen first and claimed with a guarded UPDATE
    (still due, still pending or expired-sending): if another node claimed one in between, the
    guard fails for it and it is simply not ours (READ COMMITTED re-checks the WHERE clause on
    the row as the other transaction left it)."""
    full = [t for t, n in in_flight.items() if n >= per_target]
    where, args = _not_busy(tx, full)
    candidates = tx.all(
        "SELECT id, url, target FROM outbox WHERE state IN ('pending', 'sending') "
        f"AND next_attempt_at <= ?{where} ORDER BY next_attempt_at, id LIMIT ?",
        [now, *args, limit * 4],
    )
    counts = dict(in_flight)
    chosen: list[int] = []
    for c in candidates:
        t = c.target or target_of(c.url)
        if counts.get(t, 0) < per_target:
            counts[t] = counts.get(t, 0) + 1
            chosen.append(c.id)
            if len(chosen) == limit:
                break
    out: list[Due] = []
    for part in chunks(sorted(chosen)):
        out += [
            Due(
                r.id,
                r.account_id,
                r.url,
                r.payload,
                r.attempts,
                r.first_failure_at,
                r.target or target_of(r.url),
                r.secret,
            )
            for r in tx.all(
                f"UPDATE outbox SET state = 'sending', claimed_by = ?, next_attempt_at = ? WHERE id IN "
                f"{tx.in_list(part)} AND state IN ('pending', 'sending') AND next_attempt_at <= ? "
                "RETURNING id, account_id, url, payload, attempts, first_failure_at, target, secret",
                [node, now + visibility_ms, *part, now],
            )
        ]
    return sorted(out, key=lambda d: d.id)


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
    at: int | None = None  # when the attempt was made (None: no attempt to record)
    headers: str | None = None  # the signature headers it carried (JSON), None when unsigned


def settle(tx: Tx, outcomes: list[Outcome]) -> None:
    tx.executemany(
        "UPDATE outbox SET state = ?, attempts = ?, first_failure_at = ?, last_status = ?, last_error = ?, "
        "next_attempt_at = ?, claimed_by = NULL, done_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END "
        "WHERE id = ?",
        [
            (
                o.state,
                o.attempts,
                o.first_failure_at,
                o.last_status,
                o.last_error,
                o.next_attempt_at,
                o.state,
                o.next_attempt_at,
                o.id,
            )
            for o in outcomes
        ],
    )
    tried = [(o.id, o.attempts, o.at, o.last_status, o.last_error, o.headers) for o in outcomes if o.at is not None]
    if tried:
        tx.executemany(
            "INSERT INTO outbox_attempts (outbox_id, attempt, at, status, error, headers) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT (outbox_id, attempt) DO NOTHING",
            tried,
        )


def next_due(tx: Tx, busy: list[str] | None = None) -> int | None:
    """When the next callback is due, leaving out targets that are saturated now (their next
    chance comes when one of their posts finishes, which wakes the sender anyway)."""
    where, args = _not_busy(tx, busy or [])
    return tx.scalar(f"SELECT min(next_attempt_at) FROM outbox WHERE state IN ('pending', 'sending'){where}", args)


def release_own(tx: Tx, node: str, now: int) -> int:
    """At start-up: callbacks this node was posting when it stopped are due now."""
    tx.execute(
        "UPDATE outbox SET state = 'pending', claimed_by = NULL, next_attempt_at = ? "
        "WHERE state = 'sending' AND claimed_by = ?",
        (now, node),
    )
    return tx.rowcount


# The web UI's Callbacks view --------------------------------------------------------------

_BROWSE = (
    "SELECT id, account_id, kind, url, target, payload, created_at, next_attempt_at, first_failure_at, attempts, "
    "state, last_status, last_error, done_at, secret, subject, recipient FROM outbox"
)


def page(tx: Tx, states: list[str], plans: list[str], before: int | None, limit: int) -> list:
    """Callbacks newest first (keyset pages over the id), optionally in these states and plans."""
    where: list[str] = []
    args: list = []
    if states:
        where.append(f"state IN {tx.in_list(states)}")
        args += states
    if plans:
        where.append(f"account_id IN {tx.in_list(plans)}")
        args += plans
    if before is not None:
        where.append("id < ?")
        args.append(before)
    sql = _BROWSE + (" WHERE " + " AND ".join(where) if where else "")
    return tx.all(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])


def get(tx: Tx, callback_id: int):
    return tx.one(_BROWSE + " WHERE id = ?", (callback_id,))


def about(tx: Tx, subject: str, recipient: str | None, limit: int = 100) -> list:
    """The callbacks about `subject` (oldest first): with `recipient`, those about that number
    and those about the whole subject (a batch report); without, all of them."""
    where = "subject = ?" + (" AND (recipient IS NULL OR recipient = ?)" if recipient is not None else "")
    args = [subject] if recipient is None else [subject, recipient]
    return tx.all(_BROWSE + f" WHERE {where} ORDER BY id LIMIT ?", [*args, limit])


def attempts(tx: Tx, callback_id: int) -> list:
    return tx.all(
        "SELECT attempt, at, status, error, headers FROM outbox_attempts WHERE outbox_id = ? ORDER BY attempt",
        (callback_id,),
    )


def retry_now(tx: Tx, callback_id: int, now: int) -> str | None:
    """Make a callback due now: a pending one skips the rest of its wait, a failed or dead one
    is tried once more. Returns its state before (None: no such callback); one being posted
    right now ('sending') is left alone."""
    state = tx.scalar("SELECT state FROM outbox WHERE id = ?", (callback_id,))
    if state in ("pending", "failed", "dead"):
        tx.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?, done_at = NULL WHERE id = ? AND state = ?",
            (now, callback_id, state),
        )
    return state
