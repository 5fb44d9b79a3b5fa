"""smpp34's Client (a third-party ESME) against a given SMSC; run as a subprocess.

    python thirdparty_client.py PORT SYSTEM_ID PASSWORD N
Submits N messages with registered delivery, waits for N receipts, prints a JSON summary.
"""

import asyncio
import json
import sys

import smpp34


async def main(port: int, system_id: str, password: str, n: int) -> None:
    client = smpp34.Client("127.0.0.1", port, system_id, password, bind_type="TRX", window_size=10)
    smsc = await client.connect()
    ids = []
    for i in range(n):
        resp = await smsc.submit_sm(f"120188{i:04d}8", b"interop", source_addr="12025550100", registered_delivery=1)
        ids.append(resp.message_id)
    receipts = []
    while len(receipts) < n:
        ev = await asyncio.wait_for(smsc.next(), 5)
        if isinstance(ev, smpp34.Disconnected):
            break
        receipts.append(ev.short_message.decode("latin-1"))
    await smsc.unbind()
    await client.stop()
    print(json.dumps({"ids": ids, "receipts": receipts}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])))
