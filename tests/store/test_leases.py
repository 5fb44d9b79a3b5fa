"""Dispatch leases between nodes on one database: who holds an account's queue, when another
node may take it over, and what taking over does to the previous holder's claims."""

from __future__ import annotations

import pytest

from openxms.engine.leasing import lease_name, take_lease
from openxms.sms import statuses as st
from openxms.store import leases, queue
from openxms.store import recipients as rstore

from .rows import NOW, add_batch, claims, migrated

LEASE = lease_name("A")


@pytest.fixture
def db(database_url):
    return migrated(database_url)


def holder(tx):
    return tx.one("SELECT holder, expires_at FROM leases WHERE name = ?", (LEASE,))


def expire(tx):
    """Make the current lease look as if its holder stopped renewing it long ago."""
    tx.execute("UPDATE leases SET expires_at = 0 WHERE name = ?", (LEASE,))


def test_one_holder_until_its_lease_runs_out(db):
    assert db.run_sync(take_lease, "A", "node-a") == (True, True)
    assert db.run_sync(take_lease, "A", "node-b") == (False, False)
    assert db.run_sync(take_lease, "A", "node-a") == (True, False)  # a renewal is not a new lease
    assert db.run_sync(take_lease, "A", "node-b") == (False, False)
    assert db.run_sync(holder).holder == "node-a"

    db.run_sync(expire)
    assert db.run_sync(take_lease, "A", "node-b") == (True, True)
    assert db.run_sync(take_lease, "A", "node-a") == (False, False)  # A came back too late
    assert db.run_sync(take_lease, "A", "node-b") == (True, False)
    assert db.run_sync(holder).holder == "node-b"


def test_leases_are_per_account(db):
    assert db.run_sync(take_lease, "A", "node-a") == (True, True)
    assert db.run_sync(take_lease, "B", "node-b") == (True, True)
    assert db.run_sync(take_lease, "B", "node-a") == (False, False)


def test_expiry_is_strict_and_renewal_moves_it(db):
    """Wall time is passed in: a lease is free only once its expiry has passed, and every
    renewal pushes the expiry a full ttl past the renewal."""
    assert db.run_sync(leases.acquire, LEASE, "node-a", 1000, NOW) == (True, True)
    assert db.run_sync(holder).expires_at == NOW + 1000

    assert db.run_sync(leases.acquire, LEASE, "node-a", 1000, NOW + 600) == (True, False)
    assert db.run_sync(holder).expires_at == NOW + 1600

    # the very millisecond it expires: still A's
    assert db.run_sync(leases.acquire, LEASE, "node-b", 1000, NOW + 1600) == (False, False)
    assert db.run_sync(leases.acquire, LEASE, "node-b", 1000, NOW + 1601) == (True, True)
    assert tuple(db.run_sync(holder)) == ("node-b", NOW + 2601)


def test_taking_over_requeues_the_dead_nodes_queued_claims_only(db):
    def setup(tx):
        a = add_batch(tx, "b1", [f"120100000{i:02d}" for i in range(6)])
        other = add_batch(tx, "b2", ["12019999999"], account_id="OTHER")
        mine = queue.claim(tx, "A", "node-a", 4)  # a[0..3] claimed by A
        queue.claim(tx, "OTHER", "node-a", 1)
        # a[1] reached the carrier (Dispatched keeps the claim); a[2] is final
        rstore.set_statuses(
            tx, [rstore.StatusUpdate(a[1], st.DISPATCHED, st.C_DISPATCHED, False, None, None, None)], NOW
        )
        tx.execute("UPDATE recipients SET status = 'Delivered', code = 0, final = 1 WHERE id = ?", (a[2],))
        return a, other, [c.id for c in mine]

    a, other, mine = db.run_sync(setup)
    assert mine == a[:4]
    assert db.run_sync(take_lease, "A", "node-a") == (True, True)  # its own claims are not foreign
    assert db.run_sync(claims)[a[0]] == "node-a"
    # a claim of node-b itself (it claimed a[4] while node-a held the lease: a stalled node)
    assert [c.id for c in db.run_sync(queue.claim, "A", "node-b", 1)] == [a[4]]

    db.run_sync(expire)
    assert db.run_sync(take_lease, "A", "node-b") == (True, True)
    after = db.run_sync(claims)
    assert after[a[0]] is None and after[a[3]] is None  # queued: back to the queue, to be resent
    assert after[a[1]] == "node-a"  # Dispatched: with the carrier, not sent again
    assert after[a[2]] == "node-a"  # final: untouched
    assert after[a[4]] == "node-b"  # the new holder's own claim stays
    assert after[a[5]] is None
    assert after[other[0]] == "node-a"  # another account's queue is not this lease's business
    # and they come out of the queue again in their original order
    assert [c.id for c in db.run_sync(queue.claim, "A", "node-b", 10)] == [a[0], a[3], a[5]]


def test_renewing_does_not_touch_claims_and_a_restarted_node_keeps_its_lease(db):
    """A node restarted with the same id renews its lease at once (not fresh: no takeover, no
    waiting for the expiry); its own interrupted claims go back at start-up instead."""

    def setup(tx):
        ids = add_batch(tx, "b1", ["12010000001", "12010000002"])
        queue.claim(tx, "A", "node-a", 1)
        return ids

    ids = db.run_sync(setup)
    assert db.run_sync(take_lease, "A", "node-a") == (True, True)
    db.run_sync(lambda tx: tx.execute("UPDATE recipients SET claimed_by = 'node-b' WHERE id = ?", (ids[1],)))
    # the restarted node-a: the lease has not expired, yet it is ours at once
    assert db.run_sync(take_lease, "A", "node-a") == (True, False)
    assert db.run_sync(claims) == {ids[0]: "node-a", ids[1]: "node-b"}  # not fresh: nothing released
    assert db.run_sync(queue.release_own_claims, "node-a") == 1
    assert db.run_sync(claims) == {ids[0]: None, ids[1]: "node-b"}


def test_release_lets_another_node_take_it_at_once(db):
    assert db.run_sync(take_lease, "A", "node-a") == (True, True)
    db.run_sync(leases.release, LEASE, "node-b")  # not B's to release
    assert db.run_sync(take_lease, "A", "node-b") == (False, False)
    db.run_sync(leases.release, LEASE, "node-a")
    assert db.run_sync(take_lease, "A", "node-b") == (True, True)
    db.run_sync(leases.release_all)
    assert db.run_sync(holder) is None
