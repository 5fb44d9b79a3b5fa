"""Live events between the processes of one SQLite file (`store/live.py`, SqliteRelay): each
hears the others' events with their node, not its own twice, nothing from before it started;
the table keeps only the newest notifications, and a process that missed pruned ones is told to
re-read everything."""

from __future__ import annotations

import asyncio

from openxms.live import Live
from openxms.store import live as store_live
from openxms.store import schema
from openxms.store.db import Database


async def node(url: str, name: str) -> tuple[Live, Database, store_live.SqliteRelay, list[dict]]:
    db = Database(url)
    await db.start()
    hub, relay, seen = Live(name, window_s=0.01), store_live.SqliteRelay(db, interval_s=0.01, poll_s=0.01), []
    hub.listeners.add(seen.append)
    await hub.start(relay)
    return hub, db, relay, seen


async def close(hub: Live, db: Database) -> None:
    await hub.stop()
    await db.close()


async def written(db: Database, seq: int) -> None:
    """Until the notification numbered `seq` is in the file."""
    while await db.read(store_live._newest) < seq:
        await asyncio.sleep(0.01)


async def until(predicate, timeout: float = 5.0) -> None:
    async def loop():
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(loop(), timeout)


def test_processes_of_one_file_hear_each_other(tmp_path):
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    schema.migrate(Database(url))

    async def main():
        api, api_db, _, api_seen = await node(url, "api")
        api.publish({"event": "queued", "count": 1})  # before the engine started: not news to it
        await until(lambda: api_seen == [{"event": "queued", "count": 1}])
        await asyncio.wait_for(written(api_db, 1), 5)
        engine, engine_db, _, engine_seen = await node(url, "engine")
        try:
            engine.publish({"event": "messages", "msisdns": ["12017777777"]})
            engine.publish({"event": "receipts", "count": 2})
            await until(lambda: len(api_seen) == 3)
            assert api_seen[1:] == [
                {"event": "messages", "msisdns": ["12017777777"], "node": "engine"},
                {"event": "receipts", "count": 2, "node": "engine"},
            ]
            api.publish({"event": "statuses", "count": 3})
            await until(lambda: len(engine_seen) == 3)
            await asyncio.sleep(0.1)  # several more polls: nothing heard twice, nothing old
            assert engine_seen == [
                {"event": "messages", "msisdns": ["12017777777"]},
                {"event": "receipts", "count": 2},
                {"event": "statuses", "count": 3, "node": "api"},
            ]
            assert api_seen[3:] == [{"event": "statuses", "count": 3}]  # its own, once
        finally:
            await close(engine, engine_db)
            await close(api, api_db)

    asyncio.run(main())


def test_only_the_newest_rows_are_kept_and_a_reader_that_missed_some_resyncs(tmp_path, monkeypatch):
    monkeypatch.setattr(store_live, "LIVE_ROWS", 5)
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    schema.migrate(Database(url))

    async def main():
        writer, writer_db, writer_relay, _ = await node(url, "writer")
        reader, reader_db, reader_relay, reader_seen = await node(url, "reader")
        try:
            writer.publish({"event": "statuses", "count": 1})
            await until(lambda: len(reader_seen) == 1)
            reader_relay.poll_s = 3600.0  # the reader stops reading (its next poll is far off)
            await asyncio.sleep(0.05)
            first = await writer_db.read(store_live._newest)
            for i in range(1, 13):  # each its own notification: the next once it is written
                writer.publish({"event": "statuses", "count": 1})
                await asyncio.wait_for(written(writer_db, first + i), 5)
            rows = await writer_db.read(lambda tx: tx.scalar("SELECT count(*) FROM live_events"))
            assert rows == 5
            # what the reader reads next starts past a gap: it is told to re-read everything
            found = await reader_db.read(store_live._since, reader_relay.cursor)
            assert found and found[0][0] > reader_relay.cursor + 1
            reader_relay._listener.cancel()
            reader_relay.poll_s = 0.01
            reader_relay._listener = asyncio.create_task(reader_relay._listen())
            await until(lambda: len(reader_seen) == 1 + 1 + 5)
            assert reader_seen[1] == {"event": "resync"}
            assert reader_seen[2:] == [{"event": "statuses", "count": 1, "node": "writer"}] * 5
        finally:
            await close(reader, reader_db)
            await close(writer, writer_db)

    asyncio.run(main())


def test_processes_sharing_a_node_id_still_hear_each_other(tmp_path, caplog):
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    schema.migrate(Database(url))

    async def main():
        a, a_db, _, a_seen = await node(url, "node-1")
        b, b_db, _, b_seen = await node(url, "node-1")  # one config file for both processes
        try:
            a.publish({"event": "receipts", "count": 4})
            await until(lambda: b_seen == [{"event": "receipts", "count": 4}])  # without a node
            await asyncio.sleep(0.1)
            assert a_seen == [{"event": "receipts", "count": 4}]  # its own, once
        finally:
            await close(b, b_db)
            await close(a, a_db)

    asyncio.run(main())
    assert "has node id 'node-1' too" in caplog.text
