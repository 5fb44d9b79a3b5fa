"""Groups (https://developers.sinch.com/docs/sms/api-reference/sms/groups/): create, read, update,
replace, delete, members, MO keyword auto-update.

Batches keep group ids in `to` and resolve them when they become due (store/recipients.py),
so a member added before `send_at` receives the batch and a deleted group counts as empty.
"""

from __future__ import annotations

from ..clock import Clock
from ..errors import ConstraintViolation, Forbidden, NotFound
from ..ids import IdFactory
from ..sms import groups as rules
from ..sms.objects import Group
from ..store import groups as store
from ..store.db import Database, Tx


def _unknown(group_id: str) -> Forbidden:
    return Forbidden(f"unknown group id: {group_id}", code="unknown_group")


def _object(row: store.GroupRow, size: int) -> Group:
    return rules.to_object(row.id, row.name, size, row.created_at, row.modified_at, row.child_groups, row.auto_update)


def _check_children(tx: Tx, account_id: str, children: list[str], self_id: str | None = None) -> None:
    if self_id is not None and self_id in children:
        raise ConstraintViolation("a group cannot be its own child group")
    found = store.existing(tx, account_id, children)
    for c in children:
        if c not in found:
            raise _unknown(c)


def _check_name(tx: Tx, account_id: str, name: str | None, self_id: str | None = None) -> None:
    if name is not None and store.name_taken(tx, account_id, name, self_id):
        raise Forbidden(f"a group named {name!r} already exists", code="conflict_group_name")


class GroupService:
    def __init__(self, db: Database, clock: Clock, ids: IdFactory) -> None:
        self.db, self.clock, self.ids = db, clock, ids

    async def create(self, account_id: str, raw: bytes) -> Group:
        g = rules.validate_group(raw)
        return await self.db.write(self._create, account_id, self.ids.new(), g, self.clock.now_ms())

    @staticmethod
    def _create(tx: Tx, account_id: str, group_id: str, g: rules.NewGroup, now: int) -> Group:
        _check_children(tx, account_id, g.child_groups)
        _check_name(tx, account_id, g.name)
        row = store.GroupRow(group_id, account_id, g.name, now, now, g.child_groups, g.auto_update)
        store.save(tx, row, insert=True)
        store.add_members(tx, group_id, g.members)
        return _object(row, len(g.members))

    async def get(self, account_id: str, group_id: str) -> Group:
        return await self.db.read(self._get, account_id, group_id)

    @staticmethod
    def _get(tx: Tx, account_id: str, group_id: str) -> Group:
        row = store.get(tx, account_id, group_id)
        if row is None:
            raise NotFound(f"group {group_id} not found")
        return _object(row, store.size(tx, group_id))

    async def query(self, account_id: str, page: int, size: int) -> tuple[int, list[Group]]:
        return await self.db.read(self._list, account_id, page, size)

    @staticmethod
    def _list(tx: Tx, account_id: str, page: int, size: int) -> tuple[int, list[Group]]:
        count, rows = store.list_page(tx, account_id, page, size)
        sizes = store.sizes(tx, [r.id for r in rows])
        return count, [_object(r, sizes[r.id]) for r in rows]

    async def members(self, account_id: str, group_id: str) -> list[str]:
        return await self.db.read(self._members, account_id, group_id)

    @staticmethod
    def _members(tx: Tx, account_id: str, group_id: str) -> list[str]:
        if store.get(tx, account_id, group_id) is None:
            raise NotFound(f"group {group_id} not found")
        return store.members(tx, group_id)

    async def update(self, account_id: str, group_id: str, raw: bytes) -> Group:
        u = rules.validate_update(raw)
        return await self.db.write(self._update, account_id, group_id, u, self.clock.now_ms())

    @staticmethod
    def _update(tx: Tx, account_id: str, group_id: str, u: rules.Update, now: int) -> Group:
        row = store.get(tx, account_id, group_id, for_update=True)
        if row is None:
            raise NotFound(f"group {group_id} not found")
        for ref in (u.add_from_group, u.remove_from_group):
            if ref is not None and store.get(tx, account_id, ref) is None:
                raise _unknown(ref)
        if u.set_name:
            _check_name(tx, account_id, u.name, group_id)
            row.name = u.name
        if u.auto_update is not None:
            row.auto_update = u.auto_update
        adds = list(u.add)
        if u.add_from_group is not None:
            adds += store.members(tx, u.add_from_group)
        store.add_members(tx, group_id, list(dict.fromkeys(adds)))
        removes = list(u.remove)  # "additions are done before the deletions"
        if u.remove_from_group is not None:
            removes += store.members(tx, u.remove_from_group)
        store.remove_members(tx, group_id, list(dict.fromkeys(removes)))
        row.modified_at = now
        store.save(tx, row, insert=False)
        return _object(row, store.size(tx, group_id))

    async def replace(self, account_id: str, group_id: str, raw: bytes) -> Group:
        g = rules.validate_group(raw)
        return await self.db.write(self._replace, account_id, group_id, g, self.clock.now_ms())

    @staticmethod
    def _replace(tx: Tx, account_id: str, group_id: str, g: rules.NewGroup, now: int) -> Group:
        row = store.get(tx, account_id, group_id, for_update=True)
        if row is None:
            raise NotFound(f"group {group_id} not found")
        _check_children(tx, account_id, g.child_groups, group_id)
        _check_name(tx, account_id, g.name, group_id)
        row.name, row.child_groups, row.auto_update, row.modified_at = g.name, g.child_groups, g.auto_update, now
        store.save(tx, row, insert=False)
        store.clear_members(tx, group_id)
        store.add_members(tx, group_id, g.members)
        return _object(row, len(g.members))

    async def delete(self, account_id: str, group_id: str) -> None:
        await self.db.write(self._delete, account_id, group_id)

    @staticmethod
    def _delete(tx: Tx, account_id: str, group_id: str) -> None:
        if store.get(tx, account_id, group_id, for_update=True) is None:
            raise NotFound(f"group {group_id} not found")
        store.delete(tx, group_id)


def auto_update_hook(tx: Tx, account_id: str, sender: str, recipient: str, body: str, now: int) -> None:
    """Inside the MO transaction: keywords to a group's number add or remove the sender (`auto_update`)."""
    for g in store.auto_update_targets(tx, account_id, recipient):
        action = rules.keyword_action(g.auto_update or {}, body)
        if action == "add":
            store.add_members(tx, g.id, [sender])
        elif action == "remove":
            store.remove_members(tx, g.id, [sender])
        else:
            continue
        g.modified_at = now
        store.save(tx, g, insert=False)
