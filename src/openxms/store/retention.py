"""Retention: what is older than the retention period goes, in bounded chunks.

Sinch keeps batches and their delivery reports for 14 days
(https://developers.sinch.com/docs/sms/api-reference/sms/tag/Batches/); Mailpit prunes by age
and count. Each function here deletes at most `limit` rows (one chunk, one unit of work on
the single writer), so other writes interleave between chunks and sending never waits for
a whole sweep; the sweep (engine/retention.py) calls them until they return 0.

What is kept whatever its age: groups, Conversation apps, contacts, conversations and
webhooks (resources, not messages); scheduled batches and batches with a recipient not yet
final; callbacks not yet done or dead; the reply routes (one row per handset and sender, the
latest: they do not grow with time).

Old rows are found in primary-key order where keys follow time (integer ids, ULIDs), so a
chunk reads the oldest rows first and stops at `limit` without an index of its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import handsets, search
from .db import Tx
from .recipients import chunks


def old_batches(tx: Tx, accounts: Iterable[str], cutoff: int, limit: int) -> list[str]:
    """Batches (SMS and Conversation carriers) due before `cutoff` whose recipients are all
    final, oldest first, over the batches_list index of each account."""
    found: list[str] = []
    for account in accounts:
        found += [
            r.id
            for r in tx.all(
                "SELECT b.id FROM batches b WHERE b.account_id = ? AND b.created_at < ? AND b.due_at < ? "
                "AND b.state NOT IN ('scheduled', 'expanding') "
                "AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.batch_id = b.id AND r.final = 0) "
                "ORDER BY b.created_at, b.id LIMIT ?",
                (account, cutoff, cutoff, limit - len(found)),
            )
        ]
        if len(found) >= limit:
            break
    return found


def delete_batches(tx: Tx, batch_ids: list[str], limit: int) -> int:
    """Up to `limit` recipients of these batches, with what hangs off them (the simulator's and
    the SMPP connector's rows, the Conversation message a carrier SMS carried), and those of the
    batches left without recipients. Returns the rows deleted."""
    if not batch_ids:
        return 0
    ids = [
        r.id
        for r in tx.all(
            f"SELECT id FROM recipients WHERE batch_id IN {tx.in_list(batch_ids)} LIMIT ?", [*batch_ids, limit]
        )
    ]
    n = 0
    for part in chunks(ids):
        for table in ("sim_messages", "smpp_parts", "conv_messages"):
            tx.execute(f"DELETE FROM {table} WHERE recipient_id IN {tx.in_list(part)}", part)
            n += tx.rowcount
        search.forget(tx, part)
        tx.execute(f"DELETE FROM recipients WHERE id IN {tx.in_list(part)}", part)
        n += tx.rowcount
    tx.execute(  # the batches left without recipients go too
        f"DELETE FROM batches WHERE id IN {tx.in_list(batch_ids)} "
        "AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.batch_id = batches.id)",
        batch_ids,
    )
    n += tx.rowcount
    return n


def message_count(tx: Tx) -> int:
    return tx.scalar("SELECT count(*) FROM recipients", (), 0)


def _by_key(tx: Tx, table: str, key: str, where: str, args: tuple, limit: int) -> int:
    tx.execute(
        f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {where} ORDER BY {key} LIMIT ?)",
        (*args, limit),
    )
    return tx.rowcount


def delete_callbacks(tx: Tx, cutoff: int, limit: int) -> int:
    """Callbacks delivered or given up on, made before `cutoff`, with their attempts."""
    tx.execute(
        "DELETE FROM outbox_attempts WHERE outbox_id IN (SELECT id FROM outbox WHERE state IN ('done', 'dead') "
        "AND created_at < ? ORDER BY id LIMIT ?)",
        (cutoff, limit),
    )
    return _by_key(tx, "outbox", "id", "state IN ('done', 'dead') AND created_at < ?", (cutoff,), limit)


def delete_inbounds(tx: Tx, cutoff: int, limit: int) -> int:
    return _by_key(tx, "inbounds", "id", "received_at < ?", (cutoff,), limit)


def delete_handset_messages(tx: Tx, cutoff: int, limit: int) -> int:
    """The simulator's copies (outbound copies of pruned recipients are gone already; this takes
    the rest: replies typed at handsets, copies of recipients kept for being open)."""
    return _by_key(
        tx,
        "sim_messages",
        "id",
        f"received_at < ? AND NOT EXISTS ({handsets.PENDING_RECEIPT})",
        (cutoff,),
        limit,
    )


def delete_idempotency_keys(tx: Tx, cutoff: int, limit: int) -> int:
    """A key protects a request for 24 h; older ones are dead weight."""
    tx.execute(
        "DELETE FROM idempotency_keys WHERE (account_id, key) IN "
        "(SELECT account_id, key FROM idempotency_keys WHERE created_at < ? LIMIT ?)",
        (cutoff, limit),
    )
    return tx.rowcount


def delete_conversation(tx: Tx, cutoff: int, limit: int) -> int:
    """Conversation batches done or cancelled before `cutoff` with their metadata, and messages
    that never had an SMS (failed at acceptance, inbound) accepted before it."""
    ids = [
        r.id
        for r in tx.all(
            "SELECT id FROM conv_batches WHERE status IN ('PROCESSED', 'CANCELLED') AND created_at < ? "
            "ORDER BY id LIMIT ?",
            (cutoff, limit),
        )
    ]
    n = 0
    if ids:
        tx.execute(f"DELETE FROM conv_batch_metadata WHERE batch_id IN {tx.in_list(ids)}", ids)
        n += tx.rowcount
        tx.execute(f"DELETE FROM conv_batches WHERE id IN {tx.in_list(ids)}", ids)
        n += tx.rowcount
    n += _by_key(tx, "conv_messages", "id", "recipient_id IS NULL AND accept_time < ?", (cutoff,), limit)
    return n
