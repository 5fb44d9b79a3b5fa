"""Live events between the nodes of one PostgreSQL database (`live.py` says what they are).

Each node NOTIFYs what happened on it and LISTENs for the others'
(https://www.postgresql.org/docs/current/sql-notify.html). The channel is named after the
database and schema, so deployments (or test runs) sharing a server in other schemas never hear
each other. A node's notifications go through its writer, at most one every `INTERVAL_S` while
events come in, each with the events gathered meanwhile: NOTIFY is transactional and briefly
serialises commits, so it is kept off the hot path and bounded. A notification is a hint (the
page re-reads the API), so one lost with a dropped connection costs nothing that the
`resync` after reconnecting does not repair.

The processes of one SQLite file (`--role api` beside `--role engine`, docs/architecture.md
"Processes") have no NOTIFY: `SqliteRelay` writes each notification as a row of `live_events`
and reads the others' rows every `POLL_S`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import Any

from ..live import Live, merge
from .db import Database, Tx

log = logging.getLogger("openxms.live")

INTERVAL_S = 0.1
MAX_PAYLOAD = 7900  # bytes; PostgreSQL's limit is 8000 with the default configuration
RECONNECT_S = (0.5, 10.0)  # the listener's back-off after losing its connection: first, most
POLL_S = 0.25  # SQLite: how often a process reads the others' events
LIVE_ROWS = 1000  # SQLite: the newest notifications kept (a minute and more at one per INTERVAL_S)


def channel(tx: Tx) -> str:
    """This database's and schema's channel: `openxms_` and 16 hex digits (a plain identifier)."""
    return "openxms_" + tx.scalar("SELECT substr(md5(current_database() || '/' || current_schema()), 1, 16)")


def notify(tx: Tx, name: str, payload: str) -> None:
    tx.execute("SELECT pg_notify(?, ?)", (name, payload))


def payload(node: str, events: list[dict]) -> str:
    """The notification: `{"node", "events"}` under MAX_PAYLOAD (else the events by kind only)."""
    text = json.dumps({"node": node, "events": events}, separators=(",", ":"), default=str)
    if len(text.encode()) <= MAX_PAYLOAD:
        return text
    kinds = list(dict.fromkeys(str(e.get("event")) for e in events))
    return json.dumps({"node": node, "events": [{"event": k} for k in kinds]}, separators=(",", ":"))


def parse(text: str) -> tuple[str | None, list[dict]] | None:
    """(node, events) of a notification, None if it is not one of ours."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        return None
    node = data.get("node")
    return (node if isinstance(node, str) else None), [e for e in data["events"] if isinstance(e, dict)]


class _Relay:
    """What both relays share: this node's events written at most one notification every
    `interval_s` (`_notify`, in a write transaction), the others' handed to `Live.receive`
    by a listener task (`_listen`)."""

    def __init__(self, db: Database, interval_s: float = INTERVAL_S) -> None:
        self.db = db
        self.interval_s = interval_s
        self.live: Live | None = None
        self.connected = asyncio.Event()  # the listener hears the others (tests wait for it)
        self._out: list[dict] = []
        self._sender: asyncio.Task | None = None
        self._listener: asyncio.Task | None = None

    async def start(self, live: Live) -> None:
        self.live = live
        await self._prepare()
        self._listener = asyncio.create_task(self._listen(), name="live-listener")

    async def _prepare(self) -> None:
        """Before the listener starts."""

    def _notify(self, tx: Tx, text: str) -> None:
        raise NotImplementedError

    async def _listen(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        for task in (self._sender, self._listener):
            if task is not None:
                task.cancel()
        for task in (self._sender, self._listener):
            if task is not None:
                try:
                    await task
                except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping
                    pass
        self._sender = self._listener = None

    # out ------------------------------------------------------------------------------
    def send(self, events: list[dict]) -> None:
        self._out.extend(events)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send(), name="live-notify")

    async def _send(self) -> None:
        assert self.live is not None
        while self._out:
            events, self._out = merge(self._out), []
            try:
                await self.db.write(self._notify, payload(self.live.node, events))
            except Exception as e:  # noqa: BLE001 - the other nodes miss a hint; the next one goes
                log.warning("could not notify the other nodes: %s", e)
            await asyncio.sleep(self.interval_s)

    def _receive(self, node: str | None, events: list[dict[str, Any]]) -> None:
        if self.live is not None:
            self.live.receive(node, events)


class PgRelay(_Relay):
    """Several nodes on one PostgreSQL: NOTIFY on this database's and schema's channel, and a
    connection of its own that LISTENs."""

    channel = ""

    async def _prepare(self) -> None:
        self.channel = await self.db.read(channel)

    def _notify(self, tx: Tx, text: str) -> None:
        notify(tx, self.channel, text)

    async def _listen(self) -> None:
        import psycopg

        delay, first = RECONNECT_S[0], True
        while True:
            try:
                assert self.live is not None
                conn = await psycopg.AsyncConnection.connect(
                    self.db.url, autocommit=True, application_name=f"openxms live {self.live.node}"[:63]
                )
                async with conn:
                    await conn.execute(f"LISTEN {self.channel}")  # ours: openxms_ + hex digits
                    self.connected.set()
                    if not first:  # what the others said meanwhile was not heard
                        self._receive(None, [{"event": "resync"}])
                    first, delay = False, RECONNECT_S[0]
                    async for n in conn.notifies():
                        found = parse(n.payload)
                        if found is not None:
                            self._receive(*found)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - the database restarting, a network hiccup
                log.warning("live events from other nodes: %s; reconnecting in %g s", e, delay)
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_S[1])


class SqliteRelay(_Relay):
    """The processes of one SQLite file: a notification is a row of `live_events`, read by the
    others every `poll_s` from a cursor (`seq`). SQLite commits one writer at a time and
    AUTOINCREMENT never reuses a number, so rows become visible in `seq` order: a reader that
    finds the row after its cursor missing has lost rows to the pruning (it did not read for
    LIVE_ROWS notifications) and announces a resync, as a reconnected PostgreSQL listener does.

    A process skips its own rows by `origin`, a token of its own, not by node id: processes
    started with one config file may share a `node_id`, and would then hear nothing of each
    other. Their events are passed on without a node (and a warning says to tell them apart)."""

    def __init__(self, db: Database, interval_s: float = INTERVAL_S, poll_s: float = POLL_S) -> None:
        super().__init__(db, interval_s)
        self.poll_s = poll_s
        self.cursor = 0
        self.origin = secrets.token_hex(8)
        self._warned = False

    async def _prepare(self) -> None:
        # What was said before this process started is not news to it.
        self.cursor = await self.db.read(_newest)

    def _notify(self, tx: Tx, text: str) -> None:
        assert self.live is not None
        tx.execute("INSERT INTO live_events (origin, payload) VALUES (?, ?)", (self.origin, text))
        seq = tx.scalar("SELECT last_insert_rowid()")
        tx.execute("DELETE FROM live_events WHERE seq <= ?", (seq - LIVE_ROWS,))

    async def _listen(self) -> None:
        self.connected.set()
        failing = False
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                rows = await self.db.read(_since, self.cursor)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - the file busy or gone: try again next poll
                if not failing:
                    log.warning("live events from other processes: %s", e)
                failing = True
                continue
            failing = False
            if rows and self.cursor and rows[0][0] != self.cursor + 1:
                self._receive(None, [{"event": "resync"}])  # some were missed: re-read it all
            for seq, origin, text in rows:
                self.cursor = seq
                found = parse(text) if origin != self.origin else None
                if found is not None:
                    self._receive_other(*found)

    def _receive_other(self, node: str | None, events: list[dict[str, Any]]) -> None:
        assert self.live is not None
        if node == self.live.node:  # another process with our node id: its events, unlabelled
            if not self._warned:
                log.warning("another process on this database has node id %r too; give each its own node_id", node)
                self._warned = True
            node = None
        self._receive(node, events)


def _newest(tx: Tx) -> int:
    return int(tx.scalar("SELECT coalesce(max(seq), 0) FROM live_events"))


def _since(tx: Tx, cursor: int) -> list[tuple[int, str, str]]:
    """(seq, origin, payload) of the notifications after `cursor`, oldest first (a poll reads
    at most LIVE_ROWS)."""
    rows = tx.all(
        "SELECT seq, origin, payload FROM live_events WHERE seq > ? ORDER BY seq LIMIT ?", (cursor, LIVE_ROWS)
    )
    return [(int(r.seq), str(r.origin), str(r.payload)) for r in rows]
