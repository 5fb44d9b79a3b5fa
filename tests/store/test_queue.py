"""Claiming work from the recipients table: FIFO across batches, limits, giving claims back,
and (PostgreSQL) two connections claiming at the same instant never sharing a row."""

from __future__ import annotations

import threading

import pytest

from openxms.sms import statuses as st
from openxms.store import queue
from openxms.store import recipients as rstore

from .rows import NOW, add_batch, claims, migrated, recipient


@pytest.fixture
def db(database_url):
    return migrated(database_url)


def ids(claimed):
    return [c.id for c in claimed]


def test_claims_are_fifo_across_batches_limited_and_never_repeated(db):
    def setup(tx):
        first = add_batch(tx, "b1", ["12010000001", "12010000002", "12010000003"])
        add_batch(tx, "bx", ["12019999999"], account_id="OTHER")  # another account's queue
        second = add_batch(tx, "b2", ["12010000004", "12010000005"])
        return first + second

    order = db.run_sync(setup)
    got = db.run_sync(queue.claim, "A", "n1", 2)
    assert ids(got) == order[:2]
    assert [(c.batch_id, c.msisdn) for c in got] == [("b1", "12010000001"), ("b1", "12010000002")]
    assert ids(db.run_sync(queue.claim, "A", "n1", 2)) == order[2:4]  # across the batch boundary
    assert ids(db.run_sync(queue.claim, "A", "n2", 10)) == order[4:]  # fewer left than the limit
    assert db.run_sync(queue.claim, "A", "n1", 10) == []
    assert not db.run_sync(queue.has_queued, "A")
    assert db.run_sync(queue.has_queued, "OTHER")
    assert {rid: c for rid, c in db.run_sync(claims).items() if rid in order} == {
        **{rid: "n1" for rid in order[:4]},
        order[4]: "n2",
    }
    assert {db.run_sync(recipient, rid).attempts for rid in order} == {1}


def test_only_queued_rows_are_claimed(db):
    def setup(tx):
        rows = add_batch(tx, "b1", ["12010000001", "12010000002", "12010000003"])
        rstore.set_statuses(
            tx,
            [
                rstore.StatusUpdate(rows[0], st.ABORTED, 405, True, None, None, None),
                rstore.StatusUpdate(rows[1], st.DISPATCHED, st.C_DISPATCHED, False, None, None, None),
            ],
            NOW,
        )
        return rows

    rows = db.run_sync(setup)
    assert ids(db.run_sync(queue.claim, "A", "n1", 10)) == [rows[2]]


def test_unclaim_puts_rows_back_in_their_place(db):
    def setup(tx):
        return add_batch(tx, "b1", [f"1201000000{i}" for i in range(5)])

    rows = db.run_sync(setup)
    assert ids(db.run_sync(queue.claim, "A", "n1", 3)) == rows[:3]
    db.run_sync(queue.unclaim, [rows[0], rows[2]])  # the connector could not take these now
    db.run_sync(queue.unclaim, [])
    assert db.run_sync(claims) == {rows[0]: None, rows[1]: "n1", rows[2]: None, rows[3]: None, rows[4]: None}
    assert ids(db.run_sync(queue.claim, "A", "n1", 3)) == [rows[0], rows[2], rows[3]]  # still oldest first
    assert db.run_sync(recipient, rows[0]).attempts == 2


def test_unclaim_leaves_rows_that_moved_on(db):
    def setup(tx):
        rows = add_batch(tx, "b1", ["12010000001"])
        queue.claim(tx, "A", "n1", 1)
        rstore.set_statuses(
            tx, [rstore.StatusUpdate(rows[0], st.DISPATCHED, st.C_DISPATCHED, False, None, None, None)], NOW
        )
        return rows

    rows = db.run_sync(setup)
    db.run_sync(queue.unclaim, rows)
    assert db.run_sync(claims) == {rows[0]: "n1"}  # Dispatched: with the carrier, stays claimed


def test_release_own_claims_at_start_up(db):
    def setup(tx):
        rows = add_batch(tx, "b1", [f"1201000000{i}" for i in range(4)])
        queue.claim(tx, "A", "n1", 2)
        queue.claim(tx, "A", "n2", 1)
        rstore.set_statuses(
            tx, [rstore.StatusUpdate(rows[1], st.DISPATCHED, st.C_DISPATCHED, False, None, None, None)], NOW
        )
        return rows

    rows = db.run_sync(setup)
    assert db.run_sync(queue.release_own_claims, "n1") == 1  # rows[0]; rows[1] was dispatched
    assert db.run_sync(claims) == {rows[0]: None, rows[1]: "n1", rows[2]: "n2", rows[3]: None}
    assert db.run_sync(queue.release_own_claims, "n1") == 0


def test_release_claims_gives_back_one_accounts_queued_claims_of_one_node(db):
    """A hand-over: node n1's claims of account A that never reached the connector go back,
    in their place; what n1 dispatched, another account's claims and n2's claims stay."""

    def setup(tx):
        rows = add_batch(tx, "b1", [f"1201000000{i}" for i in range(5)])
        other = add_batch(tx, "bx", ["12019999999"], account_id="OTHER")
        queue.claim(tx, "A", "n1", 3)
        queue.claim(tx, "A", "n2", 1)
        queue.claim(tx, "OTHER", "n1", 1)
        rstore.set_statuses(
            tx, [rstore.StatusUpdate(rows[1], st.DISPATCHED, st.C_DISPATCHED, False, None, None, None)], NOW
        )
        return rows, other

    rows, other = db.run_sync(setup)
    assert db.run_sync(queue.release_claims, "A", "n1") == 2
    assert db.run_sync(claims) == {
        rows[0]: None,
        rows[1]: "n1",
        rows[2]: None,
        rows[3]: "n2",
        rows[4]: None,
        other[0]: "n1",
    }
    assert ids(db.run_sync(queue.claim, "A", "n2", 10)) == [rows[0], rows[2], rows[4]]


N_ROWS = 300


# PostgreSQL only (`pg_url`): SQLite has one writer, so its claims cannot overlap.


def test_two_connections_claiming_at_once_get_disjoint_rows(pg_url):
    """Both claim while the other's transaction is still open (a barrier inside the transaction):
    the second must skip the rows the first has locked, not wait for them and not take them."""
    db = migrated(pg_url)
    rows = db.run_sync(add_batch, "b1", [f"1201{i:07d}" for i in range(N_ROWS)])
    barrier = threading.Barrier(2, timeout=10)
    got: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def claim_and_hold(tx, node):
        claimed = ids(queue.claim(tx, "A", node, 20))
        barrier.wait()  # both transactions are open here, each holding its row locks
        return claimed

    def worker(node):
        try:
            got[node] = migrated(pg_url).run_sync(claim_and_hold, node)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("n1", "n2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert len(got["n1"]) == len(got["n2"]) == 20
    assert not set(got["n1"]) & set(got["n2"])
    assert sorted(got["n1"] + got["n2"]) == rows[:40]  # between them, the 40 oldest rows


def test_many_concurrent_claimers_drain_the_queue_exactly_once(pg_url):
    db = migrated(pg_url)
    rows = db.run_sync(add_batch, "b1", [f"1201{i:07d}" for i in range(N_ROWS)])
    start = threading.Barrier(4, timeout=10)
    got: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def worker(node):
        try:
            mine = migrated(pg_url)
            start.wait()
            out = []
            while batch := mine.run_sync(queue.claim, "A", node, 7):
                out += ids(batch)
            got[node] = out
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(f"n{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    every = [rid for out in got.values() for rid in out]
    assert sorted(every) == rows  # each row claimed once, none lost
    assert all(out == sorted(out) for out in got.values())  # each claimer sees FIFO order
    assert db.run_sync(lambda tx: tx.scalar("SELECT max(attempts) FROM recipients")) == 1


def test_depths_count_queued_unclaimed_rows_per_plan_and_the_oldest(db):
    db.run_sync(lambda tx: add_batch(tx, "b1", ["12010000001", "12010000002"], now=NOW - 5000))
    db.run_sync(lambda tx: add_batch(tx, "b2", ["12010000003"], now=NOW))
    db.run_sync(lambda tx: add_batch(tx, "bx", ["12019999999"], account_id="OTHER", now=NOW - 100))
    db.run_sync(queue.claim, "A", "n1", 1)  # claimed: on its way, no longer waiting
    queues, backlog = db.run_sync(queue.depths)
    assert queues == [("A", 2, NOW - 5000), ("OTHER", 1, NOW - 100)]
    assert backlog == 0


@pytest.mark.pg
def test_the_release_queries_can_use_the_index_of_queued_claims(pg_url):
    # recipients_claimed holds only claimed rows still Queued (migration recipients_claimed_queued):
    # each release_* query must imply its predicate, or a lease take-over scans the table
    db = migrated(pg_url)
    queries = [
        "UPDATE recipients SET claimed_by = NULL WHERE account_id = 'A' AND status = 'Queued' "
        "AND claimed_by IS NOT NULL AND claimed_by <> 'n1'",  # release_foreign_claims
        "UPDATE recipients SET claimed_by = NULL WHERE account_id = 'A' AND claimed_by = 'n1' AND status = 'Queued'",
        "UPDATE recipients SET claimed_by = NULL WHERE claimed_by = 'n1' AND status = 'Queued'",
    ]

    def plans(tx):
        tx.execute("SET LOCAL enable_seqscan = off")
        return [" ".join(r[0] for r in tx.all("EXPLAIN " + q)) for q in queries]

    for plan in db.run_sync(plans):
        assert "recipients_claimed" in plan, plan

    # and it is the narrow one: a Dispatched row that keeps its claimed_by has no entry in it
    definition = db.run_sync(lambda tx: tx.scalar("SELECT pg_get_indexdef('recipients_claimed'::regclass)"))
    assert "WHERE ((status = 'Queued'::text) AND (claimed_by IS NOT NULL))" in definition, definition
