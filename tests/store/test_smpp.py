"""The SMPP id map (store/smpp.py): parts stored by the SMSC's ids, receipts marking them done,
and orphan receipts kept until their part is stored, on both databases."""

from __future__ import annotations

import pytest

from openxms.store import smpp as idmap

from .rows import NOW, add_batch, migrated


@pytest.fixture
def db(database_url):
    return migrated(database_url)


def _parts(n: int, rid: int, prefix: str = "k") -> list[idmap.Part]:
    return [idmap.Part(f"{prefix}{i}", rid, i + 1, n, f"ID{i}", 100 + i, None) for i in range(n)]


def test_parts_stored_in_one_call_are_all_found(db):
    # More parts than one VALUES chunk (Tx.values: 128 rows) and than one IN list of a lookup
    # on SQLite (CHUNK), so both chunkings are exercised; PostgreSQL looks up all keys at once.
    n = idmap.CHUNK + 100

    def run(tx):
        (rid,) = add_batch(tx, "b1", ["12025550001"])
        assert idmap.store_parts(tx, "A", _parts(n, rid), NOW) == 0
        found = idmap.lookup(tx, "A", [f"k{i}" for i in range(n)] + ["k0", "missing"])
        again = idmap.store_parts(tx, "A", _parts(2, rid), NOW + 1)  # the SMSC reuses two ids
        reused = idmap.lookup(tx, "A", ["k1"])
        other = idmap.lookup(tx, "B", ["k1"])
        return rid, found, again, reused, other

    rid, found, again, reused, other = db.run_sync(run)
    assert sorted(found) == sorted(f"k{i}" for i in range(n))
    assert all(len(v) == 1 and v[0].recipient_id == rid and v[0].waiting for v in found.values())
    assert found["k0"][0].msisdn == "12025550001"  # the recipient's number comes with the part
    assert again == 2
    assert [s.submitted_at for s in reused["k1"]] == [NOW + 1, NOW]  # newest first
    assert other == {}


def test_mark_done_keeps_a_parts_first_receipt(db):
    def run(tx):
        (rid,) = add_batch(tx, "b1", ["12025550001"])
        idmap.store_parts(tx, "A", _parts(3, rid), NOW)
        ids = {k: v[0].id for k, v in idmap.lookup(tx, "A", ["k0", "k1", "k2"]).items()}
        # k0 twice in one call (a repeated receipt): the first stays; k1 once; k2 left waiting
        idmap.mark_done(tx, [(ids["k0"], "DELIVRD", 0, NOW + 1), (ids["k1"], "UNDELIV", 5, NOW + 2)])
        idmap.mark_done(tx, [(ids["k0"], "EXPIRED", 9, NOW + 3)])  # already done: untouched
        idmap.mark_done(tx, [])
        return {p.part: (p.state, p.err, p.done_at) for p in idmap.parts_of(tx, [rid])[rid]}

    got = db.run_sync(run)
    assert got == {1: ("DELIVRD", 0, NOW + 1), 2: ("UNDELIV", 5, NOW + 2), 3: (None, None, None)}


def test_a_repeated_receipt_in_one_call_is_applied_once_first_wins(db):
    def run(tx):
        (rid,) = add_batch(tx, "b1", ["12025550001"])
        idmap.store_parts(tx, "A", _parts(1, rid), NOW)
        pid = idmap.lookup(tx, "A", ["k0"])["k0"][0].id
        idmap.mark_done(tx, [(pid, "UNDELIV", 1, NOW + 1), (pid, "DELIVRD", 0, NOW + 2)])
        return idmap.parts_of(tx, [rid])[rid][0]

    p = db.run_sync(run)
    assert (p.state, p.err, p.done_at) == ("UNDELIV", 1, NOW + 1)


def test_orphans_recorded_replaced_and_taken_once(db):
    def run(tx):
        idmap.record_orphans(
            tx,
            "A",
            [
                idmap.Orphan("o1", "ENROUTE", 0, None),
                idmap.Orphan("o2", "DELIVRD", 0, NOW),
                idmap.Orphan("o1", "DELIVRD", 0, NOW + 1),  # the same key again: the last stays
            ],
            NOW,
        )
        idmap.record_orphans(tx, "A", [idmap.Orphan("o2", "UNDELIV", 7, NOW + 2)], NOW + 5)  # replaces
        idmap.record_orphans(tx, "B", [idmap.Orphan("o1", "REJECTD", 3, NOW)], NOW)  # another plan's
        taken = idmap.take_orphans(tx, "A", ["o1", "o2", "o3"])
        return sorted(taken), idmap.take_orphans(tx, "A", ["o1", "o2"]), idmap.take_orphans(tx, "B", ["o1"])

    taken, again, other = db.run_sync(run)
    assert taken == [idmap.Orphan("o1", "DELIVRD", 0, NOW + 1), idmap.Orphan("o2", "UNDELIV", 7, NOW + 2)]
    assert again == []
    assert other == [idmap.Orphan("o1", "REJECTD", 3, NOW)]
