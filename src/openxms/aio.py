"""Small asyncio helpers used across the server.

`asyncio.wait_for` on Python 3.11 can swallow a cancellation that arrives while the awaited
thing completes (the task then keeps running after `cancel()`: shutdown hangs). These use
`asyncio.timeout`, which re-raises the cancellation.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until `event` is set or `timeout` s passed; whether it was set."""
    if event.is_set():
        return True
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
        return True
    except TimeoutError:
        return False
