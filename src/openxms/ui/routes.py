"""The simulator's web UI: one static page, its scripts and style, and a live event stream.

`GET /simulator/events` is Server-Sent Events: every live event of this node and of the other
nodes or processes of its database (`live.py`: messages queued, statuses changed, inbounds, messages landed on
handsets, receipts, replies) as a JSON `data:` line, and a `: ping` comment every 15 s so
proxies keep the connection open. Each client has a bounded queue: a client too slow to keep
up loses events rather than holding memory or slowing delivery down, and is told so by one
`{"event": "overflow", "dropped": n}` once it catches up (the page re-reads the API on every
event anyway). The listener is removed as soon as the client disconnects.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

STATIC = Path(__file__).parent / "static"
CACHE = "public, max-age=60"
# The page loads nothing but our own script and style; user content never becomes markup.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

PING_S = 15.0
QUEUE_SIZE = 256


def _static(name: str, media_type: str, extra: dict[str, str] | None = None):
    path = STATIC / name

    async def endpoint(request: Request) -> Response:
        # Read per request (a few kB): an edited file shows up without a restart.
        headers = {"Cache-Control": CACHE, "X-Content-Type-Options": "nosniff", **(extra or {})}
        # HEAD: the server sends the headers (with the length) and drops the body.
        return Response(path.read_bytes(), media_type=media_type, headers=headers)

    endpoint.__name__ = "ui_" + name.replace(".", "_")
    return endpoint


class EventStream:
    """An ASGI response streaming the events of `source` (anything with a `listeners` set: the
    node's `Live`) until the client goes away."""

    def __init__(
        self, source: Any, ping_s: float | None = None, queue_size: int | None = None, stop: asyncio.Event | None = None
    ) -> None:
        self.source = source
        self.stop = stop  # set when the server shuts down: the stream then ends at once
        self.ping_s = PING_S if ping_s is None else ping_s
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE if queue_size is None else queue_size)
        self.dropped = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def listener(self, event: dict) -> None:
        """Called by the source; never blocks, never raises."""
        loop = self._loop
        if loop is None:
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._put(event)
            return
        try:  # from another thread: hand it over to the stream's loop
            loop.call_soon_threadsafe(self._put, event)
        except RuntimeError:
            pass  # that loop is closed: the stream is over

    def _put(self, event: dict) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1  # a slow client misses events; it is told once it catches up

    def _data(self, event: dict) -> bytes:
        return b"data: " + json.dumps(event, separators=(",", ":"), default=str).encode() + b"\n\n"

    async def __call__(self, scope, receive, send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache, no-store"),
                    (b"x-accel-buffering", b"no"),  # nginx: do not buffer the stream
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        self._loop = asyncio.get_running_loop()
        if self.source is not None:
            self.source.listeners.add(self.listener)
        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        stopper = asyncio.ensure_future(self.stop.wait()) if self.stop is not None else None
        waiting = {watcher} if stopper is None else {watcher, stopper}
        getter: asyncio.Future | None = None
        try:
            # `retry`: how long EventSource waits before reconnecting after the stream drops.
            await send({"type": "http.response.body", "body": b"retry: 2000\n: connected\n\n", "more_body": True})
            while True:
                if getter is None:
                    getter = asyncio.ensure_future(self.queue.get())
                done, _ = await asyncio.wait(
                    {getter, *waiting}, timeout=self.ping_s, return_when=asyncio.FIRST_COMPLETED
                )
                if watcher in done:
                    return
                if stopper in done:  # shutting down: end the response, the browser reconnects later
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
                if getter in done:
                    chunk = self._data(getter.result())
                    getter = None
                    if self.dropped and self.queue.empty():
                        chunk += self._data({"event": "overflow", "dropped": self.dropped})
                        self.dropped = 0
                else:
                    chunk = b": ping\n\n"
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except OSError:
            return  # the server reports a write to a closed connection (client gone)
        finally:
            if self.source is not None:
                self.source.listeners.discard(self.listener)
            self._loop = None
            for task in (watcher, stopper, getter):
                if task is not None:
                    task.cancel()


async def _wait_disconnect(receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def close_streams(ctx: Any) -> None:
    """End every open `/simulator/events` stream of this app (call on its loop, at shutdown).

    Browsers keep the stream open for ever, so without this a server shutting down waits for
    its graceful-shutdown timeout and then cancels them.
    """
    ctx.streams_closed.set()


async def events(request: Request) -> EventStream:
    ctx = request.app.state.ctx
    return EventStream(ctx.live, stop=ctx.streams_closed)


routes = [
    Route(
        "/",
        _static(
            "index.html", "text/html; charset=utf-8", {"Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer"}
        ),
        methods=["GET"],
    ),
    Route("/ui/app.js", _static("app.js", "text/javascript; charset=utf-8"), methods=["GET"]),
    Route("/ui/conv.js", _static("conv.js", "text/javascript; charset=utf-8"), methods=["GET"]),
    Route("/ui/messages.js", _static("messages.js", "text/javascript; charset=utf-8"), methods=["GET"]),
    Route("/ui/batches.js", _static("batches.js", "text/javascript; charset=utf-8"), methods=["GET"]),
    Route("/ui/callbacks.js", _static("callbacks.js", "text/javascript; charset=utf-8"), methods=["GET"]),
    *(
        Route(f"/ui/{name}", _static(name, "text/javascript; charset=utf-8"), methods=["GET"])
        for name in ("inbounds.js", "groups.js", "rules.js", "system.js")
    ),
    Route("/ui/nav.js", _static("nav.js", "text/javascript; charset=utf-8"), methods=["GET"]),
    Route("/ui/notify.js", _static("notify.js", "text/javascript; charset=utf-8"), methods=["GET"]),
    Route("/ui/app.css", _static("app.css", "text/css; charset=utf-8"), methods=["GET"]),
    Route("/simulator/events", events, methods=["GET"]),
]
