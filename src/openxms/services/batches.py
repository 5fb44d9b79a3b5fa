"""Batch operations: validate (sms/), write (store/), wake the engine.

Each write is one unit of work on the writer thread, so checks and writes are atomic
(an idempotency key, the group-existence check and the insert commit together).
Cancel, update and replace act only on recipients not yet dispatched; what has left keeps
its status (Sinch: "only batches not yet sent can be cancelled"; what was sent is not recalled).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace

import msgspec

from ..clock import Clock
from ..config import Account
from ..engine import expansion, status
from ..engine.wakeups import Wakeups
from ..errors import Conflict, ConstraintViolation, Forbidden, InvalidFormat, InvalidJson, NotFound
from ..ids import IdFactory
from ..sms import batches as rules
from ..sms import messages, msisdn
from ..sms import statuses as st
from ..sms.objects import DryRun
from ..store import batches as store
from ..store import groups as group_store
from ..store import recipients as rstore
from ..store.db import Database, Tx

_encode = msgspec.json.encode


class FeedbackRequest(msgspec.Struct):
    recipients: list[str] | None = None


_feedback_decoder = msgspec.json.Decoder(FeedbackRequest)


def _row(
    batch_id: str, account_id: str, b: rules.Batch, created: int, modified: int, now: int, canceled: bool = False
) -> store.BatchRow:
    due = b.send_at if b.send_at is not None and b.send_at > now else now
    state = "canceled" if canceled and due > now else ("scheduled" if due > now else "active")
    doc = _encode(rules.to_doc(batch_id, b, created, modified, canceled)).decode()
    return store.BatchRow(
        batch_id,
        account_id,
        b.type,
        b.sender,
        b.client_reference,
        created,
        modified,
        due,
        b.expire_at,
        b.expire_explicit,
        canceled,
        state,
        b.delivery_report,
        b.callback_url,
        b.feedback_enabled,
        False,
        doc,
    )


def _check_groups(tx: Tx, account_id: str, targets: list[str]) -> None:
    groups = msisdn.split_targets(targets)[1]
    if not groups:
        return
    found = group_store.existing(tx, account_id, groups)
    missing = [g for g in groups if g not in found]
    if missing:
        raise Forbidden(f"unknown group id: {missing[0]}", code="unknown_group")


def _check_size(tx: Tx, account_id: str, targets: list[str], max_recipients: int) -> None:
    if msisdn.has_groups(targets) and expansion.estimate(tx, account_id, targets) > max_recipients:
        raise ConstraintViolation(
            f"the groups of this batch hold more than {max_recipients} recipients (max_batch_recipients)"
        )


class BatchService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdFactory,
        accounts: Mapping[str, Account],
        wakeups: Wakeups,
        max_recipients: int = 1_000_000,
    ) -> None:
        self.db, self.clock, self.ids, self.accounts, self.wakeups = db, clock, ids, accounts, wakeups
        self.max_recipients = max_recipients  # per batch, groups expanded (engine/expansion.py)
        # A number configured on a plan (its `numbers`) is that plan's: replies to it are routed
        # to it, so no other plan may send from it (it would capture the replies).
        self.owners = {n: a.id for a in accounts.values() for n in a.numbers}

    # send -------------------------------------------------------------------------
    async def create(self, account_id: str, raw: bytes, idempotency_key: str | None = None) -> tuple[bool, str]:
        """(created?, batch doc). A repeated idempotency key returns the original batch."""
        now = self.clock.now_ms()
        b = rules.validate(rules.decode_batch(raw), now)
        self._check_sender(account_id, b.sender)
        row = _row(self.ids.new(), account_id, b, now, now, now)
        key = None
        if idempotency_key is not None:
            if not idempotency_key.strip() or len(idempotency_key) > 255:
                raise ConstraintViolation("Idempotency-Key must be 1 to 255 characters")
            key = (idempotency_key, hashlib.sha256(raw).hexdigest())
        grouped = msisdn.has_groups(b.to)  # decided here, so the writer need not scan the list
        created, doc = await self.db.write(self._create, row, b.to, grouped, key, self.max_recipients)
        if created and row.state == "active":
            self.wakeups.queue_changed(account_id)
        if created and row.state != "active" or grouped:
            self.wakeups.schedule_changed()  # a new due time, or groups to expand in chunks
        return created, doc

    @staticmethod
    def _create(
        tx: Tx,
        row: store.BatchRow,
        targets: list[str],
        grouped: bool,
        key: tuple[str, str] | None,
        max_recipients: int,
    ) -> tuple[bool, str]:
        if key is not None:
            found = store.idempotent_lookup(tx, row.account_id, key[0], row.created_at)
            if found is not None:
                if found[0] != key[1]:
                    raise Conflict(
                        "this Idempotency-Key was used with a different request body in the last 24 h",
                        code="idempotency_key_reused",
                    )
                doc = store.get_doc(tx, row.account_id, found[1])
                if doc is not None:
                    return False, doc
        if grouped:
            _check_groups(tx, row.account_id, targets)
            _check_size(tx, row.account_id, targets, max_recipients)
        store.insert(tx, row)
        if row.state == "active" and not grouped:
            # a new batch, its targets deduplicated by sms/batches: nothing to conflict with
            rstore.insert_queued(tx, row.id, row.account_id, targets, row.created_at, new=True)
        elif row.state == "active":
            expansion.start(tx, row, targets, row.created_at)
        if key is not None:
            store.idempotent_store(tx, row.account_id, key[0], key[1], row.id, row.created_at)
        return True, row.doc

    # dry run ----------------------------------------------------------------------
    async def dry_run(self, account_id: str, raw: bytes, per_recipient: bool, limit: int) -> DryRun:
        now = self.clock.now_ms()
        b = rules.validate(rules.decode_batch(raw), now)
        recipients = await self.db.read(self._resolve_checked, account_id, b.to)
        return messages.dry_run(b, recipients, per_recipient, limit)

    async def dry_run_stored(self, batch_id: str, limit: int) -> DryRun | None:
        """What a per-recipient dry run of a stored batch's send body answers now (its groups as
        they are now); None if there is no such SMS batch."""
        found = await self.db.read(self._stored, batch_id)
        if found is None:
            return None
        b, recipients = found
        return messages.dry_run(b, recipients, True, limit)

    @staticmethod
    def _stored(tx: Tx, batch_id: str) -> tuple[rules.Batch, list[str]] | None:
        row = store.get_many(tx, [batch_id]).get(batch_id)
        if row is None or row.origin != "sms":
            return None
        b = rules.from_doc(rules.decode_doc(row.doc), row.expire_explicit)
        return b, rstore.resolve(tx, row.account_id, b.to)

    @staticmethod
    def _resolve_checked(tx: Tx, account_id: str, targets: list[str]) -> list[str]:
        _check_groups(tx, account_id, targets)
        return rstore.resolve(tx, account_id, targets)

    # read -------------------------------------------------------------------------
    async def get(self, account_id: str, batch_id: str) -> str:
        doc = await self.db.read(store.get_doc, account_id, batch_id)
        if doc is None:
            raise NotFound(f"batch {batch_id} not found")
        return doc

    async def query(self, f: store.ListFilter, page: int, size: int) -> tuple[int, list[str]]:
        return await self.db.read(store.list_page, f, page, size)

    # change -----------------------------------------------------------------------
    def _check_sender(self, account_id: str, sender: str | None) -> None:
        owner = self.owners.get(sender or "")
        if owner is not None and owner != account_id:
            raise ConstraintViolation(f"from {sender} is a number of another service plan")

    async def update(self, account_id: str, batch_id: str, raw: bytes) -> str:
        upd = rules.decode_update(raw)
        if upd.from_ is not None:
            self._check_sender(account_id, msisdn.normalize_sender(upd.from_))
        doc = await self.db.write(self._update, account_id, batch_id, upd, self.clock.now_ms())
        self.wakeups.queue_changed(account_id)
        self.wakeups.schedule_changed()
        return doc

    @staticmethod
    def _update(tx: Tx, account_id: str, batch_id: str, upd: rules.UpdateRequest, now: int) -> str:
        old = store.get(tx, account_id, batch_id, for_update=True)
        if old is None:
            raise NotFound(f"batch {batch_id} not found")
        new = rules.apply_update(rules.from_doc(rules.decode_doc(old.doc), old.expire_explicit), upd, now)
        _check_groups(tx, account_id, new.to)
        row = _row(old.id, account_id, new, old.created_at, now, now, old.canceled)
        row.report_sent = old.report_sent
        _reschedule(tx, old, row, new.to, now)
        store.save(tx, row)
        return row.doc

    async def replace(self, account_id: str, batch_id: str, raw: bytes) -> str:
        now = self.clock.now_ms()
        b = rules.validate(rules.decode_batch(raw), now)
        self._check_sender(account_id, b.sender)
        doc = await self.db.write(self._replace, account_id, batch_id, b, now)
        self.wakeups.queue_changed(account_id)
        self.wakeups.schedule_changed()
        return doc

    @staticmethod
    def _replace(tx: Tx, account_id: str, batch_id: str, b: rules.Batch, now: int) -> str:
        old = store.get(tx, account_id, batch_id, for_update=True)
        if old is None:
            raise NotFound(f"batch {batch_id} not found")
        _check_groups(tx, account_id, b.to)
        row = _row(old.id, account_id, b, old.created_at, now, now, old.canceled)
        rstore.drop_undispatched(tx, old.id)
        _reschedule(tx, replace(old, state="scheduled" if old.state == "active" else old.state), row, b.to, now)
        store.save(tx, row)
        return row.doc

    async def cancel(self, account_id: str, batch_id: str) -> str:
        doc = await self.db.write(self._cancel, account_id, batch_id, self.clock.now_ms(), self.accounts)
        self.wakeups.callbacks_changed()  # for the cancelled recipients
        self.wakeups.schedule_changed()  # a large scheduled batch is expanded (and cancelled) in chunks
        return doc

    @staticmethod
    def _cancel(tx: Tx, account_id: str, batch_id: str, now: int, accounts: Mapping[str, Account]) -> str:
        row = store.get(tx, account_id, batch_id, for_update=True)
        if row is None:
            raise NotFound(f"batch {batch_id} not found")
        if row.canceled:
            return row.doc
        doc = msgspec.structs.replace(rules.decode_doc(row.doc), canceled=True, modified_at=rules.dates.format(now))
        row.canceled, row.modified_at, row.doc = True, now, _encode(doc).decode()
        if row.state == "scheduled":
            # Expand now so the delivery report shows every recipient as Cancelled (407);
            # Sinch's docs describe an empty report here (docs/delivery.md says why). Large
            # groups are expanded in chunks, each chunk cancelled as it lands.
            row.state = "active" if expansion.start(tx, row, doc.to, now) else "expanding"
        store.save(tx, row)
        ids = rstore.undispatched_ids(tx, row.id)
        status.apply(tx, [status.Change(i, st.CANCELLED, st.C_CANCELLED) for i in ids], now, accounts)
        return row.doc

    # delivery feedback ---------------------------------------------------------------
    async def feedback(self, account_id: str, batch_id: str, raw: bytes) -> None:
        try:
            req = _feedback_decoder.decode(raw or b"{}")
        except (msgspec.ValidationError, msgspec.DecodeError) as e:
            raise InvalidJson(f"invalid delivery feedback: {e}") from None
        if req.recipients is None:
            raise ConstraintViolation("recipients is required")
        targets, bad = msisdn.normalize_targets(req.recipients) if req.recipients else ([], [])
        if bad or msisdn.has_groups(targets):
            culprit = bad[0] if bad else msisdn.split_targets(targets)[1][0]  # name the group, not a number
            raise InvalidFormat(f"recipients must be phone numbers, got {culprit!r}")
        await self.db.write(self._feedback, account_id, batch_id, targets, self.clock.now_ms(), self.accounts)
        self.wakeups.callbacks_changed()

    @staticmethod
    def _feedback(
        tx: Tx, account_id: str, batch_id: str, targets: list[str], now: int, accounts: Mapping[str, Account]
    ) -> None:
        row = store.get(tx, account_id, batch_id)
        if row is None:
            raise NotFound(f"batch {batch_id} not found")
        if not row.feedback_enabled:
            raise ConstraintViolation("delivery feedback is not enabled for this batch (feedback_enabled)")
        if not targets and msisdn.has_groups(json.loads(row.doc)["to"]):
            raise ConstraintViolation("a batch sent to a group needs at least one recipient in delivery feedback")
        ids = rstore.ids_in_status(tx, batch_id, st.DISPATCHED, msisdns=targets or None)
        status.apply(
            tx, [status.Change(i, st.DELIVERED, st.C_DELIVERED, operator_status_at=now) for i in ids], now, accounts
        )


def _reschedule(tx: Tx, old: store.BatchRow, row: store.BatchRow, targets: list[str], now: int) -> None:
    """Bring the queued recipients in line with the new definition (undispatched ones only)."""
    if row.canceled:
        return
    if row.state == "scheduled":
        if old.state in ("active", "expanding"):
            rstore.drop_undispatched(tx, old.id)
        return
    if msisdn.has_groups(targets) and expansion.estimate(tx, row.account_id, targets) > expansion.CHUNK_ROWS:
        # Large groups: start over in chunks; recipients already dispatched keep their rows.
        rstore.drop_undispatched(tx, old.id)
        row.state = "active" if expansion.start(tx, row, targets, now) else "expanding"
        row.report_sent = False
        return
    wanted = rstore.resolve(tx, row.account_id, targets)
    if old.state in ("active", "expanding"):
        keep = set(wanted)
        queued = rstore.undispatched_msisdns(tx, old.id)
        rstore.drop_undispatched(tx, old.id, [m for m in queued if m not in keep])
    rstore.insert_queued(tx, row.id, row.account_id, wanted, now)
    row.report_sent = False
