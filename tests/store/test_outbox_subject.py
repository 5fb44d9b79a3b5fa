"""What a callback is about (`outbox.subject`, `recipient`): written with it, found by it, and
filled from the payloads of callbacks queued before the column existed (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from openxms.store import outbox, schema
from openxms.store.db import Database

from .rows import NOW, migrated

URL = "http://127.0.0.1:9/cb"


def test_callbacks_are_found_by_subject_and_recipient(database_url):
    db = migrated(database_url)
    db.run_sync(
        outbox.enqueue,
        [
            outbox.Callback("A", "recipient_delivery_report", URL, "{}", "B1", "111"),
            outbox.Callback("A", "recipient_delivery_report", URL, "{}", "B1", "222"),
            outbox.Callback("A", "delivery_report", URL, "{}", "B1"),
            outbox.Callback("A", "recipient_delivery_report", URL, "{}", "B2", "111"),
            ("A", "mo", URL, "{}"),  # the plain 4-tuple still works: about nothing
        ],
        NOW,
    )
    db.run_sync(outbox.enqueue_signed, [("P", "conversation", URL, "{}", "s3cret")], NOW, "M1")

    def about(subject, recipient=None, limit=100):
        return [(r.subject, r.recipient, r.kind) for r in db.run_sync(outbox.about, subject, recipient, limit)]

    assert about("B1", "111") == [("B1", "111", "recipient_delivery_report"), ("B1", None, "delivery_report")]
    assert len(about("B1")) == 3 and about("B1", limit=1) == [("B1", "111", "recipient_delivery_report")]
    assert about("B2", "222") == [] and about("nothing") == []
    assert about("M1", "111") == [("M1", None, "conversation")]


def test_the_migration_fills_in_what_older_callbacks_are_about(database_url, monkeypatch):
    db = Database(database_url)
    before = schema.MIGRATIONS[: [m[0] for m in schema.MIGRATIONS].index("message_detail")]
    monkeypatch.setattr(schema, "MIGRATIONS", before)  # a database of the previous version
    schema.migrate(db)
    rows = [
        ("recipient_delivery_report", {"type": "recipient_delivery_report_sms", "batch_id": "B1", "recipient": "111"}),
        ("delivery_report", {"type": "delivery_report_sms", "batch_id": "B1", "statuses": []}),
        ("mo", {"type": "mo_text", "id": "MO1", "from": "111"}),
        ("conversation", {"message_delivery_report": {"message_id": "M1", "status": "DELIVERED"}}),
        ("conversation", {"message_submit_notification": {"message_id": "M2"}}),
        ("conversation", {"message": {"id": "M3", "direction": "TO_APP"}}),
    ]
    db.run_sync(  # as the previous version's outbox.enqueue wrote them
        lambda tx: tx.executemany(
            "INSERT INTO outbox (account_id, kind, url, payload, created_at, next_attempt_at) VALUES (?,?,?,?,?,?)",
            [("A", k, URL, json.dumps(p), NOW, NOW) for k, p in rows],
        )
    )
    monkeypatch.undo()
    assert schema.migrate(db)[0] == "message_detail"
    got = db.run_sync(lambda tx: [(r.subject, r.recipient) for r in tx.all("SELECT * FROM outbox ORDER BY id")])
    assert got == [("B1", "111"), ("B1", None), ("MO1", None), ("M1", None), ("M2", None), ("M3", None)]
