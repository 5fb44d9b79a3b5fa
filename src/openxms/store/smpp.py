"""The SMPP connector's id map: every part submitted over SMPP, by the message id the SMSC gave
it, until its delivery receipt arrives (`smpp_parts`), and receipts that arrived before their
part was stored (`smpp_orphans`). The rules (id spellings, when a recipient is final) are in
`connectors/smpp/`; the SQL is here.

Keys are normalised ids (`connectors/smpp/receipts.id_keys`). Lookups take every spelling of a
receipt's id at once, in chunks of `CHUNK` (SQLite's bound-parameter limit is 999 on old builds).

An SMSC may reuse message ids after a restart, so one key can stand for several parts: a new
part never overwrites one still waiting for its receipt (the collision is counted), and a
receipt goes to the waiting part whose submit time is closest to the receipt's `submit date`
(newest first without one). Times here are wall-clock ms, like the SMSC's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from .db import Tx
from .recipients import chunks

CHUNK = 500


def _by_keys(tx: Tx, account_id: str, keys: Iterable[str], postgresql: str, sqlite: str) -> list:
    """The rows of a statement over one account's message keys. On PostgreSQL `postgresql`
    reads them as a join from `unnest(?::text[]) AS k(key)` (parameters: the keys, then the
    account), so each key is one probe of the (account_id, message_key) index whatever the
    planner believes of the tables: with `IN (...)` it chose, as the tables grew during a drain,
    a scan of every part of the account (through the `(account_id, submitted_at)` index) or a
    hash join over all its recipients, and the receipts' lookup was 90 % of the writer's time
    over SMPP (docs/benchmarks.md, section 3). On SQLite `sqlite` is run per chunk of keys with
    `{keys}` an IN list (parameters: the account, then the keys)."""
    wanted = sorted(set(keys))
    if tx.dialect == "postgresql":
        return tx.all(postgresql, (wanted, account_id))
    rows: list = []
    for chunk in chunks(wanted, CHUNK):
        rows += tx.all(sqlite.replace("{keys}", tx.in_list(chunk)), [account_id, *chunk])
    return rows


class Part(NamedTuple):
    message_key: str
    recipient_id: int
    part: int  # 1-based
    total: int
    message_id: str = ""  # as the SMSC gave it (message_key is normalised)
    sequence: int | None = None  # the submit_sm's sequence_number
    udh: str | None = None  # hex, the UDH the part carried


class Stored(NamedTuple):
    id: int  # the part row
    recipient_id: int
    total: int
    waiting: bool  # no receipt yet
    submitted_at: int
    msisdn: str = ""  # the handset it was sent to


class Orphan(NamedTuple):
    message_key: str
    state: str
    err: int
    done_at: int | None


class PartState(NamedTuple):
    part: int
    total: int
    state: str | None  # None until its receipt came
    err: int | None
    done_at: int | None


def store_parts(tx: Tx, account_id: str, parts: list[Part], now: int) -> int:
    """Record accepted parts; returns how many of their ids already stand for a part still
    waiting for its receipt (an SMSC that reuses ids: both are kept)."""
    counts = _by_keys(
        tx,
        account_id,
        [p.message_key for p in parts],
        "SELECT count(*) AS n FROM unnest(?::text[]) AS k(key) JOIN smpp_parts p "
        "ON p.account_id = ? AND p.message_key = k.key WHERE p.state IS NULL",
        "SELECT count(*) AS n FROM smpp_parts WHERE account_id = ? AND message_key IN {keys} AND state IS NULL",
    )
    collisions = sum(r.n for r in counts)
    insert = (
        "INSERT INTO smpp_parts (account_id, message_key, recipient_id, part, total, submitted_at, message_id, "
        "sequence, udh) "
    )
    if tx.dialect == "postgresql":  # one statement over arrays (VALUES lists: one per 128 rows)
        tx.execute(
            insert + "SELECT ?, k, r, n, t, ?, m, s, u FROM unnest(?::text[], ?::bigint[], ?::int[], ?::int[], "
            "?::text[], ?::bigint[], ?::text[]) AS v(k, r, n, t, m, s, u)",
            (
                account_id,
                now,
                [p.message_key for p in parts],
                [p.recipient_id for p in parts],
                [p.part for p in parts],
                [p.total for p in parts],
                [p.message_id for p in parts],
                [p.sequence for p in parts],
                [p.udh for p in parts],
            ),
        )
    else:
        tx.values(
            insert + "VALUES {values}",
            [
                (account_id, p.message_key, p.recipient_id, p.part, p.total, now, p.message_id, p.sequence, p.udh)
                for p in parts
            ],
        )
    return collisions


def lookup(tx: Tx, account_id: str, keys: Iterable[str]) -> dict[str, list[Stored]]:
    """Stored parts by key, newest first (only the keys found)."""
    found: dict[str, list[Stored]] = {}
    rows = _by_keys(
        tx,
        account_id,
        keys,
        "SELECT p.id, p.message_key, p.recipient_id, p.total, p.state, p.submitted_at, r.msisdn "
        "FROM unnest(?::text[]) AS k(key) JOIN smpp_parts p ON p.account_id = ? AND p.message_key = k.key "
        "LEFT JOIN recipients r ON r.id = p.recipient_id ORDER BY p.id DESC",
        "SELECT p.id, p.message_key, p.recipient_id, p.total, p.state, p.submitted_at, r.msisdn "
        "FROM smpp_parts p LEFT JOIN recipients r ON r.id = p.recipient_id "
        "WHERE p.account_id = ? AND p.message_key IN {keys} ORDER BY p.id DESC",
    )
    for r in rows:
        found.setdefault(r.message_key, []).append(
            Stored(r.id, r.recipient_id, r.total, r.state is None, r.submitted_at, r.msisdn or "")
        )
    return found


def best_match(candidates: list[Stored], submit_at: int | None, handset: str = "") -> Stored:
    """The part a receipt belongs to among parts sharing its id (newest first).

    Waiting parts only (with none waiting, the newest: a repeated receipt, which changes
    nothing). Among them: those sent to the receipt's handset (its `source_addr`: two messages
    that reuse an id are nearly always to different handsets); then, when the receipt says when
    it was submitted (to the minute, SMPP 3.4 Appendix B), those submitted before the end of
    that minute, the latest of them; else the newest."""
    waiting = [c for c in candidates if c.waiting]
    if not waiting:
        return candidates[0]
    digits = "".join(ch for ch in handset if ch.isdigit())
    if digits:
        same = [c for c in waiting if c.msisdn and c.msisdn.endswith(digits[-9:])]
        if len(same) == 1:
            return same[0]
        waiting = same or waiting
    if submit_at is not None:
        before = [c for c in waiting if c.submitted_at < submit_at + 60_000]
        if before:
            return max(before, key=lambda c: (c.submitted_at, c.id))
    return waiting[0]


def mark_done(tx: Tx, done: list[tuple[int, str, int, int]]) -> None:
    """done: (part row id, state, err, done_at). A part already done keeps its first receipt,
    and so does a part named twice in `done` (an SMSC repeating a receipt within one batch):
    an UPDATE joined to two rows for one part would apply either, so the first is kept here.
    One statement for all, not executemany's statement per row (each part passes here once)."""
    first: dict[int, tuple[int, str, int, int]] = {}
    for pid, state, err, at in done:
        first.setdefault(pid, (pid, state, err, at))
    rows = list(first.values())
    if not rows:
        return
    if tx.dialect == "sqlite":
        tx.values(
            "UPDATE smpp_parts SET state = v.column2, err = v.column3, done_at = v.column4 "
            "FROM (VALUES {values}) AS v WHERE smpp_parts.id = v.column1 AND smpp_parts.state IS NULL",
            rows,
        )
        return
    tx.execute(
        "UPDATE smpp_parts p SET state = v.state, err = v.err, done_at = v.done_at "
        "FROM unnest(?::bigint[], ?::text[], ?::int[], ?::bigint[]) AS v(id, state, err, done_at) "
        "WHERE p.id = v.id AND p.state IS NULL",
        ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]),
    )


def parts_of(tx: Tx, recipient_ids: list[int]) -> dict[int, list[PartState]]:
    """Every stored part of these recipients, in part order."""
    out: dict[int, list[PartState]] = {}
    for chunk in chunks(sorted(set(recipient_ids)), CHUNK):
        for r in tx.all(
            f"SELECT recipient_id, part, total, state, err, done_at FROM smpp_parts WHERE recipient_id "
            f"IN {tx.in_list(chunk)} ORDER BY recipient_id, part",
            chunk,
        ):
            out.setdefault(r.recipient_id, []).append(PartState(r.part, r.total, r.state, r.err, r.done_at))
    return out


class Submitted(NamedTuple):
    """One submit_sm of a message, for its timeline."""

    part: int
    total: int
    message_id: str  # as the SMSC gave it (older rows: the normalised key)
    sequence: int | None
    udh: str | None
    submitted_at: int  # wall-clock ms, when the SMSC accepted it
    state: str | None  # its receipt's stat (DELIVRD, UNDELIV, ...); None: none yet
    err: int | None
    done_at: int | None


def submits_of(tx: Tx, recipient_id: int) -> list[Submitted]:
    """Every part submitted for one recipient, in the order they were accepted (a part sent
    again after a lost response appears twice)."""
    return [
        Submitted(
            r.part, r.total, r.message_id or r.message_key, r.sequence, r.udh, r.submitted_at, r.state, r.err, r.done_at
        )
        for r in tx.all(
            "SELECT part, total, message_key, message_id, sequence, udh, submitted_at, state, err, done_at "
            "FROM smpp_parts WHERE recipient_id = ? ORDER BY submitted_at, id",
            (recipient_id,),
        )
    ]


def record_orphans(tx: Tx, account_id: str, orphans: list[Orphan], now: int) -> None:
    """Keep receipts whose part is not stored yet; a later receipt under the same key replaces
    an earlier one (also within `orphans`: PostgreSQL refuses an upsert that meets one row
    twice, so the last of each key is sent)."""
    last = {o.message_key: o for o in orphans}
    tx.values(
        "INSERT INTO smpp_orphans (account_id, message_key, state, err, done_at, received_at) "
        "VALUES {values} ON CONFLICT (account_id, message_key) DO UPDATE SET "
        "state = excluded.state, err = excluded.err, done_at = excluded.done_at",
        [(account_id, o.message_key, o.state, o.err, o.done_at, now) for o in last.values()],
    )


def take_orphans(tx: Tx, account_id: str, keys: Iterable[str]) -> list[Orphan]:
    """Orphan receipts under these keys, removed from the orphan table (one DELETE ... RETURNING)."""
    rows = _by_keys(
        tx,
        account_id,
        keys,
        "DELETE FROM smpp_orphans o USING unnest(?::text[]) AS k(key) WHERE o.account_id = ? "
        "AND o.message_key = k.key RETURNING o.message_key, o.state, o.err, o.done_at",
        "DELETE FROM smpp_orphans WHERE account_id = ? AND message_key IN {keys} "
        "RETURNING message_key, state, err, done_at",
    )
    return [Orphan(r.message_key, r.state, r.err, r.done_at) for r in rows]


def waiting_before(tx: Tx, account_id: str, before: int) -> list[int]:
    """Recipients with a part submitted before `before` still waiting for its receipt."""
    return [
        r.recipient_id
        for r in tx.all(
            "SELECT DISTINCT recipient_id FROM smpp_parts WHERE account_id = ? AND submitted_at < ? AND state IS NULL",
            (account_id, before),
        )
    ]


def sweep(tx: Tx, account_id: str, parts_before: int, orphans_before: int) -> tuple[int, int]:
    """Forget parts submitted and orphans received before these times; (parts, orphans) deleted."""
    tx.execute("DELETE FROM smpp_parts WHERE account_id = ? AND submitted_at < ?", (account_id, parts_before))
    parts = tx.rowcount
    tx.execute("DELETE FROM smpp_orphans WHERE account_id = ? AND received_at < ?", (account_id, orphans_before))
    return parts, tx.rowcount
