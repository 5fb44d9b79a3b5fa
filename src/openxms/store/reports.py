"""Delivery reports, pulled: reads over the recipient rows (spec of the objects: `sms/reports.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..sms import statuses as st
from ..sms.objects import Status
from .db import Tx
from .recipients import chunks


@dataclass
class RecipientRow:
    id: int
    batch_id: str
    msisdn: str
    status: Status
    code: int
    status_at: int
    operator_status_at: int | None
    parts: int | None
    encoding: str | None
    client_reference: str | None = None  # of the batch: only `list_reports` fills these two
    batch_type: str | None = None


_RCOLS = "r.id, r.batch_id, r.msisdn, r.status, r.code, r.status_at, r.operator_status_at, r.parts, r.encoding"


def _filters(tx: Tx, statuses: list[str] | None, codes: list[int] | None) -> tuple[str, list]:
    sql, args = "", list[Any]()
    if statuses:
        sql += f" AND r.status IN {tx.in_list(statuses)}"
        args += statuses
    if codes:
        sql += f" AND r.code IN {tx.in_list(codes)}"
        args += codes
    return sql, args


def batch_statuses(
    tx: Tx, batch_id: str, statuses: list[str] | None, codes: list[int] | None, with_recipients: bool
) -> tuple[int, list[tuple[int, Status, int, list[str]]]]:
    """(total recipients, [(code, status, count, recipients)]) for a batch delivery report."""
    total = tx.scalar("SELECT count(*) FROM recipients WHERE batch_id = ?", (batch_id,), 0)
    where, args = _filters(tx, statuses, codes)
    if not with_recipients:
        rows = tx.all(
            f"SELECT r.code, r.status, count(*) AS n FROM recipients r WHERE r.batch_id = ?{where} "
            "GROUP BY r.code, r.status ORDER BY r.code",
            [batch_id, *args],
        )
        return total, [(r.code, r.status, r.n, []) for r in rows]
    groups: dict[tuple[int, Status], list[str]] = {}
    for r in tx.all(
        f"SELECT r.code, r.status, r.msisdn FROM recipients r WHERE r.batch_id = ?{where} ORDER BY r.code, r.id",
        [batch_id, *args],
    ):
        groups.setdefault((r.code, r.status), []).append(r.msisdn)
    return total, [(c, s, len(ms), ms) for (c, s), ms in groups.items()]


def _recipient(r) -> RecipientRow:
    return RecipientRow(
        r.id,
        r.batch_id,
        r.msisdn,
        r.status,
        r.code,
        r.status_at,
        r.operator_status_at,
        r.parts,
        r.encoding,
        getattr(r, "client_reference", None),
        getattr(r, "batch_type", None),
    )


def one(tx: Tx, batch_id: str, msisdn: str) -> RecipientRow | None:
    r = tx.one(f"SELECT {_RCOLS} FROM recipients r WHERE r.batch_id = ? AND r.msisdn = ?", (batch_id, msisdn))
    return None if r is None else _recipient(r)


def by_ids(tx: Tx, ids: list[int]) -> list[RecipientRow]:
    out = []
    for part in chunks(ids):
        out += [
            _recipient(r) for r in tx.all(f"SELECT {_RCOLS} FROM recipients r WHERE r.id IN {tx.in_list(part)}", part)
        ]
    return out


@dataclass
class ReportFilter:
    account_id: str
    start: int
    end: int | None = None
    statuses: list[str] | None = None
    codes: list[int] | None = None
    client_reference: str | None = None


def list_reports(tx: Tx, f: ReportFilter, page: int, size: int) -> tuple[int, list[RecipientRow]]:
    """Recipient reports, newest first, with their batch's client_reference and type."""
    where, args = _filters(tx, f.statuses, f.codes)
    if not f.statuses or all(s in st.FINAL for s in f.statuses):
        where += " AND r.final = 1"  # "finished" reports, unless the filter asks for others
    sql = (
        " FROM recipients r JOIN batches b ON b.id = r.batch_id WHERE r.account_id = ? AND r.status_at >= ? "
        "AND b.origin = 'sms'"
    )
    params: list = [f.account_id, f.start]
    if f.end is not None:
        sql += " AND r.status_at < ?"
        params.append(f.end)
    if f.client_reference is not None:
        sql += " AND b.client_reference = ?"
        params.append(f.client_reference)
    sql += where
    params += args
    count = tx.scalar("SELECT count(*)" + sql, params, 0)
    rows = tx.all(
        f"SELECT {_RCOLS}, b.client_reference, b.type AS batch_type"
        + sql
        + " ORDER BY r.status_at DESC, r.id DESC LIMIT ? OFFSET ?",
        params + [size, page * size],
    )
    return count, [_recipient(r) for r in rows]
