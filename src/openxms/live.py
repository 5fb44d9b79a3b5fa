"""Live events for the web UI, on every node: what changed, as hints (the page re-reads the API).

Events come from the write transactions that make the changes (`Tx.emit`, announced once they
commit: messages queued, statuses changed, inbounds received) and from the handset simulator
(messages landed, receipts, replies). `Live` gathers what is published within `WINDOW_S` into
one event per kind (counts summed, numbers merged) and hands it to its listeners (the
`/simulator/events` streams, `ui/routes.py`), and, with several nodes on one database, to a
relay that passes it on to the other nodes (`store/live.py`: LISTEN/NOTIFY on PostgreSQL, a
table on SQLite, where an API and an engine process may share a file). What arrives from
another node is handed to the listeners with its `node`; a relay that lost its connection
announces `{"event": "resync"}` once it is back (what happened meanwhile was not relayed: the
page re-reads everything).

Publishing never blocks and never raises: it may be called from the writer thread, and a UI
that cannot keep up must not slow delivery down.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("openxms.live")

WINDOW_S = 0.05  # events published within this long go out as one
MAX_NUMBERS = 50  # numbers an event names; more: it names none ("re-read them all")
MAX_INBOUNDS = 20  # inbound events passed on one by one per window (each may notify)


class Relay(Protocol):
    """Passes events to the other nodes and theirs to `Live.receive` (store/live.py: PgRelay, SqliteRelay)."""

    async def start(self, live: Live) -> None: ...

    async def stop(self) -> None: ...

    def send(self, events: list[dict]) -> None:
        """Take this node's events (never blocks)."""
        ...


def merge(events: list[dict]) -> list[dict]:
    """One event per kind, in the order the kinds first came: `count`s summed, `msisdns`
    merged (dropped past MAX_NUMBERS: the event then means "any number"); `inbound` events
    are kept one by one (the page may notify each), the ones past MAX_INBOUNDS as a count."""
    out: dict[str, dict] = {}
    inbounds: list[dict] = []
    extra = 0
    for e in events:
        kind = str(e.get("event"))
        if kind == "inbound":
            if len(inbounds) < MAX_INBOUNDS:
                inbounds.append(e)
            else:
                extra += 1
            continue
        seen = out.get(kind)
        if seen is None:
            out[kind] = {k: (list(v) if k == "msisdns" else v) for k, v in e.items()}
            continue
        if "count" in seen or "count" in e:
            seen["count"] = int(seen.get("count", 0)) + int(e.get("count", 0))
        if "msisdns" in seen:
            if "msisdns" in e:
                seen["msisdns"] = list(dict.fromkeys([*seen["msisdns"], *e["msisdns"]]))
            if "msisdns" not in e or len(seen["msisdns"]) > MAX_NUMBERS:
                del seen["msisdns"]  # any number: no need to gather them any more
    for e in out.values():
        if len(e.get("msisdns", ())) > MAX_NUMBERS:
            del e["msisdns"]
    merged = list(out.values()) + inbounds
    if extra:
        merged.append({"event": "inbound", "more": extra})
    return merged


class Live:
    """This node's live events: `publish` from anywhere, `listeners` receive them on the loop."""

    def __init__(self, node: str, window_s: float = WINDOW_S) -> None:
        self.node = node
        self.window_s = window_s
        self.listeners: set[Callable[[dict], None]] = set()
        self.relay: Relay | None = None
        self._pending: list[dict] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False

    async def start(self, relay: Relay | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self.relay = relay
        if relay is not None:
            await relay.start(self)

    async def stop(self) -> None:
        self._loop = None  # what is published from now on is dropped
        relay, self.relay = self.relay, None
        if relay is not None:
            await relay.stop()

    # publishing -------------------------------------------------------------------------
    def publish(self, event: dict) -> None:
        self.publish_many([event])

    def publish_many(self, events: list[dict]) -> None:
        """Thread-safe; the events go out within `window_s`, merged."""
        loop = self._loop
        if loop is None or not events:
            return  # not started (or stopped): nobody to tell
        with self._lock:
            self._pending.extend(events)
            if self._scheduled:
                return
            self._scheduled = True
        try:
            loop.call_soon_threadsafe(loop.call_later, self.window_s, self._flush)
        except RuntimeError:  # the loop is closed: shutting down
            pass

    def _flush(self) -> None:
        with self._lock:
            events, self._pending, self._scheduled = self._pending, [], False
        events = merge(events)
        self._deliver(events)
        if self.relay is not None:
            try:
                self.relay.send(events)
            except Exception:  # noqa: BLE001 - the other nodes miss a hint, nothing more
                log.exception("relaying live events failed")

    # from other nodes -------------------------------------------------------------------
    def receive(self, node: str | None, events: list[dict]) -> None:
        """Events from another node (`node`; None: from the relay itself), on the loop."""
        if node == self.node:
            return
        self._deliver([{**e, "node": node} if node is not None else e for e in events])

    def _deliver(self, events: list[dict[str, Any]]) -> None:
        for e in events:
            for fn in list(self.listeners):
                try:
                    fn(e)
                except Exception:  # noqa: BLE001 - a broken listener must not stop the others
                    log.exception("live event listener failed")
