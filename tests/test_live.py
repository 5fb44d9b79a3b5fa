"""`live.py`: events gathered per window and merged per kind, published from any thread, and
what another node sends handed on with its node (its own left out)."""

from __future__ import annotations

import asyncio
import threading

from openxms import live
from openxms.live import Live, merge


def test_merge_sums_counts_joins_numbers_and_keeps_inbounds_one_by_one():
    got = merge(
        [
            {"event": "statuses", "count": 2},
            {"event": "messages", "msisdns": ["1", "2"]},
            {"event": "inbound", "id": "a"},
            {"event": "statuses", "count": 3},
            {"event": "messages", "msisdns": ["2", "3"]},
            {"event": "resync"},
            {"event": "resync"},
        ]
    )
    assert got == [
        {"event": "statuses", "count": 5},
        {"event": "messages", "msisdns": ["1", "2", "3"]},
        {"event": "resync"},
        {"event": "inbound", "id": "a"},
    ]
    # an event that names no numbers means any number: the merged one names none either
    assert merge([{"event": "messages", "msisdns": ["1"]}, {"event": "messages"}]) == [{"event": "messages"}]
    many = merge([{"event": "messages", "msisdns": [str(i)]} for i in range(live.MAX_NUMBERS + 1)])
    assert many == [{"event": "messages"}]
    inbounds = merge([{"event": "inbound", "id": str(i)} for i in range(live.MAX_INBOUNDS + 5)])
    assert len(inbounds) == live.MAX_INBOUNDS + 1 and inbounds[-1] == {"event": "inbound", "more": 5}
    first = {"event": "messages", "msisdns": ["1"]}
    merge([first, {"event": "messages", "msisdns": ["2"]}])
    assert first == {"event": "messages", "msisdns": ["1"]}  # the published events are left alone


class Relay:
    def __init__(self):
        self.sent: list[list[dict]] = []
        self.started = self.stopped = False

    async def start(self, live):
        self.started = True

    async def stop(self):
        self.stopped = True

    def send(self, events):
        self.sent.append(events)


def test_events_from_any_thread_go_out_merged_once_per_window_and_to_the_relay():
    async def main():
        hub, relay, seen = Live("node-a", window_s=0.02), Relay(), []
        hub.publish({"event": "statuses", "count": 1})  # before start: nobody to tell, dropped
        await hub.start(relay)
        hub.listeners.add(seen.append)
        threads = [
            threading.Thread(target=hub.publish_many, args=([{"event": "statuses", "count": 1}] * 10,))
            for _ in range(5)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        hub.publish({"event": "messages", "msisdns": ["12017777777"]})
        await asyncio.sleep(0.1)
        assert seen == [{"event": "statuses", "count": 50}, {"event": "messages", "msisdns": ["12017777777"]}]
        assert relay.sent == [seen]
        # another node's events: handed on with its node; this node's own (echoed back): not
        hub.receive("node-b", [{"event": "statuses", "count": 2}])
        hub.receive("node-a", [{"event": "statuses", "count": 9}])
        hub.receive(None, [{"event": "resync"}])
        assert seen[2:] == [{"event": "statuses", "count": 2, "node": "node-b"}, {"event": "resync"}]
        assert relay.sent == [seen[:2]]  # what came from others is not sent on again

        def broken(event):
            raise RuntimeError("listener bug")

        hub.listeners.add(broken)
        hub.receive("node-b", [{"event": "queued", "count": 1}])  # the others still get it
        assert seen[-1] == {"event": "queued", "count": 1, "node": "node-b"}
        await hub.stop()
        assert relay.stopped
        hub.publish({"event": "statuses", "count": 1})  # stopped: dropped, no error

    asyncio.run(asyncio.wait_for(main(), 10))
