"""Live events between the nodes of one PostgreSQL database (`live.py` says what they are).

Each node NOTIFYs what happened on it and LISTENs for the others'
(https://www.postgresql.org/docs/current/sql-notify.html). The channel is named after the
database and schema, so deployments (or test runs) sharing a server in other schemas never hear
each other. A node's notifications go through its writer, at most one every `INTERVAL_S` while
events come in, each with the events gathered meanwhile: NOTIFY is transactional and briefly
serialises commits, so it is kept off the hot path and bounded. A notification is a hint (the
page re-reads the API), so one lost with a dropped connection costs nothing that the
`resync` after reconnecting does not repair.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from ..live import Live, merge
from .db import Database, Tx

log = logging.getLogger("openxms.live")

INTERVAL_S = 0.1
MAX_PAYLOAD = 7900  # bytes; PostgreSQL's limit is 8000 with the default configuration
RECONNECT_S = (0.5, 10.0)  # the listener's back-off after losing its connection: first, most


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


class PgRelay:
    """Sends this node's events to the others and hands theirs to `Live.receive`."""

    def __init__(self, db: Database, interval_s: float = INTERVAL_S) -> None:
        self.db = db
        self.interval_s = interval_s
        self.live: Live | None = None
        self.channel = ""
        self.connected = asyncio.Event()  # the listener is LISTENing (tests wait for it)
        self._out: list[dict] = []
        self._sender: asyncio.Task | None = None
        self._listener: asyncio.Task | None = None

    async def start(self, live: Live) -> None:
        self.live = live
        self.channel = await self.db.read(channel)
        self._listener = asyncio.create_task(self._listen(), name="live-listener")

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
                await self.db.write(notify, self.channel, payload(self.live.node, events))
            except Exception as e:  # noqa: BLE001 - the other nodes miss a hint; the next one goes
                log.warning("could not notify the other nodes: %s", e)
            await asyncio.sleep(self.interval_s)

    # in -------------------------------------------------------------------------------
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

    def _receive(self, node: str | None, events: list[dict[str, Any]]) -> None:
        if self.live is not None:
            self.live.receive(node, events)
