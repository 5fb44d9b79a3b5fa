"""The handset list (SQLite and PostgreSQL): searched by any part of the number or a word of a
message's text with no cap on how many handsets there are, keyset-paged, with unread counts
from the read marks, which purging cleans up."""

from __future__ import annotations

import pytest

from openxms.store import handsets, schema
from openxms.store.db import Database

from .rows import NOW, migrated

_next_recipient = iter(range(1, 10**9))


@pytest.fixture
def db(database_url):
    return migrated(database_url)


def landed(number: str, body: str, *, at: int = NOW, receipt_due: int | None = None) -> handsets.Landed:
    return handsets.Landed(
        next(_next_recipient), "A", "01BATCH", number, "12025550100", "mt_text", body, None, "text", 1, False,
        at, "Delivered", 0, receipt_due,
    )  # fmt: skip


def land(db, *messages: handsets.Landed) -> None:
    db.run_sync(handsets.land, list(messages))


def numbers(db, q: str = "", before: int | None = None, limit: int = 100) -> list[str]:
    return [h.msisdn for h in db.run_sync(handsets.handsets, q, before, limit)]


def test_search_finds_every_handset_not_only_the_latest(db):
    # 700 handsets: the oldest one is far beyond any first page, and still found
    land(db, landed("46700000001", "the walrus is here"))
    land(db, *(landed(f"1201555{i:04d}", f"note {i}") for i in range(700)))
    assert numbers(db, limit=3) == ["12015550699", "12015550698", "12015550697"]
    assert numbers(db, "0000001") == ["46700000001"]  # any part of the number
    assert numbers(db, "+46 700") == ["46700000001"]  # a number as typed: its digits
    assert numbers(db, "WALRUS") == ["46700000001"]  # a word of its text, any case
    assert numbers(db, "walrus here") == ["46700000001"]  # every word
    assert numbers(db, "walrus nothere") == []
    assert numbers(db, "note 123") == ["12015550123"]  # each word in the number or the text
    assert numbers(db, "100%") == []  # LIKE's wildcards are literal
    assert numbers(db, "no_te") == []


def test_pages_by_cursor_in_the_order_handsets_were_last_reached(db):
    land(db, landed("12010000001", "a"), landed("12010000002", "b"), landed("12010000003", "c"))
    land(db, landed("12010000001", "a again"))  # now the most recent
    first = db.run_sync(handsets.handsets, "", None, 2)
    assert [(h.msisdn, h.messages, h.last_body) for h in first] == [
        ("12010000001", 2, "a again"),
        ("12010000003", 1, "c"),
    ]
    assert numbers(db, "", first[-1].last_id, 2) == ["12010000002"]
    assert numbers(db, "", 1, 2) == []


def test_unread_counts_follow_the_read_mark(db):
    land(db, landed("12010000001", "one"), landed("12010000001", "two"), landed("12010000002", "x"))
    unread = lambda: {h.msisdn: h.unread for h in db.run_sync(handsets.handsets, "", None, 10)}  # noqa: E731
    assert unread() == {"12010000001": 2, "12010000002": 1}  # never opened: all unread
    first = db.run_sync(handsets.messages, "12010000001", 0, 10)[-1]["id"]  # the older one
    assert db.run_sync(handsets.mark_read, "12010000001", first) == (first, 1)
    assert unread() == {"12010000001": 1, "12010000002": 1}
    read_id, left = db.run_sync(handsets.mark_read, "12010000001", None)  # up to the newest
    assert left == 0 and read_id > first
    assert db.run_sync(handsets.mark_read, "12010000001", first) == (read_id, 0)  # never backwards
    assert db.run_sync(handsets.mark_read, "12010000001", 10**12)[0] == read_id  # not past the newest
    land(db, landed("12010000001", "three"))
    assert unread()["12010000001"] == 1


def test_purge_drops_the_marks_of_emptied_handsets(db):
    land(db, landed("12010000001", "one"), landed("12010000002", "pending", receipt_due=NOW + 5000))
    db.run_sync(handsets.mark_read, "12010000001", None)
    db.run_sync(handsets.mark_read, "12010000002", None)
    assert db.run_sync(handsets.purge, None) == 1
    marks = db.run_sync(lambda tx: [r.msisdn for r in tx.all("SELECT msisdn FROM sim_read_marks")])
    assert marks == ["12010000002"]  # it keeps its message waiting for a receipt, and its mark
    assert numbers(db) == ["12010000002"]


def test_receipts_are_taken_once_in_due_order_and_a_redelivered_copy_queues_none(db):
    late, early, none = (
        landed("12010000011", "late", receipt_due=NOW + 300),
        landed("12010000012", "early", receipt_due=NOW + 100),
        landed("12010000013", "no receipt"),
    )
    land(db, late, early, none)
    assert db.run_sync(handsets.next_receipt_due) == NOW + 100
    assert db.run_sync(handsets.take_due_receipts, NOW + 50, 10) == []  # none due yet
    taken = db.run_sync(handsets.take_due_receipts, NOW + 1000, 10)
    assert [(r.recipient_id, r.receipt_due_at, r.parts, r.encoding) for r in taken] == [
        (early.recipient_id, NOW + 100, 1, "text"),  # with what the handset received
        (late.recipient_id, NOW + 300, 1, "text"),
    ]
    assert db.run_sync(handsets.take_due_receipts, NOW + 1000, 10) == []  # taken means gone
    land(db, late)  # the same recipient delivered again (a redelivery after a crash)
    assert db.run_sync(handsets.next_receipt_due) is None
    assert db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM sim_messages")) == 3


def test_the_migration_queues_the_receipts_older_versions_had_pending(database_url, monkeypatch):
    db = Database(database_url)
    before = schema.MIGRATIONS[: [m[0] for m in schema.MIGRATIONS].index("sim_receipts")]
    monkeypatch.setattr(schema, "MIGRATIONS", before)  # a database of the previous version
    schema.migrate(db)
    db.run_sync(  # as the previous version's land wrote them: a flag on the row
        lambda tx: tx.executemany(
            "INSERT INTO sim_messages (recipient_id, account_id, msisdn, type, body, encoding, parts, received_at, "
            "outcome_status, outcome_code, receipt_due_at, receipt_done) "
            "VALUES (?, 'A', '12010000021', 'mt_text', 'x', 'text', 1, ?, ?, ?, ?, ?)",
            [(7001, NOW, "Delivered", 0, NOW + 10, 0), (7002, NOW, "Failed", 402, NOW + 5, 0),
             (7003, NOW, "Delivered", 0, NOW + 1, 1), (7004, NOW, "Rejected", 404, None, 1)],
        )
    )  # fmt: skip
    monkeypatch.undo()
    names = [m[0] for m in schema.MIGRATIONS]
    assert schema.migrate(db) == names[names.index("sim_receipts") :]
    taken = db.run_sync(handsets.take_due_receipts, NOW + 100, 10)
    assert [tuple(r) for r in taken] == [  # with what the handsets received (sim_receipts_parts)
        (7002, "Failed", 402, NOW + 5, 1, "text"),
        (7001, "Delivered", 0, NOW + 10, 1, "text"),
    ]
    assert db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM sim_messages")) == 4
