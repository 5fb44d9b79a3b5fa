"""Delivery reports, pulled."""

from __future__ import annotations

import msgspec

from ..errors import InvalidFormat, NotFound
from ..sms import msisdn, reports
from ..sms import statuses as st
from ..sms.objects import BatchDeliveryReport, RecipientDeliveryReport
from ..store import batches as batch_store
from ..store import reports as rstore
from ..store.db import Database, Tx


def parse_statuses(values: list[str]) -> list[str] | None:
    """Status filters are case-insensitive (`DELIVERED` from the Python SDK)."""
    out = []
    for v in values:
        s = st.canonical(v)
        if s is None:
            raise InvalidFormat(f"unknown status {v!r}")
        out.append(s)
    return out or None


def parse_codes(values: list[str]) -> list[int] | None:
    try:
        codes = [int(v) for v in values]
    except ValueError:
        raise InvalidFormat("code must be a comma-separated list of integers") from None
    if any(not 0 <= c <= 2**31 - 1 for c in codes):
        raise InvalidFormat("code must be between 0 and 2147483647")
    return codes or None


class ReportService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def batch(
        self, account_id: str, batch_id: str, kind: str, statuses: list[str] | None, codes: list[int] | None
    ) -> BatchDeliveryReport:
        if kind not in ("summary", "full"):
            raise NotFound(f"unknown delivery report type {kind!r}")
        return await self.db.read(self._batch, account_id, batch_id, kind == "full", statuses, codes)

    @staticmethod
    def _batch(tx: Tx, account_id: str, batch_id: str, full: bool, statuses, codes) -> BatchDeliveryReport:
        b = batch_store.get_many(tx, [batch_id], with_doc=False).get(batch_id)
        if b is None or b.account_id != account_id or b.origin != "sms":
            raise NotFound(f"batch {batch_id} not found")
        total, groups = rstore.batch_statuses(tx, batch_id, statuses, codes, with_recipients=full)
        return reports.batch_delivery_report(b.id, b.type, total, groups, b.client_reference, full)

    async def recipient(self, account_id: str, batch_id: str, recipient: str) -> RecipientDeliveryReport:
        number = msisdn.normalize(recipient) or recipient.strip()
        return await self.db.read(self._recipient, account_id, batch_id, number)

    @staticmethod
    def _recipient(tx: Tx, account_id: str, batch_id: str, number: str) -> RecipientDeliveryReport:
        b = batch_store.get_many(tx, [batch_id], with_doc=False).get(batch_id)
        if b is None or b.account_id != account_id or b.origin != "sms":
            raise NotFound(f"batch {batch_id} not found")
        r = rstore.one(tx, batch_id, number)
        if r is None:
            raise NotFound(f"{number} is not a recipient of batch {batch_id}")
        return reports.recipient_delivery_report(
            b.id, b.type, r.msisdn, r.code, r.status, r.status_at, r.operator_status_at, b.client_reference, r.parts
        )

    async def query(self, f: rstore.ReportFilter, page: int, size: int) -> tuple[int, list[bytes]]:
        count, rows = await self.db.read(rstore.list_reports, f, page, size)
        docs = []
        for r in rows:
            docs.append(
                msgspec.json.encode(reports.recipient_report_of(r))  # list_reports always selects batch_type
            )
        return count, docs
