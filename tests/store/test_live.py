"""Live events between nodes over PostgreSQL LISTEN/NOTIFY (`store/live.py`): two nodes of one
database and schema hear each other, other schemas do not, a lost connection comes back with a
resync, and an oversized payload shrinks to the kinds of its events."""

from __future__ import annotations

import asyncio
import json
import secrets

import psycopg
import pytest

from openxms.live import Live
from openxms.store import live as store_live
from openxms.store import schema
from openxms.store.db import Database

pytestmark = pytest.mark.pg


async def node(url: str, name: str) -> tuple[Live, Database, store_live.PgRelay, list[dict]]:
    db = Database(url)
    await db.start()
    hub, relay, seen = Live(name, window_s=0.01), store_live.PgRelay(db, interval_s=0.01), []
    hub.listeners.add(seen.append)
    await hub.start(relay)
    await asyncio.wait_for(relay.connected.wait(), 5)
    return hub, db, relay, seen


async def until(predicate, timeout: float = 5.0) -> None:
    async def loop():
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(loop(), timeout)


def test_nodes_of_one_schema_hear_each_other_and_no_one_else(pg_url, pg_server_url):
    schema.migrate(Database(pg_url))

    tag = secrets.token_hex(4)  # node names no parallel test run shares
    name_a, name_b = f"a-{tag}", f"b-{tag}"

    async def main():
        a, a_db, _, a_seen = await node(pg_url, name_a)
        b, b_db, b_relay, b_seen = await node(pg_url, name_b)
        other, o_db, _, o_seen = await node(pg_server_url, f"c-{tag}")  # another schema (public)
        try:
            a.publish({"event": "statuses", "count": 2})
            a.publish({"event": "messages", "msisdns": ["12017777777"]})
            await until(lambda: len(b_seen) == 2)
            assert b_seen == [
                {"event": "statuses", "count": 2, "node": name_a},
                {"event": "messages", "msisdns": ["12017777777"], "node": name_a},
            ]
            assert a_seen == [{"event": "statuses", "count": 2}, {"event": "messages", "msisdns": ["12017777777"]}]
            # the listener's connection drops: it comes back, says so, and hears again
            pid = listener_pid(pg_url, name_b)
            with psycopg.connect(pg_server_url, autocommit=True) as c:
                c.execute("SELECT pg_terminate_backend(%s)", (pid,))
            await until(lambda: {"event": "resync"} in b_seen)
            await asyncio.wait_for(b_relay.connected.wait(), 5)
            a.publish({"event": "queued", "count": 1})
            await until(lambda: b_seen[-1] == {"event": "queued", "count": 1, "node": name_a})
            await asyncio.sleep(0.2)
            assert o_seen == []  # another schema's channel
        finally:
            for hub, db in ((a, a_db), (b, b_db), (other, o_db)):
                await hub.stop()
                await db.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def listener_pid(url: str, node: str) -> int:
    """The backend of a node's listener (it names itself in application_name)."""
    with psycopg.connect(url, autocommit=True) as c:
        rows = c.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (f"openxms live {node}",)
        ).fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


def test_a_payload_too_big_for_notify_names_only_the_kinds():
    events = [{"event": "inbound", "text": "x" * 500, "id": str(i)} for i in range(20)] + [{"event": "statuses"}]
    text = store_live.payload("n1", events)
    assert len(text.encode()) <= store_live.MAX_PAYLOAD
    assert json.loads(text) == {"node": "n1", "events": [{"event": "inbound"}, {"event": "statuses"}]}
    small = store_live.payload("n1", [{"event": "queued", "count": 1}])
    assert store_live.parse(small) == ("n1", [{"event": "queued", "count": 1}])
    assert store_live.parse("not json") is None and store_live.parse('{"events": 1}') is None
