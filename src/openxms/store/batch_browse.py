"""SMS API batches of every plan as the web UI's Batches view lists them: newest first (keyset
pages over (created_at, id), the batches_list order without its account), each with its
recipients counted by status. The batches that carry Conversation messages
(`origin = 'conversation'`) are left out, as the SMS API leaves them out.
"""

from __future__ import annotations

from typing import NamedTuple

from . import batches
from .db import Tx


class Summary(NamedTuple):
    batch: batches.BatchRow
    counts: dict[str, int]  # recipients by status (none before a scheduled batch is due)


def _summaries(tx: Tx, ids: list[str]) -> list[Summary]:
    rows = batches.get_many(tx, ids)
    counts: dict[str, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for r in tx.all(
            f"SELECT batch_id, status, count(*) AS n FROM recipients WHERE batch_id IN {tx.in_list(ids)} "
            "GROUP BY batch_id, status",
            ids,
        ):
            counts[r.batch_id][r.status] = r.n
    return [Summary(rows[i], counts[i]) for i in ids if i in rows]


def page(tx: Tx, plans: list[str], scheduled_only: bool, before: tuple[int, str] | None, limit: int) -> list[Summary]:
    """Up to `limit` batches older than `before` ((created_at, id) of the last one shown)."""
    where = ["origin = 'sms'"]
    args: list = []
    if plans:
        where.append(f"account_id IN {tx.in_list(plans)}")
        args += plans
    if scheduled_only:
        where.append("state = 'scheduled'")
    if before is not None:
        where.append("(created_at < ? OR (created_at = ? AND id < ?))")
        args += [before[0], before[0], before[1]]
    ids = [
        r.id
        for r in tx.all(
            f"SELECT id FROM batches WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT ?",
            [*args, limit],
        )
    ]
    return _summaries(tx, ids)


def get(tx: Tx, batch_id: str) -> Summary | None:
    found = tx.scalar("SELECT id FROM batches WHERE id = ? AND origin = 'sms'", (batch_id,))
    return _summaries(tx, [found])[0] if found is not None else None
