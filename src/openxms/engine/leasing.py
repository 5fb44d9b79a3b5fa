"""Which accounts' queues this node dispatches: one dispatch lease per account (service plan or
project), and at most a fair share of them per node.

The rule. Every node with an engine beats a heartbeat row (`store/nodes.py`) in each lease pass;
the live nodes are those that beat within the lease TTL. With A accounts and N live nodes a node
holds at most `share = ceil(A / N)` dispatch leases. In each pass (every `TICK_S`) a node, in
one transaction:

1. beats and counts the live nodes (itself included);
2. renews every lease it holds;
3. takes free leases (no row, or expired) while it holds fewer than its share;
4. if it holds more than its share (a node joined), picks the surplus to hand over.

A node's first pass on PostgreSQL takes nothing free (`Engine._leases`), so nodes started
together split the plans from their second pass on instead of handing half of them over.

Handing over is graceful (`Engine._hand_over`): the dispatcher stops claiming, its in-flight
chunks are submitted and recorded, then its still-queued claims go back to the queue and the
lease is deleted in one transaction (`hand_over`); the node under its share takes it at its next
pass. A node that dies stops beating and renewing: after the TTL it is no longer counted, the
others' shares grow and they take its expired leases (and requeue its claims, `take_lease`).

This is the lease balancing of the AWS Kinesis Client Library (each worker's target is
ceil(leases / workers), https://github.com/awslabs/amazon-kinesis-client, `DynamoDBLeaseTaker`),
except that here the node over its share gives its surplus up itself, after draining, instead
of having it stolen: a plan's FIFO order needs the old holder to have stopped sending before the
new one starts. Leases are counted, not weighted by queue depth: an idle plan needs a drainer as
much as a busy one (new messages leave within the dispatcher's wake-up, not a pass), and a
hand-over costs a drain pause, so moving leases as load shifts would cost more than it gives.
With 3 nodes and 4 plans the shares are 2, so the split may be 2 + 2 + 0.

Safety does not rest on this module: one holder per lease is the upsert's (`store/leases.py`),
one claim per recipient the queue's (`store/queue.py`), and the share only decides how many
leases a node asks for. Two nodes whose views of the live set differ for a pass may both be
under or over their share for that pass; they agree again at the next one (beats are committed
every second, the TTL is 15 s). Every free lease finds a taker once they agree, because the
shares add up to at least A.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from ..clock import wall_ms
from ..store import leases, nodes, queue
from ..store.db import Row, Tx

log = logging.getLogger("openxms.engine")
TICK_S = 1.0  # a lease pass: beat, renew, take, hand over (the TTL is 15 passes)
LIVE_MS = leases.LEASE_MS  # a node is counted as long as its leases may still be valid


def lease_name(account_id: str) -> str:
    return f"dispatch:{account_id}"


def share(accounts: int, live: int) -> int:
    """The most dispatch leases one node may hold: ceil(accounts / live nodes)."""
    return -(-accounts // max(1, live))


class Pass(NamedTuple):
    """What one lease pass found and did, for the engine to act on."""

    live: int  # live nodes, this one included
    share: int
    held: tuple[str, ...]  # accounts whose lease this node holds after the pass (sorted)
    fresh: tuple[str, ...]  # of which taken in this pass
    surplus: tuple[str, ...]  # held accounts to hand over now (over the share, not already leaving)


def to_take(accounts: Sequence[str], node: str, current: Mapping[str, Row], now: int, limit: int) -> list[str]:
    """The accounts whose lease this node holds (to renew) and, after them in name order, up to
    `limit` minus those free ones to take; in lease-name order, the order the rows are locked."""
    mine = [a for a in accounts if (r := current.get(lease_name(a))) is not None and r.holder == node]
    room = limit - len(mine)
    out = []
    for a in sorted(accounts, key=lease_name):
        r = current.get(lease_name(a))
        if r is not None and r.holder == node:
            out.append(a)
        elif room > 0 and (r is None or r.expires_at < now):
            out.append(a)
            room -= 1
    return out


def surplus(held: Sequence[str], leaving: Collection[str], limit: int) -> tuple[str, ...]:
    """Which held accounts to hand over: as many as are over `limit` once those already being
    handed over are counted, the last ones in order (so the choice is stable between passes)."""
    over = len(held) - limit - sum(1 for a in held if a in leaving)
    staying = [a for a in held if a not in leaving]
    return tuple(staying[-over:]) if over > 0 else ()


def take_lease(tx: Tx, account_id: str, node_id: str, now: int | None = None) -> tuple[bool, bool]:
    """(held, newly taken) for an account's dispatch lease. On taking it, claims left by other
    (dead) nodes go back to the queue: they may or may not have reached the carrier, and are
    sent again (at least once)."""
    held, fresh = leases.acquire(tx, lease_name(account_id), node_id, now=now)
    if fresh:
        n = queue.release_foreign_claims(tx, account_id, node_id)
        if n:
            log.info("requeued %d messages claimed by a previous node for %s", n, account_id)
    return held, fresh


def balance(
    tx: Tx,
    node: str,
    accounts: Sequence[str],
    leaving: Collection[str],
    now: int | None = None,
    taking: bool = True,
) -> Pass:
    """One lease pass (the module's rule), in one transaction. `leaving`: accounts this node is
    handing over right now (still held and renewed until `hand_over` deletes their lease);
    `now`: wall-clock ms (tests pass their own); `taking` false: renew only (a node's first
    pass on PostgreSQL, see `Engine._leases`)."""
    now = wall_ms() if now is None else now
    nodes.beat(tx, node, now)
    live = max(1, len(nodes.live(tx, now, LIVE_MS)))
    limit = share(len(accounts), live)
    current = leases.holders(tx, [lease_name(a) for a in accounts])
    held, fresh = [], []
    for a in to_take(accounts, node, current, now, limit if taking else 0):
        got, new = take_lease(tx, a, node, now)
        if got:
            held.append(a)
            if new:
                fresh.append(a)
    return Pass(live, limit, tuple(held), tuple(fresh), surplus(held, leaving, limit))


def join(tx: Tx, node: str, sqlite: bool, now: int | None = None) -> None:
    """An engine starts: on SQLite (one engine per file) leases and heartbeats of a previous life
    are its own to forget; then it beats. Whatever it had claimed before goes back to the queue."""
    if sqlite:
        leases.release_all(tx)
        nodes.forget_all(tx)
    nodes.join(tx, node, wall_ms() if now is None else now)
    queue.release_own_claims(tx, node)


def hand_over(tx: Tx, account_id: str, node: str) -> int:
    """Give an account's lease up (its dispatcher has stopped): claims that never reached the
    connector back to the queue and the lease deleted, together (`store/queue.py`, point 4).
    Returns how many claims went back."""
    n = queue.release_claims(tx, account_id, node)
    leases.release(tx, lease_name(account_id), node)
    return n


def leave(tx: Tx, accounts: Sequence[str], node: str) -> None:
    """An engine stops: its leases and its heartbeat go, so the others take over at their next pass."""
    for a in sorted(accounts, key=lease_name):
        leases.release(tx, lease_name(a), node)
    nodes.leave(tx, node)
