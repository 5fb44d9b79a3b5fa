"""`faults.py smsc-restart`: SMPP delivery while the SMSC is killed (-9) and restarted twice.

The bundled SMSC numbers its message ids from the same start in every process, so after a
restart it hands out ids that parts submitted to the previous process still wait under: the
id-reuse case. Receipts the killed SMSC had not sent yet are gone for good, so those
recipients can only end Unknown (401) once `receipt_wait` has passed.

Every number has a known outcome (rules file: one class in five Delivered, the others Failed
with a code of their own, 200 codes), so a receipt applied to the wrong recipient shows as a
status or code that number cannot have. Handset copies are counted from the SMSC's log
(bench/recording_smsc.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from common import AUTH, PLAN, Server, free_port
from faults import verdict, wait_until

SWEEP_EVERY = 600  # connectors/smpp/connector.py: how often parts past receipt_wait are swept
CLASSES = 250  # number i is in class i % 250: classes < 50 Delivered, the rest Failed with code 1000 + class
TOML = """
[[service_plans]]
id = "{plan}"
token = "BENCHTOKEN"
rate = 0
numbers = ["12025550100"]
connector = "smpp"
[service_plans.smpp]
host = "127.0.0.1"
port = {port}
system_id = "bench"
password = "bench"
window = 10
reconnect_min = 0.2
reconnect_max = 0.5
response_timeout = 2.0
receipt_wait = {receipt_wait}
"""


def number(i: int) -> str:
    return f"1302{i:06d}{i % CLASSES:03d}9"


def expected(msisdn: str) -> tuple[str, int]:
    k = int(msisdn[-4:-1])
    return ("Delivered", 0) if k < 50 else ("Failed", 1000 + k)


def rules() -> dict:
    return {"rules": [{"match": f"*{k:03d}9", "status": "Failed", "code": 1000 + k} for k in range(50, CLASSES)]}


class RecordingSmsc:
    def __init__(self, port: int, log: Path, rules_file: Path, receipt_delay_ms: int) -> None:
        with open(log, "a") as f:
            f.write("I\n")  # a new process starts here
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("recording_smsc.py")),
                "--port",
                str(port),
                "--log",
                str(log),
                "--rules",
                str(rules_file),
                "--receipt-delay-ms",
                str(receipt_delay_ms),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert "listening" in self.proc.stdout.readline()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def read_log(log: Path) -> tuple[list[Counter], list[set], Counter]:
    """Per SMSC process: submits per destination, receipt ids sent; and copies per destination."""
    submits: list[Counter] = []
    receipts: list[set] = []
    ids: list[dict] = []
    for line in log.read_text().splitlines():
        w = line.split()
        if w[0] == "I":
            submits.append(Counter()), receipts.append(set()), ids.append({})
        elif w[0] == "S":
            submits[-1][w[1]] += 1
            ids[-1][w[2]] = w[1]
        elif w[0] == "R":
            receipts[-1].add(w[1])
    copies = sum(submits, Counter())
    never_sent = [[mid for mid in d if mid not in r] for d, r in zip(ids, receipts, strict=True)]
    return submits, never_sent, copies


def smsc_restart(args) -> None:
    n = args.messages
    tmp = Path(tempfile.mkdtemp(prefix="openxms-faults-smpp-"))
    port = free_port()
    (tmp / "openxms.toml").write_text(TOML.format(plan=PLAN, port=port, receipt_wait=args.receipt_wait))
    (tmp / "rules.json").write_text(json.dumps(rules()))
    log = tmp / "smsc.log"
    smsc = RecordingSmsc(port, log, tmp / "rules.json", args.receipt_delay_ms)
    s = Server(config=str(tmp / "openxms.toml"), plans="", database=args.database, data_dir=str(tmp))
    restarts = []
    try:
        with httpx.Client(timeout=120) as c:
            for i in range(0, n, 1000):
                c.post(
                    f"{s.url}/xms/v1/{PLAN}/batches",
                    headers=AUTH,
                    json={
                        "to": [number(j) for j in range(i, min(n, i + 1000))],
                        "from": "12025550100",
                        "body": "reliability",
                    },
                ).raise_for_status()
        t_start = time.time()
        for frac in (1 / 3, 2 / 3):
            wait_until("submits", lambda: log.read_text().count("\nS ") >= frac * n, 300, 0.02)
            smsc.kill()
            restarts.append(time.time())
            time.sleep(1.0)
            smsc = RecordingSmsc(port, log, tmp / "rules.json", args.receipt_delay_ms)
        queued = lambda: s.scalar("SELECT count(*) FROM recipients WHERE status = 'Queued'")  # noqa: E731
        wait_until("queue drained", lambda: queued() == 0, 300, 0.2)
        time.sleep(args.receipt_delay_ms / 1000 + 3)  # the last receipts
        t_main = time.time() - t_start
        stuck = s.scalar("SELECT count(*) FROM recipients WHERE status = 'Dispatched'")
        rows = s.rows("SELECT msisdn, status, code FROM recipients WHERE final = 1")
        wrong = [r for r in rows if r[1] != "Unknown" and (r[1], r[2]) != expected(r[0])]
        submits, never_sent, copies = read_log(log)
        dup = sum(v - 1 for v in copies.values())
        lost = n - len(set(copies))  # no accepted submit at any SMSC process
        reused = sum(int(m) for m in re.findall(r"reused (\d+) message ids", (tmp / "server.log").read_text()))
        # the stuck ones: once receipt_wait has passed and the connector's sweep has run, Unknown (401)
        t_wait = time.time()
        cap = args.receipt_wait + SWEEP_EVERY + 60 if args.sweep_cap is None else args.sweep_cap
        while s.scalar("SELECT count(*) FROM recipients WHERE status = 'Dispatched'") and time.time() - t_wait < cap:
            time.sleep(1.0)
        swept_after = time.time() - t_wait
        unknown = s.scalar("SELECT count(*) FROM recipients WHERE status = 'Unknown' AND code = 401")
        still = s.scalar("SELECT count(*) FROM recipients WHERE final = 0")
        wrong_after = [
            r
            for r in s.rows("SELECT msisdn, status, code FROM recipients WHERE final = 1")
            if r[1] != "Unknown" and (r[1], r[2]) != expected(r[0])
        ]
    finally:
        s.stop()
        smsc.kill()
    kind = "postgresql" if s.database.startswith("postgresql") else "sqlite"
    per_proc = ", ".join(f"{sum(c.values())}" for c in submits)
    receipts_lost = sum(len(x) for x in never_sent)
    if wrong:
        print("examples of wrong statuses:", wrong[:5], file=sys.stderr)
    # Stuck at the end of the run: some still get their receipt later (an SMSC redelivers on the
    # next bind); the rest must end Unknown after receipt_wait, none left not final.
    verdict(
        lost == 0 and not wrong and not wrong_after and still == 0,
        f"smsc-restart {kind}: {n} messages, SMSC killed twice (submits per SMSC process: {per_proc}; "
        f"{reused} ids reused while the first part still waited; {receipts_lost} receipts never sent by a killed "
        f"SMSC); queue drained in {t_main:.1f} s; lost {lost} / duplicated {dup} / stuck {stuck} Dispatched / "
        f"wrong {len(wrong)}; {swept_after:.0f} s later (receipt_wait {args.receipt_wait:g} s) "
        f"{unknown} Unknown 401, {still} not final",
    )
