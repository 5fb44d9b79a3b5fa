"""The database layer on both backends: migrations, group commit, isolation of failing units."""

from __future__ import annotations

import asyncio

import pytest

from openxms.store import schema
from openxms.store.db import Database, Tx


def test_migrations_apply_once(database_url):
    db = Database(database_url)
    assert schema.migrate(db) == [name for name, _ in schema.MIGRATIONS]
    assert schema.migrate(db) == []
    assert db.run_sync(lambda tx: tx.scalar("SELECT count(*) FROM schema_migrations")) == len(schema.MIGRATIONS)


def _insert(tx, key, value):
    tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
    return key


def _insert_then_fail(tx, key):
    tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, "doomed"))
    raise ValueError("business rule says no")


def test_group_commit_isolates_a_failing_unit(database_url):
    db = Database(database_url)
    schema.migrate(db)

    async def main():
        await db.start()
        try:
            futs = [db.write(_insert, f"k{i}", "v") for i in range(50)]
            futs.insert(25, db.write(_insert_then_fail, "bad"))
            futs.append(db.write(_insert, "k0", "duplicate key"))  # a database error, also isolated
            results = await asyncio.gather(*futs, return_exceptions=True)
            assert isinstance(results[25], ValueError)
            assert isinstance(results[-1], Exception)
            assert [r for r in results if isinstance(r, str)] == [f"k{i}" for i in range(50)]
            rows = await db.read(lambda tx: tx.all("SELECT key FROM meta ORDER BY key"))
            assert sorted(r[0] for r in rows) == sorted(f"k{i}" for i in range(50))
        finally:
            await db.close()

    asyncio.run(main())


def _insert_and_emit(tx, key, fail=False):
    tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, "v"))
    tx.emit({"event": "wrote", "key": key})
    if fail:
        raise ValueError("no")


def test_what_a_unit_emits_is_announced_once_committed_and_dropped_with_it(database_url):
    announced: list[list[dict]] = []
    db = Database(database_url, on_commit=lambda events: announced.append(list(events)))
    schema.migrate(db)
    assert announced == []  # start-up work announces nothing

    async def main():
        await db.start()
        try:
            futs = [db.write(_insert_and_emit, f"e{i}", i == 3) for i in range(6)]
            await asyncio.gather(*futs, return_exceptions=True)
            await db.write(_insert_and_emit, "alone")
            r = await asyncio.gather(db.write(_insert_and_emit, "alone-bad", True), return_exceptions=True)
            assert isinstance(r[0], ValueError)
            await db.read(lambda tx: tx.emit({"event": "read"}))  # a read announces nothing
        finally:
            await db.close()

    asyncio.run(main())
    keys = [e["key"] for events in announced for e in events]
    assert sorted(keys) == ["alone", "e0", "e1", "e2", "e4", "e5"]  # not the failed units'


class _Grouped:
    """A grouped unit of work: one multi-row INSERT for all its keys; records each call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, tx, keys):
        self.calls.append(list(keys))
        tx.values("INSERT INTO meta (key, value) VALUES {values}", [(k, "grouped") for k in keys])
        return [f"ok {k}" for k in keys]


def _run(database_url, body, on_commit=None) -> None:
    """`body(db)` against a started, migrated database."""
    db = Database(database_url, on_commit=on_commit)
    schema.migrate(db)

    async def main():
        await db.start()
        try:
            await body(db)
        finally:
            await db.close()

    asyncio.run(main())


def test_grouped_units_run_as_one_call_in_submission_order(database_url):
    fn = _Grouped()

    async def body(db):
        keys = [f"g{i:02}" for i in range(40)]
        futs = [db.write_grouped(fn, k) for k in keys[:20]]
        futs.append(db.write(_insert, "plain", "v"))  # a plain unit among them runs too
        futs += [db.write_grouped(fn, k) for k in keys[20:]]
        results = await asyncio.gather(*futs)
        assert results == [f"ok {k}" for k in keys[:20]] + ["plain"] + [f"ok {k}" for k in keys[20:]]
        # The writer may take the first unit before the others are queued; the rest share calls.
        assert len(fn.calls) < 10
        assert [k for call in fn.calls for k in call] == keys
        stored = await db.read(lambda tx: tx.all("SELECT key FROM meta WHERE key LIKE 'g%' OR key = 'plain'"))
        assert sorted(r.key for r in stored) == sorted([*keys, "plain"])

    _run(database_url, body)


def test_a_failing_grouped_unit_fails_alone(database_url):
    """One unit's error (here a duplicate key, found by the database) spoils the shared call:
    every unit then runs again alone, so only the bad one fails and the others are written once."""
    fn = _Grouped()

    async def body(db):
        await db.write(_insert, "taken", "v")
        keys = [f"h{i:02}" for i in range(30)]
        keys.insert(15, "taken")
        results = await asyncio.gather(*[db.write_grouped(fn, k) for k in keys], return_exceptions=True)
        assert isinstance(results[15], Exception)
        assert [r for i, r in enumerate(results) if i != 15] == [f"ok {k}" for k in keys if k != "taken"]
        assert ["taken"] in fn.calls  # it ran alone after the shared call failed
        stored = await db.read(lambda tx: tx.all("SELECT key, value FROM meta WHERE key LIKE 'h%'"))
        assert sorted(r.key for r in stored) == sorted(k for k in keys if k != "taken")
        assert await db.read(lambda tx: tx.scalar("SELECT value FROM meta WHERE key = 'taken'")) == "v"

    _run(database_url, body)


def _grouped_emit(tx, keys):
    for k in keys:
        tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (k, "v"))
        tx.emit({"event": "wrote", "key": k})
    return keys


def test_a_shared_call_that_fails_announces_only_what_its_units_did_alone(database_url):
    announced: list[dict] = []

    async def body(db):
        await db.write(_insert, "x03", "taken")
        keys = [f"x{i:02}" for i in range(8)]
        await asyncio.gather(*[db.write_grouped(_grouped_emit, k) for k in keys], return_exceptions=True)

    _run(database_url, body, on_commit=announced.extend)
    assert sorted(e["key"] for e in announced) == [f"x{i:02}" for i in range(8) if i != 3]


def test_read_sees_committed_writes_and_sql_placeholders_with_percent(database_url):
    db = Database(database_url)
    schema.migrate(db)

    async def main():
        await db.start()
        try:
            await db.write(_insert, "pct", "100%")
            got = await db.read(
                lambda tx: tx.scalar("SELECT value FROM meta WHERE value LIKE '%' || ? || '%'", ("0%",))
            )
            assert got == "100%"
        finally:
            await db.close()

    asyncio.run(main())


@pytest.mark.parametrize("n", [0, 1, 127, 128, 300])
def test_values_runs_every_row_in_few_statement_shapes(database_url, n):
    """Tx.values: 300 rows go as 128 + 128 + 32 + 8 + 4, and each row lands exactly once."""
    db = Database(database_url)
    schema.migrate(db)
    seen: list[str] = []

    class Spy:  # the cursor, counting statements
        def __init__(self, cur):
            self.cur = cur

        def execute(self, sql, params=()):
            seen.append(sql)
            return self.cur.execute(sql, params)

    def insert(tx):
        Tx(Spy(tx.cur), tx.dialect).values(
            "INSERT INTO meta (key, value) VALUES {values}", [(f"v{i:03d}", str(i)) for i in range(n)]
        )

    db.run_sync(insert)
    rows = db.run_sync(lambda tx: tx.all("SELECT key, value FROM meta WHERE key LIKE 'v%' ORDER BY key"))
    assert [(r.key, r.value) for r in rows] == [(f"v{i:03d}", str(i)) for i in range(n)]
    shapes = {0: [], 1: [1], 127: [64, 32, 16, 8, 4, 2, 1], 128: [128], 300: [128, 128, 32, 8, 4]}
    assert [s.count("(?,?)") + s.count("(%s,%s)") for s in seen] == shapes[n]


@pytest.mark.parametrize(
    "url,path",
    [
        ("sqlite:///data/x.db", "data/x.db"),
        ("sqlite:////tmp/x.db", "/tmp/x.db"),
        ("sqlite:x.db", "x.db"),
        ("/abs/y.sqlite3", "/abs/y.sqlite3"),
    ],
)
def test_sqlite_urls(url, path):
    from openxms.store.db import sqlite_path

    assert str(sqlite_path(url)) == path


def test_a_read_left_mid_result_does_not_pin_its_connection_to_an_old_snapshot(database_url):
    """A read that stops after its first row and raises (its cursor kept alive by the
    exception's traceback, as asyncio's reference cycles keep them until the collector runs)
    must not leave its connection reading the database as it was: on SQLite an unfinished
    statement holds its read snapshot past COMMIT, and the UI's next reads on that connection
    saw nothing written since (a callback's attempts, once)."""
    db = Database(database_url, readers=1)
    schema.migrate(db)
    kept = []

    def stop_after_one_row(tx):
        tx.one("SELECT key FROM meta")  # more rows follow: the statement stays unfinished
        raise LookupError("stop")

    async def main():
        await db.start()
        try:
            await db.write(_insert, "a", "1")
            await db.write(_insert, "b", "2")
            try:
                await db.read(stop_after_one_row)
            except LookupError as e:
                kept.append(e)  # its traceback holds the read's frame, and so its cursor
            await db.write(_insert, "c", "3")
            got = await db.read(lambda tx: tx.scalar("SELECT value FROM meta WHERE key = 'c'"))
            assert got == "3"
        finally:
            await db.close()

    asyncio.run(main())
