"""What the simulator's page reads about Conversation messages and batches, across every project.

Newest first by id: ids are ULIDs, in creation order (`ids.py`), and the primary key orders
them without a sort; a page's cursor is the last id of the previous page. The text of an
outbound message is the body of the SMS that carries it (its carrier batch has the message's
id, `messages.queue_sms`), that is the text as rendered for the channel; a message that could
not be rendered has no carrier, hence no text. An inbound one's text is the contact's.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from ..db import Tx
from ..recipients import chunks
from . import batches as batch_store
from .batches import HEAD_COLS, BatchHead, head

_MSG_COLS = (
    "m.id, m.project_id, m.app_id, m.direction, m.identity, m.contact_id, m.sender_id, m.accept_time, "
    "m.batch_id, m.status, m.metadata, m.doc, b.doc AS carrier"
)
# The carrier batch, when there is one (a plain SMS batch never has a message's id).
_CARRIER = "LEFT JOIN batches b ON b.id = m.id AND b.origin = 'conversation'"


class MessageRow(NamedTuple):
    id: str
    project_id: str
    app_id: str
    direction: str  # TO_CONTACT | TO_APP
    identity: str  # the handset (digits), or what the send named when it was not a number
    contact_id: str
    sender_id: str  # TO_APP: the number the handset wrote to
    accept_time: int
    batch_id: str | None  # the Conversation batch it belongs to (a reply: the batch it answers)
    status: str | None  # the last delivery status reported (None: none yet)
    metadata: str
    content: str  # the message's type: text_message, card_message, ...
    text: str | None  # the SMS text (outbound: as rendered; None when it was never sent)


def _content(doc: str) -> tuple[str, str | None]:
    """(type, contact text) of a stored message's JSON."""
    d = json.loads(doc)
    message = d.get("app_message") or d.get("contact_message") or {}
    kind = next((k for k, v in message.items() if v is not None and k.endswith("_message")), "")
    text = None
    if "contact_message" in d:
        text = (message.get("text_message") or {}).get("text")
    return kind, text


def _message(r: Any) -> MessageRow:
    kind, text = _content(r.doc)
    if r.carrier is not None:
        text = json.loads(r.carrier).get("body")
    return MessageRow(
        r.id,
        r.project_id,
        r.app_id,
        r.direction,
        r.identity,
        r.contact_id,
        r.sender_id,
        r.accept_time,
        r.batch_id,
        r.status,
        r.metadata,
        kind,
        text,
    )


def messages(tx: Tx, app_id: str | None, identity: str | None, limit: int, after: str | None) -> list[MessageRow]:
    """Newest first; `after`: the last id of the previous page."""
    sql = [f"SELECT {_MSG_COLS} FROM conv_messages m {_CARRIER} WHERE 1 = 1"]
    args: list[Any] = []
    for column, value in (("m.app_id", app_id), ("m.identity", identity)):
        if value is not None:
            sql.append(f"AND {column} = ?")
            args.append(value)
    if after is not None:
        sql.append("AND m.id < ?")
        args.append(after)
    sql.append("ORDER BY m.id DESC LIMIT ?")
    return [_message(r) for r in tx.all(" ".join(sql), [*args, limit])]


# The request's recipient count, computed where the request is (both of its stored forms have
# `recipient_and_params`, a non-empty array once accepted), so a page of batches does not carry
# and parse every body; the JSON is walked once per row.
_RECIPIENT_COUNT = {
    "sqlite": "coalesce(json_array_length(request, '$.recipient_and_params'), 0)",
    "postgresql": "coalesce(json_array_length(request::json -> 'recipient_and_params'), 0)",
}


class BatchSummary(NamedTuple):
    batch: BatchHead
    recipients: int  # in the request
    counts: dict[str, int]  # generated messages by delivery status ("" for none reported yet)
    replies: int  # inbound messages tied to the batch (replies to its messages)


def _counts(tx: Tx, batch_ids: list[str]) -> dict[str, tuple[dict[str, int], int]]:
    out: dict[str, tuple[dict[str, int], int]] = {i: ({}, 0) for i in batch_ids}
    for part in chunks(batch_ids):
        for r in tx.all(
            "SELECT batch_id, direction, status, count(*) AS n FROM conv_messages "
            f"WHERE batch_id IN {tx.in_list(part)} GROUP BY batch_id, direction, status",
            part,
        ):
            counts, replies = out[r.batch_id]
            if r.direction == "TO_APP":
                out[r.batch_id] = (counts, replies + r.n)
            else:
                key = r.status or ""
                counts[key] = counts.get(key, 0) + r.n
    return out


def batches(tx: Tx, app_id: str | None, limit: int, after: str | None) -> list[BatchSummary]:
    """Newest first; `after`: the last id of the previous page."""
    sql = [f"SELECT {HEAD_COLS}, {_RECIPIENT_COUNT[tx.dialect]} AS recipients FROM conv_batches WHERE 1 = 1"]
    args: list[Any] = []
    if app_id is not None:
        sql.append("AND app_id = ?")
        args.append(app_id)
    if after is not None:
        sql.append("AND id < ?")
        args.append(after)
    sql.append("ORDER BY id DESC LIMIT ?")
    rows = tx.all(" ".join(sql), [*args, limit])
    counts = _counts(tx, [r.id for r in rows])
    return [
        BatchSummary(
            head(r),
            r.recipients,
            *counts[r.id],
        )
        for r in rows
    ]


class Requested(NamedTuple):
    """A recipient as the batch request names it (before the fan-out)."""

    identity: str  # its SMS identity as given ("" when named by contact)
    contact_id: str


def _requested(request: str) -> list[Requested]:
    out = []
    for rp in json.loads(request).get("recipient_and_params") or ():
        recipient = rp.get("recipient") or {}
        identities = (recipient.get("identified_by") or {}).get("channel_identities") or ()
        sms = next((i.get("identity") or "" for i in identities if i.get("channel") == "SMS"), "")
        out.append(Requested(sms, recipient.get("contact_id") or ""))
    return out


class BatchDetail(NamedTuple):
    summary: BatchSummary
    messages: list[MessageRow]  # what the fan-out made, in recipient order
    requested: list[Requested]  # the request's recipients, in order


def batch(tx: Tx, batch_id: str) -> BatchDetail | None:
    r = tx.one(f"SELECT {batch_store.COLS} FROM conv_batches WHERE id = ?", (batch_id,))
    if r is None:
        return None
    b = batch_store.row(r)
    counts, replies = _counts(tx, [b.id])[b.id]
    # The fan-out makes a batch's messages in recipient order, so their ids are in that order.
    made = [
        _message(m)
        for m in tx.all(
            f"SELECT {_MSG_COLS} FROM conv_messages m {_CARRIER} WHERE m.batch_id = ? AND m.direction = 'TO_CONTACT' "
            "ORDER BY m.id",
            (b.id,),
        )
    ]
    requested = _requested(b.request)
    return BatchDetail(BatchSummary(BatchHead.of(b), len(requested), counts, replies), made, requested)
