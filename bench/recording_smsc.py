"""The bundled SMSC (`openxms smsc`'s `Smsc`), writing down what it does, for bench/faults.py.

    python bench/recording_smsc.py --port P --log FILE [--user bench:bench] [--receipt-delay-ms N]
                                   [--rules rules.json]

Same class and options as `openxms smsc`; in addition every accepted submit_sm is appended to
FILE as `S <destination> <message id>` and every receipt sent as `R <message id> <destination>
<stat>`, one unbuffered write each, so a kill -9 loses none of what was answered. That is what
lets the sweep count handset copies per recipient exactly. Like `openxms smsc`, every new
process hands out message ids from the same start again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from openxms.connectors.outcomes import OutcomeRules
from openxms.connectors.smpp import pdu
from openxms.connectors.smpp.smsc import Smsc, SmscOptions


class RecordingSmsc(Smsc):
    def __init__(self, options: SmscOptions, log_fd: int) -> None:
        super().__init__(options)
        self.fd = log_fd

    def _submit(self, s, p):
        resp = super()._submit(s, p)
        self.received.clear()  # the parent keeps every PDU for tests; the log is our record
        if isinstance(resp, pdu.Pdu) and resp.status == pdu.ESME_ROK and resp.get("message_id"):
            os.write(self.fd, f"S {p.get('destination_addr')} {resp.get('message_id')}\n".encode())
        return resp

    def _send_receipt(self, system_id, message_id, handset, our_number, state, *rest):
        os.write(self.fd, f"R {message_id} {handset} {state}\n".encode())
        super()._send_receipt(system_id, message_id, handset, our_number, state, *rest)


async def serve(args) -> None:
    sid, _, pw = args.user.partition(":")
    rules = OutcomeRules.from_dict(json.load(open(args.rules)) if args.rules else {})
    opts = SmscOptions(port=args.port, users={sid: pw}, receipt_delay_ms=args.receipt_delay_ms, rules=rules)
    fd = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    smsc = RecordingSmsc(opts, fd)
    await smsc.start()
    print(f"listening on 127.0.0.1:{smsc.port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--user", default="bench:bench")
    ap.add_argument("--receipt-delay-ms", type=int, default=None)
    ap.add_argument("--rules")
    try:
        asyncio.run(serve(ap.parse_args()))
    except KeyboardInterrupt:
        sys.exit(0)
