import asyncio
import threading

import pytest

from openxms.clock import ManualClock


def test_manual_clock_wakes_sleepers_when_moved_from_another_thread():
    clock = ManualClock(1_000)

    async def main():
        sleeper = asyncio.create_task(clock.wait(6_000))
        await asyncio.sleep(0.01)
        threading.Thread(target=clock.advance, args=(5_000,)).start()
        await asyncio.wait_for(sleeper, 2)
        assert clock.now_ms() == 6_000

    asyncio.run(main())


def test_manual_clock_never_goes_back():
    clock = ManualClock(1_000)
    with pytest.raises(ValueError):
        clock.set(999)
    with pytest.raises(ValueError):
        clock.advance(-1)
