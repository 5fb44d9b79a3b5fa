"""The one place a recipient's status changes, and the callbacks each change causes.

`apply()` runs inside the caller's write transaction, so a status and the callbacks it
triggers are committed together or not at all (the outbox). The rules, by the batch's
`delivery_report` (https://developers.sinch.com/docs/sms/api-reference/sms/tag/Webhooks/):

- `per_recipient`: a recipient report for every change (Dispatched and final ones);
- `per_recipient_final`: a recipient report when the recipient reaches a final status;
- `summary` / `full`: one batch report when every recipient of the batch is final;
- `none`: nothing (reports can still be pulled).

The callback goes to the batch's `callback_url`, else the account's default; with neither,
no callback is queued. A final status is never overwritten (a late receipt after an expiry
or a duplicate receipt changes nothing), which is what makes redelivery safe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from .. import metrics
from ..config import Account
from ..sms import reports
from ..sms import statuses as st
from ..store import batches as batch_store
from ..store import outbox
from ..store import recipients as rstore
from ..store import reports as report_store
from ..store.db import Tx
from . import conversation


@dataclass(frozen=True)
class Change:
    recipient_id: int
    status: str
    code: int
    operator_status_at: int | None = None
    parts: int | None = None
    encoding: str | None = None


def apply(tx: Tx, changes: list[Change], now: int, accounts: Mapping[str, Account]) -> list[int]:
    """Record `changes`; returns the ids that really changed."""
    if not changes:
        return []
    by_id = {c.recipient_id: c for c in changes}
    current = rstore.current(tx, by_id)
    todo: list[Change] = []
    late: list[Change] = []
    for rid, c in by_id.items():
        now_ = current.get(rid)
        if now_ is None:
            continue
        if not now_.final:
            if (now_.status, now_.code) != (c.status, c.code):
                todo.append(c)
        elif (c.parts and now_.parts is None) or (c.encoding and now_.encoding is None):
            # A receipt can be recorded before the dispatch that caused it (an SMSC answering
            # with the receipt first): the final status stays, what the dispatch knew is kept,
            # unless the receipt brought it already (the simulator's do): then there is
            # nothing to write, and the row is not rewritten for nothing.
            late.append(c)
    if late:
        rstore.fill_parts(tx, [(c.recipient_id, c.parts, c.encoding) for c in late])
    if not todo:
        return []
    rstore.set_statuses(
        tx,
        [
            rstore.StatusUpdate(
                c.recipient_id, c.status, c.code, c.status in st.FINAL, c.operator_status_at, c.parts, c.encoding
            )
            for c in todo
        ],
        now,
    )
    tx.emit({"event": "statuses", "count": len(todo)})  # the web UI's live stream (live.py)
    batches = batch_store.get_many(tx, list({current[c.recipient_id].batch_id for c in todo}), with_doc=False)
    metrics.count_changes(
        (batches[current[c.recipient_id].batch_id].account_id, c.status, c.code, c.status in st.FINAL) for c in todo
    )
    wanted = {b.id for b in batches.values() if b.delivery_report != "none" and _url(b, accounts)}
    if wanted:
        _callbacks(tx, todo, batches, wanted, now, accounts)
    carried = [c for c in todo if batches[current[c.recipient_id].batch_id].origin == "conversation"]
    if carried:  # Conversation messages on SMS: their receipts (engine/conversation.py)
        conversation.on_changes(tx, carried, now)
    return [c.recipient_id for c in todo]


def _callbacks(
    tx: Tx,
    todo: list[Change],
    batches: dict[str, batch_store.BatchRow],
    wanted: set[str],
    now: int,
    accounts: Mapping[str, Account],
) -> None:
    rows = sorted(report_store.by_ids(tx, [c.recipient_id for c in todo]), key=lambda r: r.id)
    out: list[outbox.Callback] = []
    for r in rows:
        b = batches[r.batch_id]
        if b.id not in wanted:
            continue
        mode = b.delivery_report
        if mode == "per_recipient" or (mode == "per_recipient_final" and r.status in st.FINAL):
            payload = reports.recipient_report(
                b.id, b.type, r.msisdn, r.code, r.status, r.status_at, r.operator_status_at, b.client_reference, r.parts
            )
            url = _url(b, accounts)
            assert url is not None  # b is wanted: it has one
            out.append(
                outbox.Callback(b.account_id, "recipient_delivery_report", url, json.dumps(payload), b.id, r.msisdn)
            )
    summary = [b for b in batches.values() if b.id in wanted and b.delivery_report in ("summary", "full")]
    if summary:
        open_counts = rstore.count_open(tx, [b.id for b in summary])
        for b in summary:
            if open_counts[b.id] == 0 and b.state not in ("scheduled", "canceled", "expanding"):
                out += batch_report_callback(tx, b, accounts)
    outbox.enqueue(tx, out, now)


def batch_report_callback(tx: Tx, b: batch_store.BatchRow, accounts: Mapping[str, Account]) -> list[outbox.Callback]:
    """The one summary/full callback of a finished batch (claimed so it is sent once)."""
    url = _url(b, accounts)
    if not url or b.delivery_report not in ("summary", "full") or not batch_store.set_report_sent(tx, b.id):
        return []
    full = b.delivery_report == "full"
    total, groups = report_store.batch_statuses(tx, b.id, None, None, with_recipients=full)
    payload = reports.batch_report(b.id, b.type, total, groups, b.client_reference, full)
    return [outbox.Callback(b.account_id, "delivery_report", url, json.dumps(payload), b.id)]


def _url(b: batch_store.BatchRow, accounts: Mapping[str, Account]) -> str | None:
    if b.callback_url:
        return b.callback_url
    acc = accounts.get(b.account_id)
    return acc.callback_url if acc else None
