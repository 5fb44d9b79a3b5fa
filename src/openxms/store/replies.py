"""Where a handset's reply goes: for each (handset, our sender number) the last message we sent
that way, recorded by the engine when a connector accepts a message (every connector alike).

An inbound message from handset H to number N belongs to the account that last sent to H from
N, unless N is configured on one account (then it is that account's, `services/inbounds.py`),
and carries that message's batch `client_reference`. One row per pair: the table grows with
the number of distinct handsets, not with traffic.
"""

from __future__ import annotations

from typing import NamedTuple

from .db import Tx


class Route(NamedTuple):
    msisdn: str
    sender: str
    account_id: str
    batch_id: str
    recipient_id: int


def record(tx: Tx, routes: list[Route], now: int) -> None:
    """Remember these as the latest message per (handset, sender): one statement per chunk
    (json_each / unnest, as for recipient rows: the dispatcher writes this for every message).
    Sorted by key, so two nodes recording overlapping pairs lock them in the same order (no
    deadlock on PostgreSQL); one row per key (PostgreSQL refuses to upsert a row twice in one
    statement), a later message of the chunk winning."""
    latest = {(r.msisdn, r.sender): r for r in routes}
    if not latest:
        return
    rows = [latest[k] for k in sorted(latest)]
    upsert = (
        "ON CONFLICT (msisdn, sender) DO UPDATE SET account_id = excluded.account_id, "
        "batch_id = excluded.batch_id, recipient_id = excluded.recipient_id, at = excluded.at"
    )
    if tx.dialect == "postgresql":
        tx.execute(
            "INSERT INTO reply_routes (msisdn, sender, account_id, batch_id, recipient_id, at) "
            "SELECT m, s, a, b, r, ? FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[]) "
            f"AS t(m, s, a, b, r) {upsert}",
            (
                now,
                [r.msisdn for r in rows],
                [r.sender for r in rows],
                [r.account_id for r in rows],
                [r.batch_id for r in rows],
                [r.recipient_id for r in rows],
            ),
        )
    else:
        tx.values(  # a VALUES list: about half the CPU of json_each + json_extract per row
            "INSERT INTO reply_routes (msisdn, sender, account_id, batch_id, recipient_id, at) "
            f"VALUES {{values}} {upsert}",
            [(*r, now) for r in rows],
        )


class Last(NamedTuple):
    account_id: str
    batch_id: str
    recipient_id: int
    client_reference: str | None


def last(tx: Tx, msisdn: str, sender: str) -> Last | None:
    """The last message sent to `msisdn` from `sender`, with its batch's client_reference."""
    r = tx.one(
        "SELECT r.account_id, r.batch_id, r.recipient_id, b.client_reference FROM reply_routes r "
        "LEFT JOIN batches b ON b.id = r.batch_id WHERE r.msisdn = ? AND r.sender = ?",
        (msisdn, sender),
    )
    return None if r is None else Last(r.account_id, r.batch_id, r.recipient_id, r.client_reference)
