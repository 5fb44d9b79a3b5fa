"""Our client and our SMSC share a codec, so a bug could cancel out between them. Each is
tested here against an implementation nobody here wrote: smpplib and aiosmpplib as clients
of our SMSC, smpp34's client too, and smpp34's server as the SMSC for our client. smpp34
runs in subprocesses because it can crash at interpreter exit."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import smpplib.client
import smpplib.consts
import smpplib.smpp

from openxms.connectors.smpp import pdu, receipts
from openxms.connectors.smpp.client import SmppClient
from openxms.connectors.smpp.config import SmppConfig
from openxms.connectors.smpp.parts import Addressing, References, build

from .smsc_thread import Collect, SmscThread

HERE = Path(__file__).parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_our_submit_sm_bytes_equal_smpplib_bytes():
    ours = pdu.encode(
        pdu.Pdu(
            pdu.SUBMIT_SM,
            7,
            fields={
                "source_addr_ton": 1,
                "source_addr_npi": 1,
                "source_addr": "12025550100",
                "dest_addr_ton": 1,
                "dest_addr_npi": 1,
                "destination_addr": "12017777777",
                "registered_delivery": 1,
                "data_coding": 0,
                "short_message": b"hello",
            },
        )
    )
    theirs = smpplib.smpp.make_pdu(
        "submit_sm",
        client=None,
        sequence=7,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="12025550100",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="12017777777",
        registered_delivery=1,
        data_coding=0,
        short_message=b"hello",
    ).generate()
    assert ours[:12] == theirs[:12] and ours[16:] == theirs[16:]  # smpplib numbers sequences itself
    back = pdu.decode(theirs)
    assert back.get("destination_addr") == "12017777777" and back.get("short_message") == b"hello"


def test_smpplib_client_against_our_smsc():
    got = []
    with SmscThread(users={"lib": "pw"}) as sim:
        c = smpplib.client.Client("127.0.0.1", sim.port, allow_unknown_opt_params=True)
        c.set_message_received_handler(lambda pdu: got.append(pdu))
        c.connect()
        try:
            c.bind_transceiver(system_id="lib", password="pw")
            sent = c.send_message(
                source_addr_ton=1,
                source_addr_npi=1,
                source_addr="12025550100",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr="12017777777",
                short_message=b"hi from smpplib",
                registered_delivery=1,
            )
            deadline = time.monotonic() + 5
            while not got and time.monotonic() < deadline:
                c.read_once()
            c.unbind()
        finally:
            c.disconnect()
        assert sim.smsc.received[0].get("short_message") == b"hi from smpplib"
    receipt = got[0]
    assert int(receipt.esm_class) & 0x04
    text = receipt.short_message.decode()
    assert "stat:DELIVRD" in text and sent.sequence


def test_aiosmpplib_client_against_our_smsc():
    import aiosmpplib
    from aiosmpplib.broker import SimpleBroker

    class Hook(aiosmpplib.AbstractHook):
        def __init__(self):
            self.messages = []

        async def sending(self, smpp_message, pdu, client_id):
            pass

        async def received(self, smpp_message, pdu, client_id):
            if smpp_message is not None:
                self.messages.append(smpp_message)

        async def send_error(self, smpp_message, error, client_id):
            pass

    with SmscThread(users={"aio": "pw"}) as sim:

        async def main():
            hook, broker = Hook(), SimpleBroker()
            esme = aiosmpplib.ESME(
                smsc_host="127.0.0.1",
                smsc_port=sim.port,
                system_id="aio",
                password="pw",
                hook=hook,
                broker=broker,
                log_level="WARNING",
            )
            await broker.enqueue(
                aiosmpplib.SubmitSm(
                    short_message="hi from aiosmpplib",
                    log_id="m1",
                    source=aiosmpplib.PhoneNumber("12025550100"),
                    destination=aiosmpplib.PhoneNumber("12017777777"),
                )
            )
            task = asyncio.create_task(esme.start())
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not any(isinstance(m, aiosmpplib.DeliverSm) for m in hook.messages):
                await asyncio.sleep(0.05)
            await esme.stop()
            task.cancel()
            return hook.messages

        received = asyncio.run(main())
        assert sim.smsc.received[0].get("short_message") == b"hi from aiosmpplib"
    kinds = {type(m).__name__ for m in received}
    assert {"SubmitSmResp", "DeliverSm"} <= kinds


def test_smpp34_client_against_our_smsc():
    with SmscThread(users={"rust": "pw"}, id_format="decimal") as sim:
        out = subprocess.run(
            [sys.executable, str(HERE / "thirdparty_client.py"), str(sim.port), "rust", "pw", "3"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("{")), None)
        assert line, out.stderr
        res = json.loads(line)
    assert len(res["ids"]) == 3 and all(i.isdigit() for i in res["ids"])
    assert len(res["receipts"]) == 3 and all("stat:DELIVRD" in r for r in res["receipts"])
    ids = {receipts.parse_text(r)["id"] for r in res["receipts"]}
    assert ids == set(res["ids"])


def test_our_client_against_smpp34_server():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "thirdparty_smsc.py"), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert proc.stdout.readline().strip() == "READY"

        async def main():
            h = Collect()
            c = SmppClient(SmppConfig(host="127.0.0.1", port=port, system_id="x", password="y"), h)
            await c.start()
            assert await c.wait_bound(10)
            parts = [
                f
                for i in range(3)
                for f in build(
                    f"1201777{i:04d}", "12025550100", "interop", "text", refs=References(), addr=Addressing()
                )
            ]
            results = await c.submit(parts)
            deadline = time.monotonic() + 10
            while (len(h.receipts) < 3 or not h.mo) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await c.stop()
            return results, h

        results, h = asyncio.run(main())
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert sorted(r.message_id for r in results) == ["S1", "S2", "S3"]  # sent concurrently
    assert sorted(r.message_id for r in h.receipts) == ["S1", "S2", "S3"]
    assert all(r.state == "DELIVRD" for r in h.receipts)
    assert h.mo[0].text == "hello from smpp34"
