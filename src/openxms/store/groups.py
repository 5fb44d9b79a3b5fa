"""Groups and their members."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..sms import dates
from .db import Tx, newest_first
from .recipients import chunks


@dataclass
class GroupRow:
    id: str
    account_id: str
    name: str | None
    created_at: int
    modified_at: int
    child_groups: list[str]
    auto_update: dict | None

    def doc(self, size: int) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id}
        if self.name is not None:
            d["name"] = self.name
        d.update(
            size=size,
            created_at=dates.format(self.created_at),
            modified_at=dates.format(self.modified_at),
            child_groups=self.child_groups,
        )
        if self.auto_update is not None:
            d["auto_update"] = self.auto_update
        return d


_COLS = "id, account_id, name, created_at, modified_at, child_groups, auto_update"


def _row(r: Any) -> GroupRow:
    return GroupRow(
        r.id,
        r.account_id,
        r.name,
        r.created_at,
        r.modified_at,
        json.loads(r.child_groups or "[]"),
        json.loads(r.auto_update) if r.auto_update else None,
    )


def get(tx: Tx, account_id: str, group_id: str, *, for_update: bool = False) -> GroupRow | None:
    lock = " FOR UPDATE" if for_update and tx.dialect == "postgresql" else ""
    r = tx.one(f"SELECT {_COLS} FROM groups WHERE id = ? AND account_id = ?{lock}", (group_id, account_id))
    return None if r is None else _row(r)


def existing(tx: Tx, account_id: str, group_ids: list[str]) -> set[str]:
    if not group_ids:
        return set()
    return {
        r.id
        for r in tx.all(
            f"SELECT id FROM groups WHERE account_id = ? AND id IN {tx.in_list(group_ids)}", [account_id, *group_ids]
        )
    }


def name_taken(tx: Tx, account_id: str, name: str, except_id: str | None = None) -> bool:
    return (
        tx.one(
            "SELECT 1 FROM groups WHERE account_id = ? AND name = ? AND id <> ?", (account_id, name, except_id or "")
        )
        is not None
    )


def save(tx: Tx, g: GroupRow, insert: bool) -> None:
    auto = json.dumps(g.auto_update) if g.auto_update is not None else None
    auto_to = g.auto_update["to"] if g.auto_update else None
    if insert:
        tx.execute(
            f"INSERT INTO groups ({_COLS}, auto_to) VALUES (?,?,?,?,?,?,?,?)",
            (g.id, g.account_id, g.name, g.created_at, g.modified_at, json.dumps(g.child_groups), auto, auto_to),
        )
    else:
        tx.execute(
            "UPDATE groups SET name = ?, modified_at = ?, child_groups = ?, auto_update = ?, auto_to = ? WHERE id = ?",
            (g.name, g.modified_at, json.dumps(g.child_groups), auto, auto_to, g.id),
        )


def delete(tx: Tx, group_id: str) -> None:
    tx.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))
    tx.execute("DELETE FROM groups WHERE id = ?", (group_id,))


def add_members(tx: Tx, group_id: str, msisdns: list[str]) -> None:
    if msisdns:
        tx.executemany(
            "INSERT INTO group_members (group_id, msisdn) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(group_id, m) for m in msisdns],
        )


def remove_members(tx: Tx, group_id: str, msisdns: list[str]) -> None:
    for part in chunks(msisdns):
        tx.execute(f"DELETE FROM group_members WHERE group_id = ? AND msisdn IN {tx.in_list(part)}", [group_id, *part])


def clear_members(tx: Tx, group_id: str) -> None:
    tx.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))


def members(tx: Tx, group_id: str) -> list[str]:
    return [
        r.msisdn for r in tx.all("SELECT msisdn FROM group_members WHERE group_id = ? ORDER BY msisdn", (group_id,))
    ]


def size(tx: Tx, group_id: str) -> int:
    return tx.scalar("SELECT count(*) FROM group_members WHERE group_id = ?", (group_id,), 0)


def sizes(tx: Tx, group_ids: list[str]) -> dict[str, int]:
    out = {g: 0 for g in group_ids}
    if group_ids:
        for r in tx.all(
            f"SELECT group_id, count(*) AS n FROM group_members WHERE group_id IN "
            f"{tx.in_list(group_ids)} GROUP BY group_id",
            group_ids,
        ):
            out[r.group_id] = r.n
    return out


def list_page(tx: Tx, account_id: str, page: int, size_: int) -> tuple[int, list[GroupRow]]:
    count = tx.scalar("SELECT count(*) FROM groups WHERE account_id = ?", (account_id,), 0)
    rows = tx.all(
        f"SELECT {_COLS} FROM groups WHERE account_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (account_id, size_, page * size_),
    )
    return count, [_row(r) for r in rows]


def auto_update_targets(tx: Tx, account_id: str, number: str) -> list[GroupRow]:
    return [
        _row(r)
        for r in tx.all(f"SELECT {_COLS} FROM groups WHERE account_id = ? AND auto_to = ?", (account_id, number))
    ]


def browse(tx: Tx, plans: list[str], before: tuple[int, str] | None, limit: int) -> list[tuple[GroupRow, int]]:
    """Every plan's groups for the web UI, newest first, with their sizes: up to `limit` older
    than `before` ((created_at, id) of the last one shown)."""
    where, args = newest_first(tx, plans, before, "created_at")
    sql = f"SELECT {_COLS} FROM groups" + (" WHERE " + " AND ".join(where) if where else "")
    rows = [_row(r) for r in tx.all(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", [*args, limit])]
    n = sizes(tx, [g.id for g in rows])
    return [(g, n[g.id]) for g in rows]


def find(tx: Tx, group_id: str, after: str | None, limit: int) -> tuple[GroupRow, int, list[str]] | None:
    """One group of any plan, its size and a page of its members (`member_page`)."""
    r = tx.one(f"SELECT {_COLS} FROM groups WHERE id = ?", (group_id,))
    if r is None:
        return None
    return _row(r), size(tx, group_id), member_page(tx, group_id, after, limit)


def member_page(tx: Tx, group_id: str, after: str | None, limit: int) -> list[str]:
    """Up to `limit` members in number order, after the number `after` (the last one shown)."""
    return [
        r.msisdn
        for r in tx.all(
            "SELECT msisdn FROM group_members WHERE group_id = ? AND msisdn > ? ORDER BY msisdn LIMIT ?",
            (group_id, after or "", limit),
        )
    ]
