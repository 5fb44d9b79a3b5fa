"""Two engines (two nodes: each its own database connections, writer and simulator) on one
PostgreSQL with four plans: the second one to start gets two plans handed over while they are
being drained, every message goes out once and in order, and when one engine stops the other
takes all four. On SQLite one engine dispatches every plan, as before fair shares."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from openxms.clock import Clock
from openxms.config import Account
from openxms.connectors.outcomes import OutcomeRules
from openxms.connectors.simulator import Simulator
from openxms.engine.engine import Engine
from openxms.store.db import Database

from ..store.rows import add_batch, migrated

PLANS = ["P1", "P2", "P3", "P4"]
RATE = 200.0  # msg/s per plan: a drain of PER_PLAN lasts long enough to be handed over midway
PER_PLAN = 600
DOC = json.dumps({"body": "hello", "from": "12025550100"})


def accounts() -> dict[str, Account]:
    return {p: Account(id=p, token=f"T{p}", rate=RATE) for p in PLANS}


class Handsets(Simulator):
    """The real simulator, noting which recipients this node's engine handed it, per plan."""

    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__(db, clock, OutcomeRules.from_dict({}))
        self.sent: dict[str, list[int]] = {p: [] for p in PLANS}

    async def submit(self, messages):
        for m in messages:
            self.sent[m.account_id].append(m.recipient_id)
        return await super().submit(messages)


def make_engine(url: str, node: str) -> tuple[Engine, Database]:
    db = Database(url)
    clock = Clock()
    sim = Handsets(db, clock)

    async def no_inbound(mo):  # no MO in these tests
        raise AssertionError(mo)

    engine = Engine(
        db, clock, accounts(), node, lambda a: sim, no_inbound, unknown_after_ms=60_000, callback_timeout=5.0
    )
    return engine, db


@contextlib.asynccontextmanager
async def engines(url: str, *names: str):
    """Engines (not started) on their own started databases; all stopped and closed after."""
    made = [make_engine(url, n) for n in names]
    for _, db in made:
        await db.start()
    try:
        yield [e for e, _ in made], made[0][1]
    finally:
        for e, _ in made:
            await e.stop()
        for _, db in made:
            await db.close()


def sent(engine: Engine) -> dict[str, list[int]]:
    """Recipients this engine's simulator was handed, per plan (see Handsets)."""
    return engine.connector_for(accounts()["P1"]).sent  # type: ignore[attr-defined]


def queue_load(db: Database, tag: str, n: int) -> None:
    now = Clock().now_ms()

    def write(tx):
        for p in PLANS:
            add_batch(tx, f"{tag}{p}", [f"1201{i:05d}{p[-1]}8" for i in range(n)], account_id=p, now=now, doc=DOC)

    db.run_sync(write)


def query(db: Database, sql: str) -> list:
    return db.run_sync(lambda tx: tx.all(sql))


async def until(predicate, timeout: float, what: str) -> float:
    """Poll until `predicate()`; the seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def finished(db: Database) -> bool:
    return query(db, "SELECT count(*) AS n FROM recipients WHERE final = 0")[0].n == 0


def check_once_and_in_order(db: Database, total: int) -> None:
    """Every recipient Delivered, claimed exactly once (no resend), one handset copy each, and
    per plan the handsets received them in queue (id) order."""
    assert query(db, "SELECT status, count(*) AS n FROM recipients GROUP BY status") == [("Delivered", total)]
    assert query(db, "SELECT max(attempts) AS m FROM recipients")[0].m == 1
    landed = query(db, "SELECT account_id, recipient_id FROM sim_messages ORDER BY id")
    assert len(landed) == total == len({r.recipient_id for r in landed})
    for p in PLANS:
        order = [r.recipient_id for r in landed if r.account_id == p]
        assert order == sorted(order), f"{p} left out of order"


def test_a_second_engine_gets_half_the_plans_mid_drain_and_the_survivor_takes_all(pg_url):
    migrated(pg_url)

    async def scenario():
        async with engines(pg_url, "node-a", "node-b") as ((a, b), a_db):
            queue_load(a_db, "first", PER_PLAN)
            await a.start()
            await until(lambda: sorted(a.dispatchers) == PLANS, 5, "node-a to dispatch every plan")
            await asyncio.sleep(0.5)
            await b.start()
            took = await until(
                lambda: len(a.dispatchers) == len(b.dispatchers) == 2 and not a.health()["handing_over"],
                6,
                "two plans each",
            )
            assert took < 4  # a pass to see node-b, the drain, a pass for node-b to take them
            assert sorted([*a.dispatchers, *b.dispatchers]) == PLANS
            assert a.health()["live_nodes"] == b.health()["live_nodes"] == 2
            assert a.health()["lease_share"] == 2
            await until(lambda: finished(a_db), 30, "the first load to be delivered")
            check_once_and_in_order(a_db, 4 * PER_PLAN)
            # a handed-over plan: node-a sent its head, node-b its tail, never interleaved
            sent_a, sent_b = sent(a), sent(b)
            for p in PLANS:
                assert len(sent_a[p]) + len(sent_b[p]) == PER_PLAN  # nothing sent twice
            for p in b.dispatchers:
                assert sent_a[p] and sent_b[p], p
                assert max(sent_a[p]) < min(sent_b[p]), p

            # node-b stops: node-a takes its plans at its next pass and delivers what is queued there
            await b.stop()
            await until(lambda: sorted(a.dispatchers) == PLANS, 3, "node-a to take all four")
            queue_load(a_db, "second", 100)
            await until(lambda: finished(a_db), 20, "the second load to be delivered")
            check_once_and_in_order(a_db, 4 * PER_PLAN + 4 * 100)
            assert a.health()["live_nodes"] == 1 and a.health()["lease_share"] == 4

    asyncio.run(scenario())


def test_engines_started_together_split_the_plans_without_a_hand_over(pg_url):
    """Their first pass takes nothing free, so by the second both have beaten: two plans each
    from the start, and no plan is ever sent by both."""
    migrated(pg_url)

    async def scenario():
        async with engines(pg_url, "node-a", "node-b") as ((a, b), a_db):
            queue_load(a_db, "together", 300)
            await asyncio.gather(a.start(), b.start())
            await until(lambda: len(a.dispatchers) == len(b.dispatchers) == 2, 5, "two plans each")
            await until(lambda: finished(a_db), 30, "the load to be delivered")
            check_once_and_in_order(a_db, 4 * 300)
            assert sorted(p for p in PLANS if sent(a)[p]) == sorted(a.dispatchers)
            assert sorted(p for p in PLANS if sent(b)[p]) == sorted(b.dispatchers)

    asyncio.run(scenario())


def test_one_sqlite_engine_dispatches_every_plan_whatever_a_previous_life_left(tmp_path):
    url = f"sqlite:///{tmp_path / 'one.sqlite3'}"
    db = migrated(url)

    def ghost(tx):  # a previous life under another node id: a fresh heartbeat and two leases
        now = Clock().now_ms()
        tx.execute("INSERT INTO nodes (id, seen_at, started_at) VALUES ('ghost', ?, ?)", (now, now))
        for p in ("P1", "P2"):
            tx.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, 'ghost', ?)", (f"dispatch:{p}", now + 60_000)
            )

    db.run_sync(ghost)

    async def scenario():
        async with engines(url, "node-a") as ((engine,), edb):
            queue_load(edb, "only", 200)
            await engine.start()
            await until(lambda: sorted(engine.dispatchers) == PLANS, 3, "every plan dispatched")
            assert engine.health()["live_nodes"] == 1
            await until(lambda: finished(edb), 20, "the load to be delivered")
            check_once_and_in_order(edb, 4 * 200)

    asyncio.run(scenario())
