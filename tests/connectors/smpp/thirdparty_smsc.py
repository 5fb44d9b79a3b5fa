"""A third-party SMSC for interop tests: smpp34's Server (Rust core; nobody here wrote it).

Run as a subprocess (smpp34 can crash at interpreter exit; the test must not inherit that):
    python thirdparty_smsc.py PORT
Prints READY, accepts every submit_sm with id "S<n>", answers with a receipt (Appendix B text
and TLVs), and sends one MO "hello from smpp34" after the first bind. Exits when stdin closes.
"""

import asyncio
import sys

import smpp34


async def main(port: int) -> None:
    server = smpp34.Server("127.0.0.1", port, system_id="smpp34")
    await server.start()
    print("READY", flush=True)
    esmes = {}
    n = 0
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    while not stdin_closed.done():
        try:
            ev = await asyncio.wait_for(server.next(), 0.2)
        except TimeoutError:
            continue
        if isinstance(ev, smpp34.Esme):
            esmes[ev.session_id] = ev
            if ev.can_receive:
                await ev.deliver_sm("12025550100", b"hello from smpp34", source_addr="12017777777")
        elif isinstance(ev, smpp34.SubmitSmEvent):
            n += 1
            mid = f"S{n}"
            ev.accept(mid)
            esme = esmes.get(ev.session_id)
            if esme is not None and ev.registered_delivery & 1:
                text = (
                    f"id:{mid} sub:001 dlvrd:001 submit date:2601010000 done date:2601010000 stat:DELIVRD err:000 text:"
                )
                await esme.deliver_sm(
                    ev.source_addr,
                    text.encode(),
                    source_addr=ev.destination_addr,
                    esm_class=4,
                    tlvs=[
                        smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, mid.encode() + b"\0"),
                        smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes([2])),
                    ],
                )
    await server.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
