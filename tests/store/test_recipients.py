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
