"""Turning a batch's `to` (numbers and groups) into queued recipients without stalling the store.

Groups are resolved when the batch is sent ("any groups targeted in a scheduled batch will be
evaluated at the time of sending", Sinch's batch docs), inside the transaction that sends it.
Up to `CHUNK_ROWS` recipients that is one unit of work, as before. A batch to larger groups
(a million members is a valid request) would hold the single writer for many seconds and
block every other tenant's writes, so it is parked in state `expanding` with a cursor, and the
scheduler adds `CHUNK_ROWS` recipients per unit of work until it is done; other writes
interleave between the chunks. The dispatcher may start on the first chunks meanwhile (their
order is kept), and a batch report waits until the expansion is complete.

A batch stops growing at `max_batch_recipients` (a setting): the rest of its groups is left
out and a warning is logged. A send whose groups already exceed it is refused (400).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from ..config import Account
from ..sms import msisdn
from ..sms import statuses as st
from ..store import batches as batch_store
from ..store import outbox
from ..store import recipients as rstore
from ..store.db import Tx
from . import status

log = logging.getLogger("openxms.expansion")
CHUNK_ROWS = 10_000


def estimate(tx: Tx, account_id: str, targets: list[str]) -> int:
    """An upper bound of the recipients `targets` expand to now (numbers + members, with repeats)."""
    numbers, groups = msisdn.split_targets(targets)
    return len(set(numbers)) + (rstore.members_count(tx, rstore.group_tree(tx, account_id, groups)) if groups else 0)


def start(tx: Tx, row: batch_store.BatchRow, targets: list[str], now: int) -> bool:
    """Queue the batch's recipients now if they are few, else queue its numbers and park it in
    `expanding`; whether the expansion is complete. The caller sets the state when it is."""
    numbers, named = msisdn.split_targets(targets)
    numbers = list(dict.fromkeys(numbers))
    if not named:  # the usual batch: its numbers, nothing to resolve
        rstore.insert_queued(tx, row.id, row.account_id, numbers, now)
        return True
    groups = rstore.group_tree(tx, row.account_id, named)
    if rstore.members_count(tx, groups) + len(numbers) <= CHUNK_ROWS:
        rstore.expand(tx, row.id, row.account_id, targets, now)
        return True
    rstore.insert_queued(tx, row.id, row.account_id, numbers, now)
    cursor = {"groups": groups, "i": 0, "after": "", "n": len(numbers)}
    batch_store.set_expanding(tx, row.id, json.dumps(cursor))
    return False


def step(tx: Tx, now: int, accounts: Mapping[str, Account], max_recipients: int) -> str | None:
    """Add one chunk to the oldest expanding batch; the account that got new recipients, if any."""
    found = batch_store.claim_expanding(tx)
    if found is None:
        return None
    row, raw = found
    cursor = json.loads(raw or "{}")
    groups, i, after, n = cursor.get("groups", []), cursor.get("i", 0), cursor.get("after", ""), cursor.get("n", 0)
    budget = min(CHUNK_ROWS, max(0, max_recipients - n))
    added: list[str] = []
    while budget > 0 and i < len(groups):
        page = rstore.members_page(tx, groups[i], after, budget)
        added += page
        if len(page) < budget:  # this group is exhausted
            i, after = i + 1, ""
        else:
            after = page[-1]
        budget -= len(page)
    rstore.insert_queued(tx, row.id, row.account_id, added, now)
    n += len(added)
    if row.canceled:  # cancelled while expanding: its recipients show Cancelled (407) like the others
        ids = rstore.ids_in_status(tx, row.id, st.QUEUED, unclaimed=True)
        status.apply(tx, [status.Change(r, st.CANCELLED, st.C_CANCELLED) for r in ids], now, accounts)
    done = i >= len(groups) or n >= max_recipients
    if done and i < len(groups):
        log.warning(
            "batch %s reached max_batch_recipients (%d): the rest of its groups is left out",
            row.id,
            max_recipients,
            extra={"plan": row.account_id, "batch_id": row.id},
        )
    batch_store.set_expanding(
        tx, row.id, None if done else json.dumps({"groups": groups, "i": i, "after": after, "n": n})
    )
    if done:
        _finished(tx, row, now, accounts)
    return row.account_id


def _finished(tx: Tx, row: batch_store.BatchRow, now: int, accounts: Mapping[str, Account]) -> None:
    """Expansion complete: an expired batch aborts what is queued; a batch whose recipients all
    became final meanwhile gets its batch report now (no status change will trigger it later)."""
    if row.expire_at <= now:
        ids = rstore.ids_in_status(tx, row.id, st.QUEUED, unclaimed=True)
        status.apply(tx, [status.Change(r, st.ABORTED, st.C_INTERNAL_EXPIRY) for r in ids], now, accounts)
    if rstore.count_open(tx, [row.id])[row.id] == 0:
        fresh = batch_store.get_many(tx, [row.id], with_doc=False)[row.id]
        outbox.enqueue(tx, status.batch_report_callback(tx, fresh, accounts), now)
