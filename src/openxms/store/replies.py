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
    """Remember these as the latest message per (handset, sender). Sorted by key, so two nodes
    recording overlapping pairs lock them in the same order (no deadlock on PostgreSQL)."""
    latest = {(r.msisdn, r.sender): r for r in routes}  # a later message of the chunk wins
    if latest:
        tx.executemany(
            "INSERT INTO reply_routes (msisdn, sender, account_id, batch_id, recipient_id, at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT (msisdn, sender) DO UPDATE SET account_id = excluded.account_id, "
            "batch_id = excluded.batch_id, recipient_id = excluded.recipient_id, at = excluded.at",
            [(*latest[k], now) for k in sorted(latest)])


class Last(NamedTuple):
    account_id: str
    batch_id: str
    recipient_id: int
    client_reference: str | None


def last(tx: Tx, msisdn: str, sender: str) -> Last | None:
    """The last message sent to `msisdn` from `sender`, with its batch's client_reference."""
    r = tx.one("SELECT r.account_id, r.batch_id, r.recipient_id, b.client_reference FROM reply_routes r "
               "LEFT JOIN batches b ON b.id = r.batch_id WHERE r.msisdn = ? AND r.sender = ?", (msisdn, sender))
    return None if r is None else Last(r.account_id, r.batch_id, r.recipient_id, r.client_reference)
