"""Our ESME against our SMSC: binds, window, throttling, dropped links, receipts, MO, keep-alive."""

from __future__ import annotations

import asyncio
import time

import pytest

from openxms.connectors.smpp import pdu
from openxms.connectors.smpp.client import SmppClient
from openxms.connectors.smpp.config import SmppConfig
from openxms.connectors.smpp.parts import Addressing, References, build
from openxms.connectors.smpp.session import SessionClosed
from openxms.connectors.smpp.smsc import Smsc, SmscOptions

from .smsc_thread import Collect


def messages(n, text="hello", start=0):
    refs = References()
    return [
        f
        for i in range(start, start + n)
        for f in build(f"120188{i:04d}8", "12025550100", text, "text", refs=refs, addr=Addressing())
    ]


async def wait_until(fn, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def pair(smsc_opts: dict | None = None, **cfg):
    smsc = Smsc(SmscOptions(port=0, **(smsc_opts or {})))
    await smsc.start()
    h = Collect()
    conf = {
        "host": "127.0.0.1",
        "port": smsc.port,
        "system_id": "openxms",
        "password": "secret",
        "reconnect_min": 0.05,
        "reconnect_max": 0.2,
        "response_timeout": 2.0,
        **cfg,
    }
    client = SmppClient(SmppConfig(**conf), h)
    await client.start()
    return smsc, client, h


def test_bind_ok_and_bad_credentials():
    async def main():
        smsc, client, _ = await pair()
        assert await client.wait_bound(2)
        await client.stop()
        bad_pw = SmppClient(SmppConfig("127.0.0.1", smsc.port, "openxms", "wrong", reconnect_min=0.05), Collect())
        await bad_pw.start()
        assert not await bad_pw.wait_bound(0.5)
        await bad_pw.stop()
        bad_id = SmppClient(SmppConfig("127.0.0.1", smsc.port, "nobody", "secret", reconnect_min=0.05), Collect())
        await bad_id.start()
        assert not await bad_id.wait_bound(0.5)
        await bad_id.stop()
        assert smsc.stats["bind_failures"] >= 2 and smsc.stats["binds"] == 1
        await smsc.stop()

    run(main())


def test_window_is_respected_and_used():
    async def main():
        smsc, client, _ = await pair({"latency_ms": 50}, window=10)
        assert await client.wait_bound(2)
        t = time.perf_counter()
        res = await client.submit(messages(100))
        dt = time.perf_counter() - t
        assert all(r.status == 0 for r in res if r.message_id) and len(res) == 100
        assert smsc.stats["max_inflight"] == 10  # never more than the window, and the window is filled
        assert dt < 1.0  # 100 / 10 in flight x 50 ms = 0.5 s (stop-and-wait would take 5 s)
        await client.stop()
        await smsc.stop()

    run(main())


def test_smsc_latency_is_never_shorter_than_asked_and_a_closed_link_drops_its_answers():
    async def main():
        smsc, client, _ = await pair({"latency_ms": 40}, window=5)
        assert await client.wait_bound(2)
        loop = asyncio.get_running_loop()
        t = loop.time()
        res = await client.submit(messages(5))
        assert all(r.status == 0 for r in res) and loop.time() - t >= 0.040  # all five in one window
        assert smsc.stats["max_inflight"] == 5
        pending = asyncio.ensure_future(client.submit(messages(3, start=10)))
        await wait_until(lambda: smsc.stats["submits"] == 8)
        for s in list(smsc.sessions):
            s.close()  # the answers' timers still fire, onto a closed link: nothing is written
        await asyncio.gather(pending, return_exceptions=True)  # failed, or sent again on a new bind
        await asyncio.sleep(0.06)
        assert smsc._inflight == 0
        await client.stop()
        await smsc.stop()

    run(main())


def test_parts_leave_in_the_order_they_were_queued_across_calls():
    """FIFO per plan: the window sends from one queue, so submits reach the SMSC in queue order,
    also when several submit() calls are in flight at once (the engine's claimed chunks)."""

    async def main():
        smsc, client, _ = await pair({"latency_ms": 5}, window=10)
        assert await client.wait_bound(2)
        chunks = [messages(25, start=25 * i) for i in range(4)]
        results = await asyncio.gather(*(client.submit(c) for c in chunks))
        assert [len(r) for r in results] == [25] * 4 and all(x.status == 0 for r in results for x in r)
        sent = [p.get("destination_addr") for p in smsc.received]
        assert sent == [f["destination_addr"] for c in chunks for f in c]
        await client.stop()
        await smsc.stop()

    run(main())


def test_a_cancelled_submit_sends_nothing_more_and_stop_fails_what_waits():
    async def main():
        smsc, client, _ = await pair({"latency_ms": 100}, window=2)
        assert await client.wait_bound(2)
        first = asyncio.ensure_future(client.submit(messages(20)))
        await wait_until(lambda: smsc.stats["submits"] >= 2)
        first.cancel()
        assert await client.submit(messages(1, start=50))  # the window goes on for other callers
        assert smsc.stats["submits"] <= 4  # the cancelled call's queued parts were dropped, not sent
        waiting = asyncio.ensure_future(client.submit(messages(10, start=60)))
        await wait_until(lambda: sum(b.inflight for b in client.binds) == 2)
        await client.stop()
        with pytest.raises(SessionClosed):
            await waiting  # never sent, or sent and not answered: the engine queues them again
        await smsc.stop()

    run(main())


def test_throttling_backs_off_and_resubmits():
    async def main():
        smsc, client, _ = await pair({"throttle_every": 5})
        assert await client.wait_bound(2)
        res = await client.submit(messages(20))
        assert sum(1 for r in res if r.status == 0) == 20
        assert client.stats["throttled"] >= 4 and smsc.stats["throttled"] >= 4
        await client.stop()
        await smsc.stop()

    run(main())


def test_dropped_connection_resends_everything_in_flight():
    async def main():
        smsc, client, h = await pair({"drop_after": 25})
        assert await client.wait_bound(2)
        res = await client.submit(messages(100))
        assert len(res) == 100 and all(r.status == 0 and r.message_id for r in res)
        assert smsc.stats["drops"] >= 3 and client.stats["reconnects"] >= 3 and client.stats["resent"] >= 3
        await client.stop()
        await smsc.stop()

    run(main())


def test_permanent_errors_are_returned_not_raised():
    async def main():
        smsc, client, _ = await pair()
        assert await client.wait_bound(2)
        [bad] = await client.submit(build("12010000003", "1202", "x", "text", refs=References(), addr=Addressing()))
        assert bad.message_id is None and bad.status == pdu.ESME_RSUBMITFAIL
        await client.stop()
        await smsc.stop()

    run(main())


def test_receipts_even_when_they_overtake_the_response():
    async def main():
        smsc, client, h = await pair({"receipts_first": True, "id_format": "mixed"})
        assert await client.wait_bound(2)
        res = await client.submit(messages(20))
        await wait_until(lambda: len(h.receipts) == 20)
        resp_ids = {r.message_id for r in res}
        for r in h.receipts:  # decimal in the receipt, hex in the response: matched by id_keys
            assert set(r.keys) & resp_ids
        await client.stop()
        await smsc.stop()

    run(main())


def test_transmitter_receiver_pair_and_mo_concat():
    async def main():
        smsc, client, h = await pair(bind_mode="transmitter_receiver", binds=2)
        await wait_until(lambda: client.bound() == 2)
        assert smsc.stats["binds"] == 4
        await client.submit(messages(4))
        await wait_until(lambda: len(h.receipts) == 4)
        smsc.inject_mo("12017777777", "12025550100", "€uro " * 50)
        await wait_until(lambda: h.mo)
        assert h.mo[0].text == "€uro " * 50 and h.mo[0].parts == 2
        await client.stop()
        await smsc.stop()

    run(main())


def test_enquire_link_both_ways_and_clean_unbind():
    async def main():
        smsc, client, _ = await pair(enquire_link_interval=0.05)
        assert await client.wait_bound(2)
        assert smsc.stats["enquire_links"] == 0
        await wait_until(lambda: smsc.stats["enquire_links"] >= 3)  # an idle bind: the client keeps it alive
        s = next(iter(smsc.sessions))
        resp = await s.request(pdu.Pdu(pdu.ENQUIRE_LINK), 1)  # the SMSC asks too
        assert resp.command_id == pdu.ENQUIRE_LINK | pdu.RESP
        await client.stop()
        await wait_until(lambda: not smsc.sessions)
        assert smsc.stats["unbinds"] == 1 and smsc.stats["binds"] == 1  # unbound, not dropped and rebound
        await smsc.stop()

    run(main())


def test_a_busy_bind_sends_no_enquire_link():
    """SMPP 3.4 section 4.11: enquire_link checks an idle link; traffic already proves it alive."""

    async def main():
        smsc, client, _ = await pair(enquire_link_interval=0.4)
        assert await client.wait_bound(2)
        for i in range(16):  # a submit every 50 ms for 0.8 s: never idle for half the interval
            assert (await client.submit(messages(1, start=i)))[0].status == 0
            await asyncio.sleep(0.05)
        assert smsc.stats["enquire_links"] == 0
        await wait_until(lambda: smsc.stats["enquire_links"] >= 1)  # idle now
        await client.stop()
        await smsc.stop()

    run(main())


def test_smsc_unbind_makes_the_client_rebind():
    async def main():
        smsc, client, _ = await pair()
        assert await client.wait_bound(2)
        s = next(iter(smsc.sessions))
        resp = await s.request(pdu.Pdu(pdu.UNBIND), 1)
        assert resp.command_id == pdu.UNBIND | pdu.RESP
        await wait_until(lambda: smsc.stats["binds"] == 2)
        res = await client.submit(messages(3))
        assert all(r.status == 0 for r in res)
        await client.stop()
        await smsc.stop()

    run(main())


@pytest.mark.parametrize("throughput", [50.0])
def test_throughput_cap(throughput):
    async def main():
        smsc, client, _ = await pair(throughput=throughput)
        assert await client.wait_bound(2)
        t = time.perf_counter()
        await client.submit(messages(30))
        assert time.perf_counter() - t >= (30 - client.bucket.burst) / throughput * 0.9
        await client.stop()
        await smsc.stop()

    run(main())


def test_smsc_sends_unacknowledged_receipts_again_after_rebind():
    """A carrier resends a deliver_sm until it is answered: a receipt lost with a dropped link is not lost."""
    from openxms.connectors.smpp.session import Session

    async def bind(port, handler):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        s = Session(reader, writer, handler, "test-esme")
        asyncio.ensure_future(s.run())
        resp = await s.request(
            pdu.Pdu(
                pdu.BIND_TRANSCEIVER, fields={"system_id": "openxms", "password": "secret", "interface_version": 0x34}
            ),
            2,
        )
        assert resp.status == 0
        return s

    async def main():
        smsc = Smsc(SmscOptions(port=0, receipt_delay_ms=0))
        await smsc.start()
        first, second = [], []
        s1 = await bind(smsc.port, lambda p: first.append(p))  # reads the receipt, never answers it
        f = messages(1)[0]
        f.pop("_tlvs")
        resp = await s1.request(pdu.Pdu(pdu.SUBMIT_SM, fields=f), 2)
        await wait_until(lambda: first)
        s1.close()
        s2 = await bind(smsc.port, lambda p: second.append(p) or pdu.response(p, message_id=""))
        await wait_until(lambda: second)
        assert second[0].tlvs[pdu.TLV_RECEIPTED_MESSAGE_ID].rstrip(b"\0").decode() == resp.get("message_id")
        await wait_until(lambda: smsc.stats["acked"] == 1)  # answered: the SMSC is done with it
        assert len(second) == 1 and smsc.stats["redelivered"] == 1 and not smsc.undelivered
        s2.close()
        await smsc.stop()

    run(main())
