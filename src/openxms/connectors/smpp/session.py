"""One SMPP connection, either side: framing, sequence numbers, matching responses to requests,
and answering the peer's requests through a handler.

Requests from the peer are answered by `handler(pdu)`, which returns the response PDU (or
None to send nothing), directly or as an awaitable; awaitables run as tasks so a slow answer
(a receipt being written to the database) never stops the reader.

PDUs written in one turn of the event loop leave in one socket write: a window of submits,
or the responses to a batch of receipts, costs one system call instead of one each.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from . import pdu

log = logging.getLogger("openxms.smpp")
Handler = Callable[[pdu.Pdu], "pdu.Pdu | None | Awaitable[pdu.Pdu | None]"]


class SessionClosed(ConnectionError):
    pass


def _expire(fut: asyncio.Future | Waiter) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


class Waiter:
    """A response waited for by a callback instead of a task: `callback(response or exception)`
    runs in the same loop turn as the read that brought the response (or as the close or the
    timeout). Quacks like the Future `pending` otherwise holds (done / set_result /
    set_exception), so the reader and `close()` treat both alike."""

    __slots__ = ("callback", "timer", "finished")

    def __init__(self, callback: Callable[[pdu.Pdu | BaseException], None]) -> None:
        self.callback = callback
        self.timer: asyncio.TimerHandle | None = None
        self.finished = False

    def done(self) -> bool:
        return self.finished

    def set_result(self, p: pdu.Pdu) -> None:
        self._finish(p)

    def set_exception(self, e: BaseException) -> None:
        self._finish(e)

    def _finish(self, outcome: pdu.Pdu | BaseException) -> None:
        if self.finished:
            return
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
        self.callback(outcome)


class Session:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler, name: str = "smpp"
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.handler = handler
        self.name = name
        self._seq = 0
        self.pending: dict[int, asyncio.Future | Waiter] = {}
        self.closed = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        # the loop time of the last read: while a PDU is dispatched, the read that brought it
        # (the keepalive's idle test and the bundled SMSC's latency timer both count from it)
        self.last_activity = asyncio.get_running_loop().time()
        self.info: dict[str, Any] = {}  # bind state etc., for the owner
        self._out: list[bytes] = []  # encoded PDUs waiting for the end of this loop turn
        self._out_bytes = 0

    def next_seq(self) -> int:
        self._seq = self._seq % 0x7FFFFFFF + 1
        return self._seq

    def write(self, p: pdu.Pdu) -> None:
        if self.closed.is_set():
            raise SessionClosed(f"{self.name}: connection closed")
        data = pdu.encode(p)
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._out.append(data)
        self._out_bytes += len(data)

    def _flush(self) -> None:
        if self._out:
            out, self._out, self._out_bytes = self._out, [], 0
            if not self.writer.is_closing():
                self.writer.write(b"".join(out))

    def send_request(self, p: pdu.Pdu) -> int:
        """Send without waiting for the response (its response is ignored)."""
        p.sequence = self.next_seq()
        self.write(p)
        return p.sequence

    def request_nowait(self, p: pdu.Pdu) -> asyncio.Future:
        """Send a request; the future gets its response, or SessionClosed if the link ends first.

        No timer and no task: the SMSC sends every receipt this way and must know which
        ones the peer never acknowledged."""
        p.sequence = self.next_seq()
        fut = asyncio.get_running_loop().create_future()
        self.write(p)
        self.pending[p.sequence] = fut
        seq = p.sequence
        fut.add_done_callback(lambda _f: self.pending.pop(seq, None))
        return fut

    def request_callback(self, p: pdu.Pdu, timeout: float, callback: Callable[[pdu.Pdu | BaseException], None]) -> None:
        """Send a request; `callback` gets its response, or TimeoutError after `timeout` s, or
        SessionClosed if the link ends first, exactly once. No task, no future: the client's
        window frees a slot and sends the next submit_sm inside the callback."""
        p.sequence = seq = self.next_seq()
        self.write(p)
        pending = self.pending

        def finish(outcome: pdu.Pdu | BaseException) -> None:
            pending.pop(seq, None)
            callback(outcome)

        w = Waiter(finish)
        w.timer = asyncio.get_running_loop().call_later(timeout, _expire, w)
        pending[seq] = w

    async def request(self, p: pdu.Pdu, timeout: float) -> pdu.Pdu:
        """Send a request and wait for its response (or generic_nack)."""
        p.sequence = self.next_seq()
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.pending[p.sequence] = fut
        # A timer handle, not asyncio.wait_for: this is on the path of every submit_sm.
        timer = loop.call_later(timeout, _expire, fut)
        try:
            self.write(p)
            if self._out_bytes + self.writer.transport.get_write_buffer_size() > 1 << 20:
                self._flush()
                await self.writer.drain()
            return await fut
        finally:
            timer.cancel()
            self.pending.pop(p.sequence, None)

    async def run(self) -> None:
        """Read until the connection ends; then fail whatever waits for a response."""
        frames = pdu.FrameBuffer()
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.last_activity = loop.time()
                for raw in frames.feed(data):
                    self._dispatch(raw)
        except (ConnectionError, pdu.PduError, asyncio.IncompleteReadError) as e:
            log.info("%s: connection ended: %s", self.name, e)
        finally:
            self.close()

    def _dispatch(self, raw: bytes) -> None:
        try:
            p = pdu.decode(raw)
        except pdu.PduError as e:
            seq = int.from_bytes(raw[12:16], "big")
            log.warning("%s: malformed PDU: %s", self.name, e)
            self.write(pdu.Pdu(pdu.GENERIC_NACK, seq, pdu.ESME_RINVCMDLEN))
            return
        if p.is_response:
            fut = self.pending.get(p.sequence)
            if fut is not None and not fut.done():
                fut.set_result(p)
            return
        try:
            result = self.handler(p)
        except Exception:  # noqa: BLE001 - a handler bug must not kill the connection
            log.exception("%s: handler failed on %s", self.name, p.name)
            result = pdu.response(p, pdu.ESME_RSYSERR)
        if isinstance(result, asyncio.Future):  # answered when the future is done (no task needed)
            result.add_done_callback(functools.partial(self._answer_future, p))
        elif inspect.isawaitable(result):
            task = asyncio.ensure_future(self._answer_later(p, result))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif result is not None and not self.closed.is_set():
            self.write(result)
        if p.command_id == pdu.UNBIND:  # the peer is leaving: answered above, now hang up
            asyncio.get_running_loop().call_later(0.05, self.close)

    def _answer_future(self, req: pdu.Pdu, f: asyncio.Future) -> None:
        if f.cancelled() or f.exception() is not None:
            if not f.cancelled():
                log.error("%s: handler failed on %s: %s", self.name, req.name, f.exception())
            resp = pdu.response(req, pdu.ESME_RSYSERR)
        else:
            resp = f.result()
        if resp is not None and not self.closed.is_set():
            try:
                self.write(resp)
            except SessionClosed:
                pass

    async def _answer_later(self, req: pdu.Pdu, result: Awaitable) -> None:
        try:
            resp = await result
        except Exception:  # noqa: BLE001
            log.exception("%s: handler failed on %s", self.name, req.name)
            resp = pdu.response(req, pdu.ESME_RSYSERR)
        if resp is not None and not self.closed.is_set():
            try:
                self.write(resp)
            except SessionClosed:
                pass

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for fut in list(self.pending.values()):
            if not fut.done():
                fut.set_exception(SessionClosed(f"{self.name}: connection closed"))
        try:
            self._flush()  # what was answered before the close still leaves
            self.writer.close()
        except Exception:  # noqa: BLE001
            pass
