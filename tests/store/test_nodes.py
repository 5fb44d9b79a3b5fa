"""Engine heartbeats (SQLite and PostgreSQL): who counts as a live node, for how long, and what
joining and leaving do to the rows."""

from __future__ import annotations

import pytest

from openxms.store import nodes

from .rows import NOW, migrated

TTL = 15_000


@pytest.fixture
def db(database_url):
    return migrated(database_url)


def rows(tx):
    return {r.id: (r.seen_at, r.started_at) for r in tx.all("SELECT id, seen_at, started_at FROM nodes")}


def test_a_node_is_live_until_its_last_beat_is_older_than_the_ttl(db):
    db.run_sync(nodes.join, "node-a", NOW)
    db.run_sync(nodes.join, "node-b", NOW + 100)
    assert db.run_sync(nodes.live, NOW + 100, TTL) == ["node-a", "node-b"]
    db.run_sync(nodes.beat, "node-b", NOW + 5000)  # node-a stops beating
    assert db.run_sync(nodes.live, NOW + TTL, TTL) == ["node-a", "node-b"]  # exactly the TTL: still counted
    assert db.run_sync(nodes.live, NOW + TTL + 1, TTL) == ["node-b"]
    assert db.run_sync(nodes.live, NOW + 5000 + TTL + 1, TTL) == []


def test_a_beat_moves_seen_at_only_and_a_join_restarts_the_row(db):
    db.run_sync(nodes.join, "node-a", NOW)
    db.run_sync(nodes.beat, "node-a", NOW + 1000)
    assert db.run_sync(rows) == {"node-a": (NOW + 1000, NOW)}
    db.run_sync(nodes.join, "node-a", NOW + 9000)  # the same node restarted
    assert db.run_sync(rows) == {"node-a": (NOW + 9000, NOW + 9000)}
    db.run_sync(nodes.beat, "node-c", NOW + 9500)  # a beat without a join still makes the row
    assert db.run_sync(rows)["node-c"] == (NOW + 9500, NOW + 9500)


def test_joining_prunes_rows_dead_for_an_hour_and_leaving_deletes_ones_own(db):
    db.run_sync(nodes.join, "old", NOW)
    db.run_sync(nodes.join, "recent", NOW + 10 * 60_000)
    db.run_sync(nodes.join, "node-a", NOW + nodes.PRUNE_AFTER_MS + 1)
    assert set(db.run_sync(rows)) == {"recent", "node-a"}  # "old" was dead for over an hour
    db.run_sync(nodes.leave, "node-a")
    assert set(db.run_sync(rows)) == {"recent"}
    db.run_sync(nodes.forget_all)
    assert db.run_sync(rows) == {}
