"""The delivery engine: scheduler, per-account dispatchers, callback sender, connectors.

One engine per process that has `role` all or engine. With several nodes on PostgreSQL every
node runs one; leases (`queue.py`) decide which node drains which account's queue, and the
connectors of an account (SMPP binds) live on that node only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections import OrderedDict
from typing import Any, Callable, Mapping

from ..clock import Clock
from ..config import Account, Settings
from ..connectors.base import Connector, Inbound, Receipt
from ..store.db import Database, Tx
from . import queue, status
from .callbacks import CallbackSender
from .dispatcher import Dispatcher
from .scheduler import Scheduler

log = logging.getLogger("openxms.engine")
LEASE_RENEW_S = 3.0


class Engine:
    def __init__(self, settings: Settings, db: Database, clock: Clock, accounts: Mapping[str, Account],
                 connector_for: Callable[[Account], Connector], on_inbound: Callable[[Inbound], Any]) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.accounts = accounts
        # Stable across restarts of the same node, so a restarted node recognises (and renews) its
        # own lease at once instead of waiting for it to expire.
        self.node_id = settings.node_id or f"{socket.gethostname()}:{settings.port}"
        self.connector_for = connector_for
        self.on_inbound = on_inbound
        self.scheduler = Scheduler(self)
        self.callbacks = CallbackSender(self)
        self.dispatchers: dict[str, Dispatcher] = {}
        self.backoff: dict[str, float] = {}
        self._dispatch_tasks: dict[str, asyncio.Task] = {}
        self._tasks: list[asyncio.Task] = []
        self._docs: OrderedDict[tuple[str, int], dict] = OrderedDict()
        self._connectors: dict[int, Connector] = {}

    # lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self.db.dialect == "sqlite":
            # One engine per SQLite file: leases of a previous (killed) life are ours to take now.
            await self.db.write(lambda tx: tx.execute("DELETE FROM leases"))
        # Whatever this node had claimed in a previous life was interrupted: back to the queue.
        await self.db.write(queue.release_own_claims, self.node_id)
        # Shared connectors (the simulator) start now; a carrier connector (SMPP binds) starts
        # only on the node that holds its account's lease, so binds are never duplicated.
        for account in self.accounts.values():
            c = self.connector_for(account)
            if account.connector == "simulator" and id(c) not in self._connectors:
                self._connectors[id(c)] = c
                await c.start(self)
        self._tasks = [
            asyncio.create_task(self.scheduler.run(), name="scheduler"),
            asyncio.create_task(self.callbacks.run(), name="callbacks"),
            asyncio.create_task(self._leases(), name="leases"),
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for d in self.dispatchers.values():
            await d.drain()
        for t in self._dispatch_tasks.values():
            t.cancel()
        await asyncio.gather(*self._tasks, *self._dispatch_tasks.values(), return_exceptions=True)
        for c in self._connectors.values():
            await c.stop()
        try:
            await self.db.write(self._release_all)
        except Exception:  # noqa: BLE001 - shutting down
            pass
        self.dispatchers.clear()

    def _release_all(self, tx: Tx) -> None:
        for account_id in self.dispatchers:
            queue.release(tx, f"dispatch:{account_id}", self.node_id)

    async def _leases(self) -> None:
        """Hold the dispatch lease of every account we can; start/stop dispatchers accordingly."""
        while True:
            for account in self.accounts.values():
                try:
                    held, fresh = await self.db.write(self._acquire, account.id)
                except Exception:  # noqa: BLE001
                    log.exception("lease renewal failed for %s", account.id)
                    continue
                running = account.id in self._dispatch_tasks
                if held and (fresh or not running):
                    if running:
                        self._stop_dispatcher(account.id)
                    self._start_dispatcher(account)
                elif not held and running:
                    log.warning("lost the dispatch lease of %s", account.id)
                    self._stop_dispatcher(account.id)
            await asyncio.sleep(LEASE_RENEW_S)

    def _acquire(self, tx: Tx, account_id: str) -> tuple[bool, bool]:
        held, fresh = queue.acquire(tx, f"dispatch:{account_id}", self.node_id)
        if fresh:
            n = queue.release_foreign_claims(tx, account_id, self.node_id)
            if n:
                log.info("requeued %d messages claimed by a previous node for %s", n, account_id)
        return held, fresh

    def _start_dispatcher(self, account: Account) -> None:
        self._dispatch_tasks[account.id] = asyncio.create_task(self._dispatch(account), name=f"dispatch:{account.id}")

    async def _dispatch(self, account: Account) -> None:
        connector = self.connector_for(account)
        own = account.connector != "simulator"
        if own:
            await connector.start(self)
        d = Dispatcher(self, account, connector)
        self.dispatchers[account.id] = d
        try:
            await d.run()
        finally:
            if own:
                await d.drain()
                await connector.stop()

    def _stop_dispatcher(self, account_id: str) -> None:
        self.dispatchers.pop(account_id, None)
        t = self._dispatch_tasks.pop(account_id, None)
        if t is not None:
            t.cancel()

    # wake-ups -------------------------------------------------------------------------
    def notify(self, account_id: str) -> None:
        """New work: "" = a new schedule (wake the scheduler), else an account's queue. The
        callback sender is woken too: the change may have queued callbacks (cancel, feedback)."""
        self.callbacks.wake()
        if account_id:
            self.wake_dispatcher(account_id)
        else:
            self.scheduler.wake()

    def wake_dispatcher(self, account_id: str) -> None:
        d = self.dispatchers.get(account_id)
        if d is not None:
            d.wake()

    def wake_callbacks(self) -> None:
        self.callbacks.wake()

    # status changes (the Sink connectors report to) -------------------------------------
    async def apply(self, changes: list[status.Change]) -> None:
        if changes:
            await self.db.write(status.apply, changes, self.clock.now_ms(), self.accounts)
            self.callbacks.wake()

    def apply_receipts(self, tx: Tx, items: list[Receipt], now: int) -> list[int]:
        """Inside a connector's transaction: record carrier outcomes."""
        return status.apply(tx, [status.Change(r.recipient_id, r.status, r.code, r.operator_status_at)
                                 for r in items], now, self.accounts)

    async def receipts(self, items: list[Receipt], also: Callable[[Tx], Any] | None = None) -> None:
        def fn(tx: Tx, now: int) -> None:
            self.apply_receipts(tx, items, now)
            if also is not None:
                also(tx)
        await self.db.write(fn, self.clock.now_ms())
        self.callbacks.wake()

    async def inbound(self, message: Inbound) -> dict | None:
        result = await self.on_inbound(message)
        self.callbacks.wake()
        return result

    # helpers ---------------------------------------------------------------------------
    def parse_doc(self, b) -> dict:
        key = (b.id, b.modified_at)
        doc = self._docs.get(key)
        if doc is None:
            doc = self._docs[key] = json.loads(b.doc)
            if len(self._docs) > 512:
                self._docs.popitem(last=False)
        return doc
