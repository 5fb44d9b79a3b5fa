"""Queueing recipients (store/recipients.py): ids follow the list's order (the queue is FIFO by
id), a number already in the batch keeps its row."""

from __future__ import annotations

import random

import pytest

from openxms.store import recipients as rstore

from .rows import NOW, add_batch, migrated


@pytest.fixture
def db(database_url):
    return migrated(database_url)


def _order(tx, batch_id):
    return [r.msisdn for r in tx.all("SELECT msisdn FROM recipients WHERE batch_id = ? ORDER BY id", (batch_id,))]


def test_insert_queued_keeps_list_order(db):
    # Shuffled, so neither the numbers' sort order nor an index's matches the list's.
    numbers = [f"1201{i:07d}" for i in range(1000)]
    random.Random(3).shuffle(numbers)

    def run(tx):
        add_batch(tx, "b1", [])
        rstore.insert_queued(tx, "b1", "A", numbers, NOW)
        rstore.insert_queued(tx, "b1", "A", [numbers[5], "12029999999"], NOW)  # one repeat, one new
        add_batch(tx, "b2", [])
        rstore.insert_queued(tx, "b2", "A", ["12030000001"], NOW)
        return _order(tx, "b1"), _order(tx, "b2")

    b1, b2 = db.run_sync(run)
    assert b1 == numbers + ["12029999999"]
    assert b2 == ["12030000001"]


def test_insert_queued_new_keeps_list_order_and_refuses_a_repeat(db):
    # `new=True` (a batch created in the same transaction) skips ON CONFLICT on PostgreSQL: rows
    # still follow the list (FIFO), and a repeat, which the caller promised away, fails loudly
    # instead of being dropped or written twice.
    numbers = [f"1204{i:07d}" for i in range(1000)]
    random.Random(4).shuffle(numbers)

    def run(tx):
        add_batch(tx, "b3", [])
        rstore.insert_queued(tx, "b3", "A", numbers, NOW, new=True)
        return _order(tx, "b3")

    assert db.run_sync(run) == numbers

    def repeat(tx):
        add_batch(tx, "b4", [])
        rstore.insert_queued(tx, "b4", "A", ["12050000001", "12050000001"], NOW, new=True)

    with pytest.raises(Exception, match="(?i)unique"):
        db.run_sync(repeat)
    assert db.run_sync(lambda tx: _order(tx, "b4")) == []


def _row(tx, rid):
    return tx.one(
        "SELECT status, code, final, claimed_by, status_at, operator_status_at, parts, encoding "
        "FROM recipients WHERE id = ?",
        (rid,),
    )


def test_set_statuses_writes_each_row_and_never_touches_a_final_one(db):
    def run(tx):
        add_batch(tx, "b1", [])
        rstore.insert_queued(tx, "b1", "A", ["12010000001", "12010000002", "12010000003"], NOW)
        ids = [r.id for r in tx.all("SELECT id FROM recipients ORDER BY id")]
        tx.execute("UPDATE recipients SET claimed_by = 'n1'")
        rstore.set_statuses(
            tx,
            [
                rstore.StatusUpdate(ids[0], "Dispatched", 0, False, None, 2, "UNICODE"),
                rstore.StatusUpdate(ids[1], "Delivered", 0, True, NOW - 5, None, None),
            ],
            NOW + 1,
        )
        first = [_row(tx, i) for i in ids]
        # ids[1] is final: a later change is ignored; ids[0] keeps parts and encoding it knows
        rstore.set_statuses(
            tx,
            [
                rstore.StatusUpdate(ids[1], "Failed", 400, True, None, None, None),
                rstore.StatusUpdate(ids[0], "Delivered", 0, True, None, None, None),
            ],
            NOW + 2,
        )
        rstore.set_statuses(tx, [], NOW + 3)
        return first, [_row(tx, i) for i in ids]

    first, second = db.run_sync(run)
    assert tuple(first[0]) == ("Dispatched", 0, 0, "n1", NOW + 1, None, 2, "UNICODE")
    assert tuple(first[1]) == ("Delivered", 0, 1, None, NOW + 1, NOW - 5, None, None)
    assert tuple(first[2]) == ("Queued", 400, 0, "n1", NOW, None, None, None)
    assert tuple(second[0]) == ("Delivered", 0, 1, None, NOW + 2, None, 2, "UNICODE")
    assert second[1] == first[1]
    assert second[2] == first[2]


def test_fill_parts_fills_only_what_is_unknown_and_current_reads_by_id(db):
    def run(tx):
        add_batch(tx, "b1", [])
        rstore.insert_queued(tx, "b1", "A", ["12010000001", "12010000002"], NOW)
        a, b = (r.id for r in tx.all("SELECT id FROM recipients ORDER BY id"))
        rstore.fill_parts(tx, [(a, 3, "GSM")])
        rstore.fill_parts(tx, [(a, 1, "UNICODE"), (b, None, "UNICODE")])
        rstore.fill_parts(tx, [])
        parts = [(r.parts, r.encoding) for r in (_row(tx, a), _row(tx, b))]
        return a, b, parts, rstore.current(tx, [a, b, 999_999]), rstore.current(tx, [])

    a, b, parts, now, empty = db.run_sync(run)
    assert parts == [(3, "GSM"), (None, "UNICODE")]
    assert now == {
        a: rstore.Current(False, "Queued", 400, "b1", 3, "GSM"),
        b: rstore.Current(False, "Queued", 400, "b1", None, "UNICODE"),
    }
    assert empty == {}
