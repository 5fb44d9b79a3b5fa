"""The engine hub: starts the scheduler, the callback sender and one dispatcher per account whose
dispatch lease this node holds, owns the connectors, and is the `Sink` connectors report to.

One engine per process that has `role` all or engine. With several nodes on PostgreSQL every
node runs one; leases (`store/leases.py`) decide which node drains which account's queue, and
the connectors of an account (SMPP binds) live on that node only. Shared connectors (the
simulator) start with the engine on every node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ..clock import Clock
from ..config import Account
from ..connectors.base import Connector, Inbound, Receipt
from ..store import leases, queue
from ..store.db import Database, Tx
from . import status
from .callbacks import CallbackSender, TargetPolicy
from .dispatcher import Dispatcher
from .retention import Retention
from .scheduler import DueWork, Scheduler
from .search_index import SearchIndexer

log = logging.getLogger("openxms.engine")
LEASE_RENEW_S = 3.0
RESTART_S = 1.0  # a failed engine loop is restarted after this
STOP_S = 8.0  # the most `stop()` takes, whatever the loops and connectors are doing
DRAIN_S = 3.0  # of which in-flight chunks get this long to be answered (then they go back to the queue)


def lease_name(account_id: str) -> str:
    return f"dispatch:{account_id}"


def take_lease(tx: Tx, account_id: str, node_id: str) -> tuple[bool, bool]:
    """(held, newly taken) for an account's dispatch lease. On taking it, claims left by other
    (dead) nodes go back to the queue: they may or may not have reached the carrier, and are
    sent again (at least once)."""
    held, fresh = leases.acquire(tx, lease_name(account_id), node_id)
    if fresh:
        n = queue.release_foreign_claims(tx, account_id, node_id)
        if n:
            log.info("requeued %d messages claimed by a previous node for %s", n, account_id)
    return held, fresh


class Engine:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        accounts: Mapping[str, Account],
        node_id: str,
        connector_for: Callable[[Account], Connector],
        on_inbound: Callable[[Inbound], Awaitable[dict[str, Any]]],
        *,
        unknown_after_ms: int,
        callback_timeout: float,
        max_batch_recipients: int = 1_000_000,
        callback_policy: TargetPolicy | None = None,
        due_work: Sequence[DueWork] = (),
        retention_days: float = 0,
        retention_interval: float = 300.0,
        retention_max_messages: int | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.accounts = accounts
        self.node_id = node_id
        self.connector_for = connector_for
        self.on_inbound = on_inbound
        self.callbacks = CallbackSender(db, clock, accounts, node_id, callback_timeout, policy=callback_policy)
        self.scheduler = Scheduler(
            db,
            clock,
            accounts,
            unknown_after_ms,
            self.queue_changed,
            self.callbacks_changed,
            max_batch_recipients,
            due_work,
        )
        self.retention = (
            Retention(db, clock, accounts, retention_days, retention_interval, retention_max_messages)
            if retention_days > 0 or retention_max_messages is not None
            else None
        )
        self.search_index = SearchIndexer(db)
        self.dispatchers: dict[str, Dispatcher] = {}
        self._dispatch_tasks: dict[str, asyncio.Task] = {}
        self._tasks: list[asyncio.Task] = []
        self._shared: dict[int, Connector] = {}
        self.loops: dict[str, str] = {}  # loop name -> "running" | "restarting" (readiness)
        self.restarts: dict[str, int] = {}

    # lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self.db.dialect == "sqlite":
            # One engine per SQLite file: leases of a previous (killed) life are ours to take now.
            await self.db.write(leases.release_all)
        # Whatever this node had claimed in a previous life was interrupted: back to the queue.
        await self.db.write(queue.release_own_claims, self.node_id)
        for account in self.accounts.values():
            c = self.connector_for(account)
            if c.shared and id(c) not in self._shared:
                self._shared[id(c)] = c
                await c.start(self)
        self._tasks = [
            asyncio.create_task(self._supervise(name, run), name=name)
            for name, run in (
                ("scheduler", self.scheduler.run),
                ("callbacks", self.callbacks.run),
                ("leases", self._leases),
                ("search index", self.search_index.run),
                *((("retention", self.retention.run),) if self.retention is not None else ()),
            )
        ]

    async def _supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Run an engine loop for ever: if it ever fails, log it and start it again (readiness
        reports it meanwhile), so one bad row or a database hiccup never stops delivery."""
        while True:
            self.loops[name] = "running"
            try:
                await run()
                log.error("engine loop %s returned; restarting it", name)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - logged, then restarted
                log.exception("engine loop %s failed; restarting it in %g s", name, RESTART_S)
            self.loops[name] = "restarting"
            self.restarts[name] = self.restarts.get(name, 0) + 1
            await asyncio.sleep(RESTART_S)

    def health(self) -> dict[str, Any]:
        """For readiness: every loop's state, and whether all of them run."""
        connectors = {plan: d.connector.status() for plan, d in sorted(self.dispatchers.items())}
        return {
            "ready": all(v == "running" for v in self.loops.values()) and all(c["ready"] for c in connectors.values()),
            "loops": dict(self.loops),
            "restarts": dict(self.restarts),
            "dispatching": sorted(self.dispatchers),
            "connectors": connectors,
        }

    async def stop(self, deadline_s: float = STOP_S) -> None:
        """Stop within `deadline_s`: in-flight chunks get most of it to finish, then everything
        still running is cancelled (repeatedly: a loop caught mid-reconnect may need more than one)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_s
        for t in self._tasks:
            t.cancel()
        drains = [asyncio.ensure_future(d.drain()) for d in self.dispatchers.values()]
        if drains:
            await asyncio.wait(drains, timeout=min(DRAIN_S, max(0.0, end - loop.time() - 2.0)))
        for t in self._dispatch_tasks.values():
            t.cancel()
        await _cancel_until_done(
            [*self._tasks, *self._dispatch_tasks.values(), *drains], max(0.5, end - loop.time() - 1.0)
        )
        stops = [asyncio.ensure_future(c.stop()) for c in self._shared.values()]
        await _cancel_until_done(stops, max(0.5, end - loop.time() - 0.5), cancel_first=False)
        try:
            async with asyncio.timeout(max(0.2, end - loop.time())):
                await self.db.write(_release, list(self.dispatchers), self.node_id)
        except Exception:  # noqa: BLE001 - shutting down: an unreleased lease expires by itself
            pass
        self.dispatchers.clear()

    async def _leases(self) -> None:
        """Hold the dispatch lease of every account we can; start/stop dispatchers accordingly."""
        while True:
            for account in self.accounts.values():
                try:
                    held, fresh = await self.db.write(take_lease, account.id, self.node_id)
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

    def _start_dispatcher(self, account: Account) -> None:
        self._dispatch_tasks[account.id] = asyncio.create_task(self._dispatch(account), name=f"dispatch:{account.id}")

    async def _dispatch(self, account: Account) -> None:
        connector = self.connector_for(account)
        own = not connector.shared
        if own:
            await connector.start(self)
        d = Dispatcher(self.db, self.clock, self.accounts, self.node_id, account, connector, self.callbacks_changed)
        self.dispatchers[account.id] = d
        try:
            await self._supervise(f"dispatch:{account.id}", d.run)
        finally:
            self.loops.pop(f"dispatch:{account.id}", None)
            if own:
                try:
                    async with asyncio.timeout(DRAIN_S):
                        await d.drain()
                finally:
                    await connector.stop()

    def _stop_dispatcher(self, account_id: str) -> None:
        self.dispatchers.pop(account_id, None)
        t = self._dispatch_tasks.pop(account_id, None)
        if t is not None:
            t.cancel()

    # wake-ups (engine/wakeups.py) -------------------------------------------------------
    def queue_changed(self, account_id: str) -> None:
        d = self.dispatchers.get(account_id)
        if d is not None:
            d.wake()

    def schedule_changed(self) -> None:
        self.scheduler.wake()

    def callbacks_changed(self) -> None:
        self.callbacks.wake()

    # the Sink connectors report to (connectors/base.py) ---------------------------------
    def apply_receipts(self, tx: Tx, items: list[Receipt], now: int) -> None:
        status.apply(
            tx,
            [status.Change(r.recipient_id, r.status, r.code, r.operator_status_at) for r in items],
            now,
            self.accounts,
        )

    def receipts_applied(self) -> None:
        self.callbacks.wake()

    async def inbound(self, message: Inbound) -> dict[str, Any]:
        result = await self.on_inbound(message)
        self.callbacks.wake()
        return result


def _release(tx: Tx, account_ids: list[str], node_id: str) -> None:
    for account_id in account_ids:
        leases.release(tx, lease_name(account_id), node_id)


async def _cancel_until_done(tasks: Sequence[asyncio.Future], timeout: float, cancel_first: bool = True) -> None:
    """Wait up to `timeout` s for `tasks`, cancelling what still runs every 0.5 s (after a first
    grace period when `cancel_first` is false)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    pending = {t for t in tasks if not t.done()}
    first = True
    while pending and loop.time() < end:
        if cancel_first or not first:
            for t in pending:
                t.cancel()
        first = False
        _, pending = await asyncio.wait(pending, timeout=min(0.5, max(0.0, end - loop.time())))
    for t in pending:
        log.warning("%s did not stop in time", t.get_name() if isinstance(t, asyncio.Task) else t)
