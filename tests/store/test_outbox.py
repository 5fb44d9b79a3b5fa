"""The callback outbox's claims: a row is handed out only once it is due, is invisible to
others while being posted, comes back after its visibility deadline (or at start-up for the
node that was posting it), and is never handed out again once settled as done, failed or dead."""

from __future__ import annotations

import pytest

from openxms.store import outbox

from .rows import NOW, migrated


@pytest.fixture
def db(database_url):
    db = migrated(database_url)
    db.run_sync(
        outbox.enqueue,
        [
            ("A", "delivery_report", "http://example.test/1", '{"n": 1}'),
            ("A", "delivery_report", "http://example.test/2", '{"n": 2}'),
        ],
        NOW,
    )
    return db


def claim(db, node, now, limit=10, visibility=120_000):
    return [r.id for r in db.run_sync(outbox.claim, node, now, limit, visibility, 1000, {})]


def row(db, rid):
    return db.run_sync(
        lambda tx: tx.one(
            "SELECT state, claimed_by, attempts, next_attempt_at, done_at FROM outbox WHERE id = ?", (rid,)
        )
    )


def test_due_rows_are_claimed_in_order_and_hidden_while_posted(db):
    assert db.run_sync(outbox.next_due) == NOW
    assert claim(db, "n1", NOW - 1) == []  # not due yet
    first, second = claim(db, "n1", NOW, limit=1) + claim(db, "n1", NOW, limit=1)
    assert first < second
    assert claim(db, "n2", NOW + 119_999) == []  # both being posted by n1
    assert tuple(row(db, first))[:2] == ("sending", "n1")
    assert db.run_sync(outbox.next_due) == NOW + 120_000
    assert claim(db, "n2", NOW + 120_000) == [first, second]  # n1 died mid-post: anyone may retry


def test_a_pending_retry_is_not_claimed_a_millisecond_early(db):
    [rid, _] = claim(db, "n1", NOW)
    db.run_sync(outbox.settle, [outbox.Outcome(rid, "pending", 1, NOW, 500, None, NOW + 5_000)])
    assert tuple(row(db, rid)) == ("pending", None, 1, NOW + 5_000, None)
    assert claim(db, "n1", NOW + 4_999) == []
    assert claim(db, "n1", NOW + 5_000) == [rid]


@pytest.mark.parametrize("state", ["done", "failed", "dead"])
def test_settled_rows_are_never_claimed_again(db, state):
    ids = claim(db, "n1", NOW)
    db.run_sync(outbox.settle, [outbox.Outcome(i, state, 1, None, 200, None, NOW + 10) for i in ids])
    assert tuple(row(db, ids[0])) == (state, None, 1, NOW + 10, NOW + 10)
    assert claim(db, "n1", NOW + 10**12) == []
    assert db.run_sync(outbox.next_due) is None


def test_release_own_makes_a_restarted_nodes_posts_due_at_once(db):
    [a] = claim(db, "n1", NOW, limit=1)
    [b] = claim(db, "n2", NOW, limit=1)
    assert db.run_sync(outbox.release_own, "n1", NOW + 50) == 1
    assert tuple(row(db, a))[:4] == ("pending", None, 0, NOW + 50)
    assert tuple(row(db, b))[:2] == ("sending", "n2")
    assert claim(db, "n1", NOW + 50) == [a]
