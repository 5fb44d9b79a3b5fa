"""The outbox's attempt log and "retry now" (the web UI's Callbacks view), and that retention
takes the attempts along with their callbacks (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from openxms.engine.retention import DAY_MS, sweep_sync
from openxms.store import outbox

from .rows import NOW, migrated


@pytest.fixture
def db(database_url):
    return migrated(database_url)


def test_attempts_are_logged_and_retry_now_makes_it_due(db):
    db.run_sync(outbox.enqueue, [("A", "k", "http://127.0.0.1:9/cb", '{"n": 1}')], NOW)
    [row] = db.run_sync(outbox.page, [], [], None, 10)
    db.run_sync(outbox.settle, [outbox.Outcome(row.id, "pending", 1, NOW, 500, None, NOW + 5000, NOW, '{"X": "1"}')])
    db.run_sync(outbox.settle, [outbox.Outcome(row.id, "failed", 2, NOW, 404, "HTTP 404", NOW + 6000, NOW + 6000)])
    db.run_sync(outbox.settle, [outbox.Outcome(row.id, "failed", 2, NOW, 404, "HTTP 404", NOW + 6000)])  # no attempt
    got = db.run_sync(outbox.attempts, row.id)
    assert [(a.attempt, a.at, a.status, a.error, a.headers) for a in got] == [
        (1, NOW, 500, None, '{"X": "1"}'),
        (2, NOW + 6000, 404, "HTTP 404", None),
    ]
    assert [r.id for r in db.run_sync(outbox.page, ["failed"], ["A"], None, 10)] == [row.id]
    assert db.run_sync(outbox.page, ["failed"], ["B"], None, 10) == []

    assert db.run_sync(outbox.retry_now, row.id, NOW + 7000) == "failed"
    r = db.run_sync(outbox.get, row.id)
    assert (r.state, r.next_attempt_at, r.done_at) == ("pending", NOW + 7000, None)
    claimed = db.run_sync(outbox.claim, "n1", NOW + 7000, 10, 60_000, 8, {})
    assert [c.id for c in claimed] == [row.id]
    assert db.run_sync(outbox.retry_now, row.id, NOW + 8000) == "sending"  # being posted: left alone
    assert db.run_sync(outbox.get, row.id).state == "sending"
    assert db.run_sync(outbox.retry_now, 424242, NOW) is None


def test_retention_takes_the_attempts_along(db):
    old = NOW - 20 * DAY_MS
    db.run_sync(outbox.enqueue, [("A", "k", "http://127.0.0.1:9/cb", "{}")] * 2, old)
    ids = [r.id for r in db.run_sync(outbox.page, [], [], None, 10)]
    db.run_sync(outbox.settle, [outbox.Outcome(i, "done", 1, None, 200, None, old, old) for i in ids])
    db.run_sync(outbox.settle, [outbox.Outcome(ids[0], "pending", 1, old, 500, None, NOW, old)])  # not done: kept
    sweep_sync(db, ["A"], NOW - 14 * DAY_MS)
    assert [r.id for r in db.run_sync(outbox.page, [], [], None, 10)] == [ids[0]]
    assert db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM outbox_attempts")) == 1
