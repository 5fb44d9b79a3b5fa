"""Run the bundled SMSC on its own event loop in a thread, for tests of an app that runs on another."""

from __future__ import annotations

import asyncio
import threading

from openxms.connectors.smpp.smsc import Smsc, SmscOptions


class SmscThread:
    def __init__(self, **options) -> None:
        self.options = SmscOptions(port=0, **options)
        self.loop = asyncio.new_event_loop()
        self.smsc = Smsc(self.options)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def call(self, fn, *args):
        """Run fn(*args) on the SMSC's loop and return its result."""

        async def wrapper():
            r = fn(*args)
            return await r if asyncio.iscoroutine(r) else r

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(10)

    def __enter__(self) -> SmscThread:
        self.thread.start()
        self.call(self.smsc.start)
        self.port = self.smsc.port
        return self

    def __exit__(self, *exc) -> None:
        self.call(self.smsc.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Collect:
    """An SmppHandler that keeps what it is given."""

    def __init__(self):
        self.receipts, self.mo = [], []

    def queue_receipt(self, r):
        self.receipts.append(r)
        return None

    async def on_mo(self, m):
        self.mo.append(m)
