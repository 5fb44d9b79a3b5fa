"""The engine hub: starts the scheduler, the callback sender and one dispatcher per account whose
dispatch lease this node holds, owns the connectors, and is the `Sink` connectors report to.

One engine per process that has `role` all or engine. With several nodes on PostgreSQL every
node runs one; leases decide which node drains which account's queue, each node holding at most
its fair share of them (`leasing.py`: the rule, `store/leases.py`: the race), and the
connectors of an account (SMPP binds) live on that node only. Shared connectors (the simulator)
start with the engine on every node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ..clock import Clock
from ..config import Account
from ..connectors.base import Connector, Inbound, Receipt
from ..store.db import Database, Tx
from . import leasing, status
from .callbacks import CallbackSender, TargetPolicy
from .dispatcher import Dispatcher
from .retention import Retention
from .scheduler import DueWork, Scheduler
from .search_index import SearchIndexer

log = logging.getLogger("openxms.engine")
RESTART_S = 1.0  # a failed engine loop is restarted after this
STOP_S = 8.0  # the most `stop()` takes, whatever the loops and connectors are doing
DRAIN_S = 3.0  # of which in-flight chunks get this long to be answered (then they go back to the queue)
HAND_OVER_S = 10.0  # a plan handed to another node: its in-flight chunks get this long to finish


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
        self._hand_overs: dict[str, asyncio.Task] = {}  # accounts being handed to another node
        self.leases: leasing.Pass | None = None  # the last lease pass (readiness shows it)
        self._tasks: list[asyncio.Task] = []
        self._shared: dict[int, Connector] = {}
        self.loops: dict[str, str] = {}  # loop name -> "running" | "restarting" (readiness)
        self.restarts: dict[str, int] = {}

    # lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        # One engine per SQLite file: leases of a previous (killed) life are ours to take now.
        # Whatever this node had claimed in a previous life was interrupted: back to the queue.
        await self.db.write(leasing.join, self.node_id, self.db.dialect == "sqlite")
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

    async def _supervise(
        self, name: str, run: Callable[[], Awaitable[None]], until: Callable[[], bool] = lambda: False
    ) -> None:
        """Run an engine loop for ever (or until `until()`): if it ever fails, log it and start it
        again (readiness reports it meanwhile), so one bad row or a database hiccup never stops
        delivery."""
        while True:
            self.loops[name] = "running"
            try:
                await run()
                if until():
                    return
                log.error("engine loop %s returned; restarting it", name)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - logged, then restarted
                if until():
                    return
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
            "handing_over": sorted(self._hand_overs),
            "live_nodes": self.leases.live if self.leases else None,
            "lease_share": self.leases.share if self.leases else None,
            "connectors": connectors,
        }

    async def stop(self, deadline_s: float = STOP_S) -> None:
        """Stop within `deadline_s`: in-flight chunks get most of it to finish, then everything
        still running is cancelled (repeatedly: a loop caught mid-reconnect may need more than one)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_s
        for t in [*self._tasks, *self._hand_overs.values()]:
            t.cancel()
        drains = [asyncio.ensure_future(d.drain()) for d in self.dispatchers.values()]
        if drains:
            await asyncio.wait(drains, timeout=min(DRAIN_S, max(0.0, end - loop.time() - 2.0)))
        for t in self._dispatch_tasks.values():
            t.cancel()
        await _cancel_until_done(
            [*self._tasks, *self._hand_overs.values(), *self._dispatch_tasks.values(), *drains],
            max(0.5, end - loop.time() - 1.0),
        )
        stops = [asyncio.ensure_future(c.stop()) for c in self._shared.values()]
        await _cancel_until_done(stops, max(0.5, end - loop.time() - 0.5), cancel_first=False)
        try:
            async with asyncio.timeout(max(0.2, end - loop.time())):
                await self.db.write(leasing.leave, list(self.accounts), self.node_id)
        except Exception:  # noqa: BLE001 - shutting down: an unreleased lease expires by itself
            pass
        self.dispatchers.clear()

    async def _leases(self) -> None:
        """Hold a fair share of the dispatch leases (`leasing.py`); start, stop and hand over
        dispatchers accordingly."""
        order = sorted(self.accounts)
        # On PostgreSQL the first pass beats and renews but takes nothing free: nodes started
        # together (compose up, a redeploy) have all beaten by the second pass and split the
        # plans at once, instead of the first one up taking them all and handing half over
        # (Kafka waits for the same reason: group.initial.rebalance.delay.ms,
        # https://kafka.apache.org/documentation/#brokerconfigs_group.initial.rebalance.delay.ms).
        # A node restarted with its id renews its own leases in that first pass.
        taking = self.db.dialect == "sqlite"
        while True:
            try:
                p = await self.db.write(leasing.balance, self.node_id, order, frozenset(self._hand_overs), None, taking)
            except Exception:  # noqa: BLE001 - e.g. the database restarting: the next pass retries
                log.exception("lease pass failed")
            else:
                self._follow(p)
                taking = True
            await asyncio.sleep(leasing.TICK_S)

    def _follow(self, p: leasing.Pass) -> None:
        """Make the dispatchers running here match a lease pass."""
        if self.leases is None or (p.live, p.share) != (self.leases.live, self.leases.share):
            log.info("%d engine node(s) live: this one dispatches at most %d plan(s)", p.live, p.share)
        self.leases = p
        for account_id in p.surplus:
            if account_id not in self._hand_overs:
                self._hand_overs[account_id] = asyncio.create_task(
                    self._hand_over(account_id), name=f"hand over:{account_id}"
                )
        held, fresh = set(p.held), set(p.fresh)
        for account in self.accounts.values():
            if account.id in self._hand_overs:
                continue
            running = account.id in self._dispatch_tasks
            if account.id in held and (account.id in fresh or not running):
                if running:  # lost and taken again meanwhile: others' claims were requeued
                    self._stop_dispatcher(account.id)
                self._start_dispatcher(account)
            elif account.id not in held and running:
                log.warning("lost the dispatch lease of %s", account.id)
                self._stop_dispatcher(account.id)

    async def _hand_over(self, account_id: str) -> None:
        """Give an account's queue to another node without a gap or an overlap: stop claiming, let
        the chunks in flight be submitted and recorded (up to HAND_OVER_S, then they are cut short
        and sent again by the next holder: at least once), then requeue what is still claimed and
        delete the lease, together. The lease is renewed meanwhile (it is still held)."""
        try:
            d = self.dispatchers.get(account_id)
            task = self._dispatch_tasks.get(account_id)
            loop = asyncio.get_running_loop()
            end = loop.time() + HAND_OVER_S
            if d is not None:
                d.close()
            if task is not None:
                await asyncio.wait([task], timeout=HAND_OVER_S)
            if d is not None and not await d.drain(max(0.0, end - loop.time())):
                log.warning("handing %s over: chunks still in flight after %g s are cut short", account_id, HAND_OVER_S)
                await d.abort()
            self._stop_dispatcher(account_id)
            if task is not None:
                await _cancel_until_done([task], 2.0)
            n = await self.db.write(leasing.hand_over, account_id, self.node_id)
            log.info("handed %s over to another node (fair share; %d claims requeued)", account_id, n)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the lease is still ours; the next pass decides again
            log.exception("handing %s over failed", account_id)
        finally:
            self._hand_overs.pop(account_id, None)

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
            await self._supervise(f"dispatch:{account.id}", d.run, lambda: d.closing)
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
            [status.Change(r.recipient_id, r.status, r.code, r.operator_status_at, r.parts, r.encoding) for r in items],
            now,
            self.accounts,
        )

    def receipts_applied(self) -> None:
        self.callbacks.wake()

    async def inbound(self, message: Inbound) -> dict[str, Any]:
        result = await self.on_inbound(message)
        self.callbacks.wake()
        return result


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
