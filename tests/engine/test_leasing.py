"""The fair-share rule of dispatch leases (engine/leasing.py): the share, which leases a pass
renews, takes and hands over, and the hand-over itself, on SQLite and PostgreSQL; then two
PostgreSQL connections running passes at the same instant."""

from __future__ import annotations

import threading

import pytest

from openxms.engine import leasing
from openxms.engine.leasing import balance, hand_over, lease_name, share, surplus
from openxms.sms import statuses as st
from openxms.store import leases, nodes, queue
from openxms.store import recipients as rstore

from ..store.rows import NOW, add_batch, claims, migrated

PLANS = ["P1", "P2", "P3", "P4"]


@pytest.fixture
def db(database_url):
    return migrated(database_url)


def holders(tx) -> dict[str, str]:
    return {r.name.removeprefix("dispatch:"): r.holder for r in tx.all("SELECT name, holder FROM leases")}


@pytest.mark.parametrize(
    "accounts,live,expected",
    [(4, 1, 4), (4, 2, 2), (4, 3, 2), (4, 4, 1), (4, 5, 1), (5, 2, 3), (1, 2, 1), (0, 2, 0), (4, 0, 4)],
)
def test_the_share_is_the_ceiling_of_accounts_over_live_nodes(accounts, live, expected):
    assert share(accounts, live) == expected


def test_the_surplus_is_what_is_over_the_share_counting_what_is_already_leaving():
    assert surplus(PLANS, (), 2) == ("P3", "P4")
    assert surplus(PLANS, {"P3", "P4"}, 2) == ()  # already being handed over: nothing more
    assert surplus(PLANS, {"P4"}, 2) == ("P3",)
    assert surplus(PLANS, {"P1"}, 2) == ("P4",)
    assert surplus(["P1", "P2"], (), 2) == ()
    assert surplus(PLANS, (), 4) == ()


def test_a_lone_node_takes_every_lease_and_renewing_is_not_taking(db):
    p = db.run_sync(balance, "node-a", PLANS, (), NOW)
    assert p == leasing.Pass(1, 4, tuple(PLANS), tuple(PLANS), ())
    again = db.run_sync(balance, "node-a", PLANS, (), NOW + 1000)
    assert again == leasing.Pass(1, 4, tuple(PLANS), (), ())
    assert db.run_sync(lambda tx: tx.scalar("SELECT min(expires_at) FROM leases")) == NOW + 1000 + leases.LEASE_MS


def test_a_pass_that_is_not_taking_renews_its_own_leases_only(db):
    """A node's first pass on PostgreSQL: it beats and keeps what it holds (a restart under the
    same id), but leaves free leases for the nodes starting with it."""
    db.run_sync(balance, "node-a", ["P1"], (), NOW)
    p = db.run_sync(balance, "node-a", PLANS, (), NOW + 100, False)
    assert (p.live, p.share, p.held, p.fresh) == (1, 4, ("P1",), ())
    p = db.run_sync(balance, "node-a", PLANS, (), NOW + 200)
    assert (p.held, p.fresh) == (tuple(PLANS), ("P2", "P3", "P4"))


def test_a_joining_node_gets_half_after_a_graceful_hand_over(db):
    def setup(tx):
        rows = {p: add_batch(tx, f"b{p}", [f"1201{i:07d}" for i in range(3)], account_id=p) for p in PLANS}
        return rows

    rows = db.run_sync(setup)
    db.run_sync(balance, "node-a", PLANS, (), NOW)
    db.run_sync(queue.claim, "P4", "node-a", 2)  # node-a is sending P4: two claimed...
    db.run_sync(
        rstore.set_statuses,
        [rstore.StatusUpdate(rows["P4"][0], st.DISPATCHED, st.C_DISPATCHED, False, None, None, None)],
        NOW,
    )  # ...of which one reached the connector

    b = db.run_sync(balance, "node-b", PLANS, (), NOW + 200)
    assert (b.live, b.share, b.held, b.surplus) == (2, 2, (), ())  # nothing free: node-b waits
    a = db.run_sync(balance, "node-a", PLANS, (), NOW + 1000)
    assert (a.live, a.share, a.held, a.surplus) == (2, 2, tuple(PLANS), ("P3", "P4"))
    # while they are being handed over they stay held (renewed), and nothing more is asked for
    a = db.run_sync(balance, "node-a", PLANS, {"P3", "P4"}, NOW + 1100)
    assert (a.held, a.surplus) == (tuple(PLANS), ())
    assert db.run_sync(balance, "node-b", PLANS, (), NOW + 1200).held == ()

    assert db.run_sync(hand_over, "P3", "node-a") == 0
    assert db.run_sync(hand_over, "P4", "node-a") == 1  # the claim that never reached the connector
    after = db.run_sync(claims)
    assert after[rows["P4"][0]] == "node-a" and after[rows["P4"][1]] is None
    b = db.run_sync(balance, "node-b", PLANS, (), NOW + 2000)
    assert (b.held, b.fresh, b.surplus) == (("P3", "P4"), ("P3", "P4"), ())
    assert db.run_sync(holders) == {"P1": "node-a", "P2": "node-a", "P3": "node-b", "P4": "node-b"}
    # and it stays so: passes on both sides change nothing
    for t in range(3):
        assert db.run_sync(balance, "node-a", PLANS, (), NOW + 3000 + t).held == ("P1", "P2")
        assert db.run_sync(balance, "node-b", PLANS, (), NOW + 3000 + t).held == ("P3", "P4")
    assert [c.id for c in db.run_sync(queue.claim, "P4", "node-b", 10)] == rows["P4"][1:]  # FIFO order kept


def split_between_two(db, at: int) -> None:
    """node-a (first) and node-b settled at two plans each, their last passes at `at`."""
    db.run_sync(balance, "node-a", PLANS, (), NOW)
    db.run_sync(balance, "node-b", PLANS, (), NOW)
    for p in ("P3", "P4"):
        db.run_sync(hand_over, p, "node-a")
    assert db.run_sync(balance, "node-b", PLANS, (), at).held == ("P3", "P4")


def test_a_dead_nodes_leases_go_to_the_others_when_its_heartbeat_and_leases_expire(db):
    split_between_two(db, NOW + 500)
    rows = db.run_sync(lambda tx: add_batch(tx, "b1", ["12010000001", "12010000002"], account_id="P1"))
    db.run_sync(queue.claim, "P1", "node-a", 1)  # node-a dies while sending
    # node-b keeps beating; node-a's last beat and renewal were at NOW
    p = db.run_sync(balance, "node-b", PLANS, (), NOW + leases.LEASE_MS)
    assert (p.live, p.held) == (2, ("P3", "P4"))  # not yet: exactly the TTL still counts
    p = db.run_sync(balance, "node-b", PLANS, (), NOW + leases.LEASE_MS + 1)
    assert (p.live, p.share, p.held, p.fresh) == (1, 4, tuple(PLANS), ("P1", "P2"))
    assert db.run_sync(claims)[rows[0]] is None  # the dead node's claim is back in the queue


def test_a_node_stopping_cleanly_lets_the_other_take_everything_at_its_next_pass(db):
    split_between_two(db, NOW + 100)
    db.run_sync(leasing.leave, PLANS, "node-b")
    assert db.run_sync(nodes.live, NOW + 200, leasing.LIVE_MS) == ["node-a"]
    p = db.run_sync(balance, "node-a", PLANS, (), NOW + 200)
    assert (p.live, p.held, p.fresh) == (1, tuple(PLANS), ("P3", "P4"))


def test_three_nodes_four_plans_nobody_holds_more_than_two(db):
    db.run_sync(balance, "node-a", PLANS, (), NOW)
    db.run_sync(balance, "node-b", PLANS, (), NOW)
    db.run_sync(balance, "node-c", PLANS, (), NOW)
    a = db.run_sync(balance, "node-a", PLANS, (), NOW + 100)
    assert (a.share, a.surplus) == (2, ("P3", "P4"))
    for p in a.surplus:
        db.run_sync(hand_over, p, "node-a")
    assert db.run_sync(balance, "node-b", PLANS, (), NOW + 200).held == ("P3", "P4")  # first come
    assert db.run_sync(balance, "node-c", PLANS, (), NOW + 200).held == ()  # 2 + 2 + 0: within the rule
    assert sorted(db.run_sync(holders).values()) == ["node-a", "node-a", "node-b", "node-b"]


def test_a_starting_sqlite_engine_forgets_a_previous_lifes_leases_and_heartbeats(tmp_path):
    db = migrated(f"sqlite:///{tmp_path / 'one.sqlite3'}")
    db.run_sync(balance, "ghost", PLANS, (), NOW)  # a previous life under another node id
    db.run_sync(leasing.join, "node-a", True, NOW + 10)
    p = db.run_sync(balance, "node-a", PLANS, (), NOW + 20)
    assert (p.live, p.held) == (1, tuple(PLANS))


def test_on_postgresql_a_start_keeps_the_other_nodes_rows(pg_url):
    db = migrated(pg_url)
    db.run_sync(balance, "node-a", PLANS, (), NOW)
    db.run_sync(leasing.join, "node-b", False, NOW + 10)
    p = db.run_sync(balance, "node-b", PLANS, (), NOW + 20)
    assert (p.live, p.held) == (2, ())
    assert set(db.run_sync(holders).values()) == {"node-a"}


def test_two_nodes_racing_passes_converge_to_two_each_without_errors(pg_url):
    """Both run passes (on real time) at the same instant, round after round, handing over what
    their pass names: no deadlock or error, never two holders, and they settle at 2 + 2."""
    migrated(pg_url)
    barrier = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []
    last: dict[str, leasing.Pass] = {}

    def worker(node):
        mine = migrated(pg_url)
        try:
            for _ in range(12):
                barrier.wait()
                p = mine.run_sync(balance, node, PLANS, ())
                for account in p.surplus:
                    mine.run_sync(hand_over, account, node)
                last[node] = p
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("node-a", "node-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    final = migrated(pg_url).run_sync(holders)
    assert sorted(final) == PLANS
    assert sorted(final.values()) == ["node-a", "node-a", "node-b", "node-b"]
    assert {n: len(p.held) for n, p in last.items()} == {"node-a": 2, "node-b": 2}
    assert all(lease_name(a).startswith("dispatch:") for a in final)
