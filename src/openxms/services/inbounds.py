"""Inbound (MO) messages: stored, pushed to the account's MO callback URL, and fed to groups'
auto-update keywords, all in one transaction (Sinch Inbounds and Groups,
https://developers.sinch.com/docs/sms/api-reference/sms/inbounds/)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, cast

import msgspec

from ..clock import Clock
from ..config import Account
from ..connectors.base import Inbound
from ..errors import ConstraintViolation, InvalidFormat, NotFound
from ..ids import IdFactory
from ..sms import dates
from ..sms import msisdn as numbers
from ..sms.objects import InboundMessage, InboundType
from ..store import inbounds as store
from ..store import outbox, replies
from ..store.db import Database, Tx

# Called inside the MO transaction: (tx, account_id, sender, recipient, body, now) — used by groups.
MoHook = Callable[[Tx, str, str, str, str, int], None]


def resolve_account(tx: Tx, accounts: Mapping[str, Account], mo: Inbound) -> tuple[str, str | None]:
    """(account, client_reference) of an MO. The account: named by the connector, else the one
    account the number is configured on, else the account that last sent to this handset from
    this number (`store/replies.py`), else the only account. An MO answering one of that
    account's batches carries the batch's client_reference."""
    route = replies.last(tx, mo.sender, mo.recipient)
    if mo.account_id:
        if mo.account_id not in accounts:
            raise InvalidFormat(f"unknown service plan {mo.account_id!r}")
        account_id = mo.account_id
    else:
        owners = [a.id for a in accounts.values() if mo.recipient in a.numbers]
        if len(owners) == 1:
            account_id = owners[0]
        elif route is not None and route.account_id in accounts:
            account_id = route.account_id
        elif len(accounts) == 1:
            account_id = next(iter(accounts))
        else:
            raise ConstraintViolation(f"cannot tell which service plan number {mo.recipient!r} belongs to; name one")
    ref = route.client_reference if route is not None and route.account_id == account_id else None
    return account_id, ref


def _event(m: InboundMessage, account_id: str) -> dict[str, Any]:
    """The live event of a new inbound (the web UI may notify it): who wrote to whom, and the
    start of the text."""
    text = m.body if m.type == "mo_text" else "(binary)"
    return {
        "event": "inbound",
        "id": m.id,
        "service_plan_id": account_id,
        "from": m.from_,
        "to": m.to,
        "text": text if len(text) <= 80 else text[:79] + "…",
    }


class InboundService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdFactory,
        accounts: Mapping[str, Account],
        hooks: list[MoHook] | None = None,
    ) -> None:
        self.db, self.clock, self.ids, self.accounts = db, clock, ids, accounts
        self.hooks: list[MoHook] = list(hooks or [])  # run inside the MO's transaction

    async def receive(self, mo: Inbound) -> dict[str, Any]:
        """Store an MO; returns its Sinch object as a dict, plus the `account_id` it went to."""
        sender = numbers.normalize(mo.sender) or mo.sender
        recipient = numbers.normalize_sender(mo.recipient)
        mo = Inbound(
            sender=sender,
            recipient=recipient,
            body=mo.body,
            type=mo.type,
            udh=mo.udh,
            sent_at=mo.sent_at,
            operator_id=mo.operator_id,
            account_id=mo.account_id,
        )
        return await self.db.write(self._receive, mo, self.ids.new(), self.clock.now_ms())

    def _receive(self, tx: Tx, mo: Inbound, inbound_id: str, now: int) -> dict[str, Any]:
        account_id, ref = resolve_account(tx, self.accounts, mo)
        message = InboundMessage(
            type=cast(InboundType, mo.type),  # connectors build mo_text or mo_binary only
            id=inbound_id,
            from_=mo.sender,
            to=mo.recipient,
            body=mo.body,
            udh=(mo.udh or "") if mo.type == "mo_binary" else None,
            received_at=dates.format(now),
            sent_at=dates.format(mo.sent_at) if mo.sent_at is not None else None,
            operator_id=mo.operator_id or None,
            client_reference=ref,
        )
        raw = msgspec.json.encode(message).decode()
        store.insert(tx, inbound_id, account_id, mo.recipient, mo.sender, now, ref, raw)
        tx.emit(_event(message, account_id))
        account = self.accounts[account_id]
        if account.mo_callback_url:
            outbox.enqueue(tx, [outbox.Callback(account_id, "mo", account.mo_callback_url, raw, inbound_id)], now)
        if mo.type == "mo_text":
            for hook in self.hooks:
                hook(tx, account_id, mo.sender, mo.recipient, mo.body, now)
        return {**msgspec.to_builtins(message), "account_id": account_id}

    async def get(self, account_id: str, inbound_id: str) -> str:
        doc = await self.db.read(store.get_doc, account_id, inbound_id)
        if doc is None:
            raise NotFound(f"inbound {inbound_id} not found")
        return doc

    async def query(self, f: store.ListFilter, page: int, size: int) -> tuple[int, list[str]]:
        return await self.db.read(store.list_page, f, page, size)

    async def by_handset(self, msisdn: str, limit: int = 100) -> list[dict]:
        return [json.loads(d) for d in await self.db.read(store.by_handset, msisdn, limit)]
