"""The database layer on both backends: migrations, group commit, isolation of failing units."""

from __future__ import annotations

import asyncio

import pytest

from openxms.store import schema
from openxms.store.db import Database


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
