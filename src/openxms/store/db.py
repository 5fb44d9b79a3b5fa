"""One database interface over SQLite (embedded default) and PostgreSQL.

Queries are plain functions `fn(tx, *args)` written once with `?` placeholders; `Tx`
rewrites them for psycopg. Units of work run on threads because both drivers are
synchronous (stdlib sqlite3 is 3-4x faster than aiosqlite per small query, and psycopg's
sync API keeps one code path for both databases).

Writes go through a single writer thread per process that practises *group commit*: it
takes every unit of work queued while the previous transaction was committing, runs each in
its own SAVEPOINT (one failing unit does not spoil the others), and commits them together.
SQLite allows one writer anyway; batching commits is what makes thousands of small durable
writes per second possible. Units submitted with `write_grouped` go further: those of one
function queued together run as one call over all their arguments (one multi-row INSERT per
table instead of statements and a SAVEPOINT per unit). Reads run on a small pool of threads with their own connections
(WAL lets them read while the writer writes).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import sqlite3
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from .. import metrics
from .checkpoint import Checkpointer
from .write_lock import WriteLock

log = logging.getLogger("openxms.store")
T = TypeVar("T")
MAX_GROUP = 512  # units of work per commit

# A result row: a named tuple whose fields are the columns the SQL selected (`r.status`), so
# its type is only known from the query text; callers read the fields they selected.
Row = Any


@lru_cache(maxsize=1024)
def _row_type(names: tuple[str, ...]) -> Any:
    return namedtuple("Row", names, rename=True)


_last_type: tuple[Any, Any] = ((), tuple)
_new = tuple.__new__


def _sqlite_row(cursor: sqlite3.Cursor, row: tuple) -> Row:
    """Rows as named tuples (`r.status`), like psycopg's `namedtuple_row`: queries read columns
    by name, and positional access still works. The cursor keeps one description object per
    statement, so the row type is looked up once per result, not once per row."""
    global _last_type
    desc = cursor.description
    seen, cls = _last_type
    if seen is not desc:
        cls = _row_type(tuple(d[0] for d in desc))
        _last_type = (desc, cls)
    return _new(cls, row)  # what namedtuple._make does, minus its Python-level call and length check


VALUES_CHUNK = 128


class Tx:
    """A cursor with the few helpers the queries need, dialect-aware. Rows are named tuples on
    both databases."""

    __slots__ = ("cur", "dialect", "_pg", "events")

    def __init__(self, cur: Any, dialect: str, events: list | None = None) -> None:
        self.cur = cur
        self.dialect = dialect
        self._pg = dialect == "postgresql"
        self.events = events

    def emit(self, event: dict) -> None:
        """Announce `event` (the web UI's live stream, `live.py`) once this write commits; it is
        dropped with the unit of work if that fails. Reads and start-up work announce nothing."""
        if self.events is not None:
            self.events.append(event)

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self.cur.execute(_pg_sql(sql) if self._pg else sql, params)

    def executemany(self, sql: str, rows: Any) -> None:
        self.cur.executemany(_pg_sql(sql) if self._pg else sql, rows)

    def all(self, sql: str, params: Any = ()) -> list[Row]:
        self.execute(sql, params)
        return self.cur.fetchall()

    def one(self, sql: str, params: Any = ()) -> Row | None:
        self.execute(sql, params)
        return self.cur.fetchone()

    def scalar(self, sql: str, params: Any = (), default: Any = None) -> Any:
        row = self.one(sql, params)
        return default if row is None else row[0]

    @property
    def rowcount(self) -> int:
        return self.cur.rowcount

    def in_list(self, values: list) -> str:
        """`(?,?,?)` for an IN clause (SQLite has no arrays)."""
        return "(" + ",".join("?" * len(values)) + ")"

    def values(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[Row]:
        """Run `sql`, in which `{values}` stands for a VALUES list, over all `rows` (all of one
        width): a few statements of many rows each instead of executemany's one step of the
        statement per row (on SQLite 1.2-3 us a row instead of 1.6-3.8 in the writer, where the
        engine spends its time). Chunks of `VALUES_CHUNK` rows, the rest in power-of-two chunks,
        so one `sql` has at most 8 shapes to prepare and keep in the connection's statement
        cache; 128 rows x 16 columns stays far below SQLite's 32,766 parameters. Returns what a
        `RETURNING` clause gives, chunk after chunk (rows are inserted in the list's order)."""
        out: list[Row] = []
        if not rows:
            return out
        width = len(rows[0])
        one = "(" + ",".join("?" * width) + ")"
        start, n = 0, len(rows)
        while start < n:
            size = VALUES_CHUNK if n - start >= VALUES_CHUNK else 1 << ((n - start).bit_length() - 1)
            chunk = rows[start : start + size]
            cur = self.execute(sql.replace("{values}", ",".join([one] * size)), [x for row in chunk for x in row])
            if cur.description is not None:
                out += cur.fetchall()
            start += size
        return out


_PG_CACHE: dict[str, str] = {}
_QMARK = re.compile(r"\?")


def _pg_sql(sql: str) -> str:
    out = _PG_CACHE.get(sql)
    if out is None:
        out = _PG_CACHE[sql] = _QMARK.sub("%s", sql.replace("%", "%%"))
    return out


class Database:
    """Async facade: `await db.write(fn, ...)`, `await db.read(fn, ...)`."""

    def __init__(
        self,
        url: str,
        *,
        readers: int = 3,
        sqlite_synchronous: str = "NORMAL",
        on_commit: Callable[[list[dict]], None] | None = None,
    ) -> None:
        self.url = url
        # Called on the writer thread with what a committed transaction's units emitted (Tx.emit).
        self.on_commit = on_commit
        self.dialect = dialect_of(url)
        if self.dialect == "sqlite":
            self.path = sqlite_path(url)
        self._sync = sqlite_synchronous
        self._readers = readers
        self._writer: _Writer | None = None
        self._checkpointer: Checkpointer | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._read_conns: list[Any] = []
        self._lock = threading.Lock()
        self.write_lock = WriteLock(self.path if self.dialect == "sqlite" else None)  # write_lock.py

    # connections -------------------------------------------------------------------
    def connect(self) -> Any:
        if self.dialect == "sqlite":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # statements are prepared once per connection and kept: IN lists and VALUES lists of
            # several lengths are distinct statements, more than the default cache of 128 holds
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30, cached_statements=512
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._sync}")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA cache_size=-65536")
            conn.row_factory = _sqlite_row
            return conn
        import psycopg
        from psycopg.rows import namedtuple_row

        from openxms.store import pgarray

        pg = psycopg.connect(self.url, autocommit=True, row_factory=namedtuple_row)
        pgarray.register(pg)  # lists as array literals: 10-80 us per 1000 instead of ~0.8 ms
        return pg

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")

    # lifecycle ---------------------------------------------------------------------
    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one unit of work in its own transaction on a fresh connection (start-up tasks)."""
        conn = self.connect()
        try:
            self._begin(conn)
            try:
                result = fn(Tx(conn.cursor(), self.dialect), *args)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result
        finally:
            conn.close()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.dialect == "sqlite":
            self._checkpointer = Checkpointer(self.connect)
            self._checkpointer.start()
        self._writer = _Writer(self, loop, self._checkpointer)
        self._writer.start()
        self._pool = ThreadPoolExecutor(self._readers, thread_name_prefix="openxms-read")

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._writer.stop)
            self._writer = None
        if self._checkpointer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._checkpointer.stop)
            self._checkpointer = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.write_lock.close()
        with self._lock:
            for c in self._read_conns:
                try:
                    c.close()
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass
            self._read_conns.clear()

    # work --------------------------------------------------------------------------
    def write(self, fn: Callable[..., T], *args: Any) -> asyncio.Future:
        """Run `fn(tx, *args)` in a (group-committed) write transaction."""
        assert self._writer is not None, "database not started"
        return self._writer.submit(fn, args)

    def write_grouped(self, fn: Callable[[Tx, list[Any]], list[T]], arg: Any) -> asyncio.Future:
        """Run `arg`'s unit of work in a write transaction together with the other units of
        the same `fn` queued beside it: one call `fn(tx, [arg, ...])` returning one result per
        argument, in order. For units that are cheap apart from their statements (a one-row
        send), so that a commit group of them costs one multi-row INSERT per table instead of
        statements and a SAVEPOINT per unit. If the call raises, each unit runs again alone
        (`fn(tx, [arg])`, in its own SAVEPOINT), so one bad unit fails only itself."""
        assert self._writer is not None, "database not started"
        return self._writer.submit(fn, (arg,), grouped=True)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._pool is not None, "database not started"
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._read, fn, args)

    def _read(self, fn: Callable[..., T], args: tuple) -> T:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.connect()
            with self._lock:
                self._read_conns.append(conn)
        try:
            self._begin_read(conn)
            cur = conn.cursor()
            try:
                return fn(Tx(cur, self.dialect), *args)
            finally:
                # Closed here, not when the cursor is collected: on SQLite a statement left
                # mid-result (tx.one over several rows) keeps its read snapshot past COMMIT,
                # and a cursor kept alive by an exception's traceback would leave every later
                # read on this connection seeing the database as it was then.
                cur.close()
                conn.execute("COMMIT")
        except Exception as e:
            if self.dialect == "postgresql" and _is_disconnect(e):
                self._local.conn = None
            raise

    def _begin_read(self, conn: Any) -> None:
        conn.execute("BEGIN" if self.dialect == "sqlite" else "BEGIN READ ONLY")


def _is_disconnect(e: Exception) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(e, psycopg.OperationalError)


def newest_first(tx: Tx, plans: list[str], before: tuple[int, str] | None, time_col: str) -> tuple[list[str], list]:
    """The conditions (and their arguments) of a page of a web UI list ordered newest first by
    (`time_col`, id): rows of these plans (all when none), older than `before` (the last shown)."""
    where: list[str] = []
    args: list = []
    if plans:
        where.append(f"account_id IN {tx.in_list(plans)}")
        args += plans
    if before is not None:
        where.append(f"({time_col} < ? OR ({time_col} = ? AND id < ?))")
        args += [before[0], before[0], before[1]]
    return where, args


def dialect_of(url: str) -> str:
    """ "postgresql" for a `postgresql://` or `postgres://` URL, else "sqlite" (a file)."""
    return "postgresql" if url.startswith(("postgresql://", "postgres://")) else "sqlite"


def sqlite_path(url: str) -> Path:
    """`sqlite:///rel.db`, `sqlite:////abs.db` (SQLAlchemy's convention), `sqlite:x.db` or a path."""
    for prefix in ("sqlite:///", "sqlite://", "sqlite:"):
        if url.startswith(prefix):
            return Path(url[len(prefix) :])
    return Path(url)


class _Writer(threading.Thread):
    """The single writer: drains the queue, runs a group of units, commits once."""

    def __init__(self, db: Database, loop: asyncio.AbstractEventLoop, checkpointer: Checkpointer | None) -> None:
        super().__init__(name="openxms-writer", daemon=True)
        self.db = db
        self.loop = loop
        self.checkpointer = checkpointer  # SQLite: copies the log back off this thread (checkpoint.py)
        self.q: queue.SimpleQueue = queue.SimpleQueue()
        self.conn: Any = None

    def submit(self, fn: Callable, args: tuple, grouped: bool = False) -> asyncio.Future:
        fut = self.loop.create_future()
        self.q.put((fn, args, fut, grouped))
        return fut

    def stop(self) -> None:
        self.q.put(None)
        self.join()

    def run(self) -> None:
        stopping = False
        while not stopping:
            item = self.q.get()
            if item is None:
                break
            group = [item]
            while len(group) < MAX_GROUP:
                try:
                    nxt = self.q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                group.append(nxt)
            self._run_group(group)
        if self.conn is not None:
            self.conn.close()

    def _run_group(self, group: list) -> None:
        started = time.perf_counter()
        with self.db.write_lock:
            results = self._attempt(group)
        if results is None:  # whole transaction failed (connection lost, deadlock): retry once
            self.conn = None
            with self.db.write_lock:
                results = self._attempt(group)
            if results is None:
                results = [(fut, None, self._last_error) for _, _, fut, _ in group]
        metrics.DB_COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.DB_GROUP_SIZE.observe(len(group))
        self.loop.call_soon_threadsafe(_resolve, results)

    _last_error: BaseException | None = None

    def _attempt(self, group: list) -> list | None:
        results: list[tuple[asyncio.Future, Any, BaseException | None]] = []
        events: list[dict] | None = [] if self.db.on_commit is not None else None
        try:
            if self.conn is None:
                self.conn = self.db.connect()
            conn = self.conn
            tx = Tx(conn.cursor(), self.db.dialect, events)
            self.db._begin(conn)
            steps = _steps(group)
            if len(steps) == 1 and len(steps[0]) == 1:
                fn, args, fut, grouped = steps[0][0]
                try:
                    value = fn(tx, list(args))[0] if grouped else fn(tx, *args)
                except Exception as e:  # noqa: BLE001 - handed to the awaiting coroutine
                    conn.execute("ROLLBACK")
                    return [(fut, None, e)]
                results.append((fut, value, None))
            else:
                for step in steps:
                    if len(step) == 1 or not self._together(conn, tx, step, results):
                        for unit in step:
                            self._alone(conn, tx, unit, results)
            conn.execute("COMMIT")
            if self.checkpointer is not None:
                self.checkpointer.committed()
            if events and self.db.on_commit is not None:
                try:
                    self.db.on_commit(events)
                except Exception:  # noqa: BLE001 - an announcement must never fail a commit
                    log.exception("announcing committed changes failed")
            return results
        except Exception as e:  # noqa: BLE001
            log.warning("write transaction failed: %s", e)
            self._last_error = e
            try:
                if self.conn is not None:
                    self.conn.execute("ROLLBACK")
            except Exception:  # noqa: BLE001
                self.conn = None
            return None

    @staticmethod
    def _alone(conn: Any, tx: Tx, unit: tuple, results: list) -> None:
        fn, args, fut, grouped = unit
        mark = len(tx.events) if tx.events is not None else 0
        conn.execute("SAVEPOINT unit")
        try:
            value = fn(tx, list(args))[0] if grouped else fn(tx, *args)
        except Exception as e:  # noqa: BLE001
            conn.execute("ROLLBACK TO SAVEPOINT unit")
            conn.execute("RELEASE SAVEPOINT unit")
            results.append((fut, None, e))
            if tx.events is not None:
                del tx.events[mark:]  # what the failed unit announced did not happen
        else:
            conn.execute("RELEASE SAVEPOINT unit")
            results.append((fut, value, None))

    @staticmethod
    def _together(conn: Any, tx: Tx, step: list, results: list) -> bool:
        """Run a step of grouped units as one call; False (rolled back) if it raised."""
        mark = len(tx.events) if tx.events is not None else 0
        conn.execute("SAVEPOINT units")
        try:
            values = step[0][0](tx, [unit[1][0] for unit in step])
            if len(values) != len(step):
                raise TypeError(f"{step[0][0]!r} returned {len(values)} results for {len(step)} units")
        except Exception:  # noqa: BLE001 - each unit runs again alone and gets its own error
            conn.execute("ROLLBACK TO SAVEPOINT units")
            conn.execute("RELEASE SAVEPOINT units")
            if tx.events is not None:
                del tx.events[mark:]
            return False
        conn.execute("RELEASE SAVEPOINT units")
        results += [(unit[2], value, None) for unit, value in zip(step, values, strict=True)]
        return True


def _steps(group: list) -> list[list]:
    """The group in the order it runs: each unit a step of its own, except grouped units of
    one function, which join the step of the first of them (in submission order). Moving a
    unit before others of its group is safe: none of them has completed (they commit
    together), so this order is one their callers could have seen; units of one function
    keep their order (a plan's FIFO)."""
    steps: list[list] = []
    together: dict[Any, list] = {}
    for unit in group:
        if unit[3]:
            step = together.get(unit[0])
            if step is not None:
                step.append(unit)
                continue
            step = together[unit[0]] = []
            step.append(unit)
            steps.append(step)
        else:
            steps.append([unit])
    return steps


def _resolve(results: list) -> None:
    for fut, value, error in results:
        if fut.done():
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(value)
