"""The status rule table (`engine/status.py`): which callbacks each change queues in the outbox
for each `delivery_report` mode, that a final status is never overwritten, that the batch
report goes out exactly once, and where callbacks go. Real store, both databases."""

from __future__ import annotations

import json

import pytest

from openxms.config import Account
from openxms.engine import status
from openxms.engine.status import Change
from openxms.sms import statuses as st
from openxms.store import batches as batch_store
from openxms.store import recipients as rstore

from ..store.rows import NOW, add_batch, migrated, recipient

ACCOUNTS = {
    "A": Account(id="A", token="t", callback_url="http://account.example/dr"),
    "BARE": Account(id="BARE", token="t"),
}
R, B = "recipient_delivery_report", "delivery_report"
M1, M2 = "12010000001", "12010000002"


@pytest.fixture
def db(database_url):
    return migrated(database_url)


def outbox(tx):
    return tx.all("SELECT id, account_id, kind, url, payload, state, attempts, next_attempt_at FROM outbox ORDER BY id")


def batch(db, *args, **kw):
    return db.run_sync(lambda tx: add_batch(tx, *args, **kw))


def apply(db, changes, now=NOW + 1000):
    return db.run_sync(status.apply, changes, now, ACCOUNTS)


def dispatched(rid):
    return Change(rid, st.DISPATCHED, st.C_DISPATCHED)


# mode -> the callbacks each step queues: both Dispatched; M1 Delivered; M2 Failed
RULES = {
    "none": [[], [], []],
    "per_recipient": [[R, R], [R], [R]],
    "per_recipient_final": [[], [R], [R]],
    "summary": [[], [], [B]],
    "full": [[], [], [B]],
}


@pytest.mark.parametrize("mode", list(RULES))
def test_callbacks_queued_by_each_change(db, mode):
    r1, r2 = batch(db, "b1", [M1, M2], delivery_report=mode)
    steps = [[dispatched(r1), dispatched(r2)], [Change(r1, st.DELIVERED, 0)], [Change(r2, st.FAILED, 153)]]
    seen = 0
    for i, (changes, expected) in enumerate(zip(steps, RULES[mode], strict=True)):
        assert sorted(apply(db, changes, NOW + 1000 * (i + 1))) == sorted(c.recipient_id for c in changes)
        rows = db.run_sync(outbox)
        new, seen = rows[seen:], len(rows)
        assert [r.kind for r in new] == expected, f"step {i + 1}"
        for r in new:  # due at once, to the account's default URL, for the batch's account
            assert (r.account_id, r.url, r.state, r.attempts, r.next_attempt_at) == (
                "A",
                "http://account.example/dr",
                "pending",
                0,
                NOW + 1000 * (i + 1),
            )
    payloads = [json.loads(r.payload) for r in db.run_sync(outbox)]
    if mode.startswith("per_recipient"):
        got = [(p["type"], p["batch_id"], p["recipient"], p["status"], p["code"]) for p in payloads]
        final = [
            ("recipient_delivery_report_sms", "b1", M1, "Delivered", 0),
            ("recipient_delivery_report_sms", "b1", M2, "Failed", 153),
        ]
        if mode == "per_recipient":
            final = [("recipient_delivery_report_sms", "b1", m, "Dispatched", 401) for m in (M1, M2)] + final
        assert got == final
    elif mode in ("summary", "full"):
        [p] = payloads
        assert p["type"] == "delivery_report_sms" and p["batch_id"] == "b1" and p["total_message_count"] == 2
        if mode == "full":
            assert p["statuses"] == [
                {"code": 0, "status": "Delivered", "count": 1, "recipients": [M1]},
                {"code": 153, "status": "Failed", "count": 1, "recipients": [M2]},
            ]
        else:
            assert p["statuses"] == [
                {"code": 0, "status": "Delivered", "count": 1},
                {"code": 153, "status": "Failed", "count": 1},
            ]


@pytest.mark.parametrize("mode", list(RULES))
def test_a_final_status_is_never_overwritten(db, mode):
    r1, r2 = batch(db, "b1", [M1, M2], delivery_report=mode)
    apply(db, [Change(r1, st.EXPIRED, 0), Change(r2, st.DELIVERED, 0)])
    before = db.run_sync(outbox)
    # a late receipt, a duplicate receipt, a late Dispatched: nothing changes, nothing is queued
    for late in (
        [Change(r1, st.DELIVERED, 0)],
        [Change(r2, st.DELIVERED, 0)],
        [dispatched(r1), dispatched(r2)],
        [Change(r2, st.FAILED, 153, operator_status_at=NOW)],
    ):
        assert apply(db, late, NOW + 5000) == []
    assert db.run_sync(outbox) == before
    assert tuple(db.run_sync(recipient, r1))[1:4] == (st.EXPIRED, 0, 1)
    assert tuple(db.run_sync(recipient, r2))[1:4] == (st.DELIVERED, 0, 1)


def test_a_dispatch_recorded_after_its_receipt_keeps_the_status_and_fills_in_the_parts(db):
    [r1] = batch(db, "b1", [M1], delivery_report="per_recipient")
    apply(db, [Change(r1, st.DELIVERED, 0, operator_status_at=NOW)])  # the SMSC's receipt came first
    before = db.run_sync(outbox)
    late = Change(r1, st.DISPATCHED, st.C_DISPATCHED, parts=3, encoding="unicode")
    assert apply(db, [late], NOW + 5000) == []
    row = db.run_sync(lambda tx: tx.one("SELECT status, code, parts, encoding FROM recipients WHERE id = ?", (r1,)))
    assert tuple(row) == (st.DELIVERED, 0, 3, "unicode")
    assert db.run_sync(outbox) == before  # no report for what did not change
    apply(db, [Change(r1, st.DISPATCHED, st.C_DISPATCHED, parts=1, encoding="text")], NOW + 6000)
    assert tuple(db.run_sync(lambda tx: tx.one("SELECT parts, encoding FROM recipients WHERE id = ?", (r1,)))) == (
        3,
        "unicode",
    )  # the first dispatch's, as a resend does not change what was sent


def _rows_written(tx, rid, work):
    """Run `work(tx)`; whether it wrote the recipient row (PostgreSQL: its xmin moved; SQLite:
    the connection counted a change)."""
    if tx.dialect == "postgresql":
        sql = "SELECT xmin::text FROM recipients WHERE id = ?"
        before = tx.scalar(sql, (rid,))
        work(tx)
        return tx.scalar(sql, (rid,)) != before
    before = tx.scalar("SELECT total_changes()")
    work(tx)
    return tx.scalar("SELECT total_changes()") != before


def test_a_receipt_that_knows_the_parts_leaves_nothing_for_the_late_dispatch_to_write(db):
    # the simulator's receipts carry what the handset received; applied first, they fill it in
    [r1] = batch(db, "b1", [M1], delivery_report="per_recipient")
    apply(db, [Change(r1, st.DELIVERED, 0, operator_status_at=NOW, parts=2, encoding="text")])
    row = db.run_sync(lambda tx: tx.one("SELECT status, parts, encoding FROM recipients WHERE id = ?", (r1,)))
    assert tuple(row) == (st.DELIVERED, 2, "text")
    late = Change(r1, st.DISPATCHED, st.C_DISPATCHED, parts=2, encoding="text")
    assert not db.run_sync(_rows_written, r1, lambda tx: status.apply(tx, [late], NOW + 5000, ACCOUNTS))
    # and the check can fail: a dispatch that knows more than the row still writes it
    [r2] = batch(db, "b2", [M2], delivery_report="per_recipient")
    apply(db, [Change(r2, st.DELIVERED, 0, operator_status_at=NOW)])
    late2 = Change(r2, st.DISPATCHED, st.C_DISPATCHED, parts=2, encoding="text")
    assert db.run_sync(_rows_written, r2, lambda tx: status.apply(tx, [late2], NOW + 5000, ACCOUNTS))


def test_repeating_the_current_intermediate_status_changes_nothing(db):
    [r1] = batch(db, "b1", [M1], delivery_report="per_recipient")
    assert apply(db, [dispatched(r1)]) == [r1]
    assert apply(db, [dispatched(r1)]) == []
    assert [r.kind for r in db.run_sync(outbox)] == [R]
    assert apply(db, [Change(r1, st.DISPATCHED, 0)]) == [r1]  # a different code is a change
    assert apply(db, [Change(12345678, st.DELIVERED, 0)]) == []  # unknown recipient


@pytest.mark.parametrize("mode", ["summary", "full"])
def test_the_batch_report_is_queued_once_when_the_last_recipient_becomes_final(db, mode):
    r1, r2, r3 = batch(db, "b1", [M1, M2, "12010000003"], delivery_report=mode)
    apply(db, [Change(r1, st.DELIVERED, 0)])
    apply(db, [dispatched(r2), dispatched(r3)])
    assert db.run_sync(outbox) == []  # two are still open
    apply(db, [Change(r2, st.DELIVERED, 0), Change(r3, st.FAILED, 153)])  # both last ones in one change set
    assert [r.kind for r in db.run_sync(outbox)] == [B]
    assert db.run_sync(lambda tx: tx.scalar("SELECT report_sent FROM batches WHERE id = 'b1'")) == 1

    # a recipient added afterwards (a batch update) finishing again does not send a second report
    def add_and_finish(tx):
        rstore.insert_queued(tx, "b1", "A", ["12010000004"], NOW)
        [r4] = rstore.ids_in_status(tx, "b1", st.QUEUED)
        return status.apply(tx, [Change(r4, st.DELIVERED, 0)], NOW + 9000, ACCOUNTS)

    assert len(db.run_sync(add_and_finish)) == 1
    assert [r.kind for r in db.run_sync(outbox)] == [B]
    b = db.run_sync(lambda tx: batch_store.get_many(tx, ["b1"])["b1"])
    assert db.run_sync(status.batch_report_callback, b, ACCOUNTS) == []


def test_no_batch_report_for_a_batch_not_yet_active(db):
    for state in ("scheduled", "canceled"):
        [rid] = batch(db, f"b-{state}", [M1], delivery_report="summary", state=state)
        apply(db, [Change(rid, st.CANCELLED, st.C_CANCELLED)])
    assert db.run_sync(outbox) == []


@pytest.mark.parametrize(
    "account,batch_url,expected",
    [
        ("A", "http://batch.example/cb", "http://batch.example/cb"),  # the batch's own URL wins
        ("A", None, "http://account.example/dr"),  # else the account's default
        ("BARE", "http://batch.example/cb", "http://batch.example/cb"),
        ("BARE", None, None),  # neither: no callback at all
    ],
)
@pytest.mark.parametrize("mode", ["per_recipient_final", "summary"])
def test_callback_url_precedence(db, mode, account, batch_url, expected):
    [rid] = batch(db, "b1", [M1], account_id=account, delivery_report=mode, callback_url=batch_url)
    assert apply(db, [Change(rid, st.DELIVERED, 0)]) == [rid]
    rows = db.run_sync(outbox)
    assert [(r.url, r.account_id) for r in rows] == ([] if expected is None else [(expected, account)])
    sent = db.run_sync(lambda tx: tx.scalar("SELECT report_sent FROM batches WHERE id = 'b1'"))
    assert sent == (1 if mode == "summary" and expected else 0)


def test_status_and_callbacks_commit_together(db):
    [rid] = batch(db, "b1", [M1], delivery_report="per_recipient")

    def apply_then_fail(tx):
        status.apply(tx, [Change(rid, st.DELIVERED, 0)], NOW, ACCOUNTS)
        raise RuntimeError("the rest of the unit of work failed")

    with pytest.raises(RuntimeError):
        db.run_sync(apply_then_fail)
    assert db.run_sync(outbox) == []
    assert db.run_sync(recipient, rid).status == st.QUEUED


def test_two_nodes_finishing_the_same_recipient_at_once_keep_the_first_final_status(pg_url, monkeypatch):
    """Two nodes (say one applying a receipt, another the expiry) both read the recipient as open,
    then write in turn: the later write must not overwrite the final status the earlier one
    committed (the `final = 0` guard in the UPDATE, re-checked under the row lock)."""
    import threading

    db = migrated(pg_url)
    [rid] = db.run_sync(lambda tx: add_batch(tx, "b1", [M1]))
    both_read = threading.Barrier(2, timeout=10)
    first_committed = threading.Event()
    real_current = status.rstore.current

    def current_then_wait(tx, ids):
        found = real_current(tx, ids)
        both_read.wait()
        if threading.current_thread().name == "second":
            assert first_committed.wait(10)
        return found

    monkeypatch.setattr(status.rstore, "current", current_then_wait)
    errors = []

    def node(change):
        try:
            migrated(pg_url).run_sync(status.apply, [change], NOW, ACCOUNTS)
            if threading.current_thread().name == "first":
                first_committed.set()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
            both_read.abort()

    threads = [
        threading.Thread(target=node, name="first", args=(Change(rid, st.DELIVERED, 0),)),
        threading.Thread(target=node, name="second", args=(Change(rid, st.ABORTED, st.C_INTERNAL_EXPIRY),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert tuple(db.run_sync(recipient, rid))[1:4] == (st.DELIVERED, 0, 1)
