"""Retention: old, finished things go in chunks; open, scheduled and recent ones stay."""

from __future__ import annotations

import pytest

from openxms.engine.retention import DAY_MS, sweep_sync
from openxms.store import outbox

from .rows import NOW, add_batch, migrated

OLD = NOW - 20 * DAY_MS
CUTOFF = NOW - 14 * DAY_MS


@pytest.fixture
def db(database_url):
    return migrated(database_url)


def finish(tx, ids):
    tx.execute(f"UPDATE recipients SET status = 'Delivered', code = 0, final = 1 WHERE id IN {tx.in_list(ids)}", ids)


def count(db, sql):
    return db.run_sync(lambda tx: tx.scalar(sql))


def test_old_finished_things_go_and_the_rest_stays(db):
    def setup(tx):
        finish(tx, add_batch(tx, "old", [f"1201000{i:04d}" for i in range(25)], now=OLD))
        open_ids = add_batch(tx, "old-open", ["12010000099", "12010000098"], now=OLD)
        finish(tx, open_ids[:1])  # one recipient still waiting for its receipt
        add_batch(tx, "old-scheduled", ["12010000097"], state="scheduled", now=OLD)
        finish(tx, add_batch(tx, "new", ["12010000096"], now=NOW))
        rid = open_ids[0]
        tx.execute(
            "INSERT INTO sim_messages (recipient_id, account_id, batch_id, msisdn, type, body, encoding, parts, "
            "received_at, outcome_status, outcome_code) "
            "VALUES (?, 'A', 'old-open', '12010000099', 'mt_text', 'x', 'text', 1, ?, 'Delivered', 0)",
            (rid, OLD),
        )
        outbox.enqueue(tx, [("A", "k", "http://127.0.0.1:9/cb", "{}")] * 3, OLD)
        outbox.enqueue(tx, [("A", "k", "http://127.0.0.1:9/cb", "{}")], NOW)
        tx.execute("UPDATE outbox SET state = 'done' WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT 2)")
        tx.execute("UPDATE outbox SET state = 'done' WHERE created_at = ?", (NOW,))
        for i, at in enumerate((OLD, OLD, NOW)):
            tx.execute(
                "INSERT INTO inbounds (id, account_id, recipient, sender, received_at, doc) "
                "VALUES (?, 'A', 'r', 's', ?, '{}')",
                (f"01IN{i:022d}", at),
            )

    db.run_sync(setup)
    deleted = sweep_sync(db, ["A"], CUTOFF, chunk=7)  # small chunks: the sweep resumes where it stopped
    assert deleted["batches"] == 25 + 1  # the recipients, then their batch
    assert deleted["callbacks"] == 2 and deleted["inbounds"] == 2
    ids = {r.id for r in db.run_sync(lambda tx: tx.all("SELECT id FROM batches"))}
    assert ids == {"old-open", "old-scheduled", "new"}
    assert count(db, "SELECT count(*) FROM recipients WHERE batch_id = 'old-open'") == 2
    assert count(db, "SELECT count(*) FROM sim_messages") == 0  # an old handset copy goes, whatever its batch
    assert count(db, "SELECT count(*) FROM outbox") == 2  # the pending old one, the done new one
    assert count(db, "SELECT count(*) FROM inbounds") == 1
    assert sweep_sync(db, ["A"], CUTOFF) == {k: 0 for k in deleted}  # nothing left to do


def test_old_conversation_batches_and_idempotency_keys_go(db):
    def setup(tx):
        for bid, status, at in (("B1", "PROCESSED", OLD), ("B2", "SCHEDULED", OLD), ("B3", "PROCESSED", NOW)):
            tx.execute(
                "INSERT INTO conv_batches (id, project_id, app_id, status, send_after, created_at, metadata, request) "
                "VALUES (?, 'P', 'APP', ?, ?, ?, '{}', '{}')",
                (bid, status, at, at),
            )
            tx.execute(
                "INSERT INTO conv_batch_metadata (project_id, key, value, batch_id) VALUES ('P', 'k', 'v', ?)", (bid,)
            )
        for key, at in (("old", OLD), ("new", NOW)):
            tx.execute(
                "INSERT INTO idempotency_keys (account_id, key, body_hash, batch_id, created_at) "
                "VALUES ('A', ?, 'h', 'b', ?)",
                (key, at),
            )

    db.run_sync(setup)
    deleted = sweep_sync(db, ["A"], CUTOFF, chunk=1)
    assert deleted["conversation"] == 2 and deleted["idempotency keys"] == 1
    assert {r.id for r in db.run_sync(lambda tx: tx.all("SELECT id FROM conv_batches"))} == {"B2", "B3"}
    assert count(db, "SELECT count(*) FROM conv_batch_metadata") == 2
    assert db.run_sync(lambda tx: tx.scalar("SELECT key FROM idempotency_keys")) == "new"


def test_max_messages_trims_the_oldest_finished_batches(db):
    from openxms.engine.retention import trim_sync

    def setup(tx):
        for i, at in enumerate((NOW - 3000, NOW - 2000, NOW - 1000)):
            finish(tx, add_batch(tx, f"b{i}", [f"1201000{i}001", f"1201000{i}002"], now=at))
        add_batch(tx, "open", ["12010009991"], now=NOW - 5000)  # oldest, but open: kept

    db.run_sync(setup)
    assert trim_sync(db, ["A"], 3, NOW, chunk=1) > 0
    ids = {r.id for r in db.run_sync(lambda tx: tx.all("SELECT id FROM batches"))}
    assert ids == {"b2", "open"}  # 3 messages kept: the newest batch and the open one
    assert trim_sync(db, ["A"], 1, NOW) > 0  # lower: the last finished batch goes, the open one stays
    assert {r.id for r in db.run_sync(lambda tx: tx.all("SELECT id FROM batches"))} == {"open"}


def test_a_conversation_batchs_metadata_is_found_by_its_batch_not_by_a_scan(db):
    """Retention deletes metadata rows by batch_id, a chunk at a time: by index, not by reading
    every batch's metadata for each chunk."""
    sql = "DELETE FROM conv_batch_metadata WHERE batch_id IN (?, ?)"
    if db.dialect == "sqlite":
        plan = db.run_sync(lambda tx: tx.all("EXPLAIN QUERY PLAN " + sql, ("B1", "B2")))
        assert any("conv_batch_metadata_batch" in str(r) for r in plan), plan
    else:
        index = db.run_sync(
            lambda tx: tx.scalar(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'conv_batch_metadata' "
                "AND indexname = 'conv_batch_metadata_batch'"
            )
        )
        assert index is not None and "(batch_id)" in index
