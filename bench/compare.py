"""Issue #14's goals in one command: every case run against its peer in the same run, repeated,
and one table of ratios (medians and ranges over the runs; this box is noisy, so only
ratios of the same run are compared).

    python bench/compare.py                      # 3 runs, about 10 minutes each
    python bench/compare.py --runs 1 --quick     # a smoke run, about 3 minutes
    python bench/compare.py --no-pg              # without the PostgreSQL cases (P2, P6)

Each case is one of the bench scripts run as a subprocess (its own servers, bounded in count
and time, loopback only); its printed lines are parsed here, so a script whose output
changes fails loudly. The goals (issue #14):

- P1 single-recipient POST /batches, API + engine delivering through the simulator, against
  Kannel's sendsms (in memory, and with its file store): >= 1.0
- P2 1000-recipient batches: >= 500,000 recipients/s on SQLite, >= 200,000 on PostgreSQL
- P3 submit_sm/s over one bind at window 10 and 64 against Kannel without DLRs: >= 1.0
- P4 at 50 ms SMSC latency, window 10: >= 0.95 of the window bound (window / latency)
- P5 Conversation messages:send and Conversation batches against the SMS API: >= 0.8
- P6 the same queued load (4 plans) drained by 2 nodes on PostgreSQL against 1 node, msg/s end
  to end: >= 1.7 (bench/scaleout.py, a fresh database per drain; skipped with --no-pg)
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def run(script: str, *args: str) -> str | None:
    """The script's output; tried twice (a peer that once fails to start, as Kannel's bearerbox
    has, costs one retry, not the run). None when both tries failed: its rows say "not measured"."""
    for attempt in (1, 2):
        r = subprocess.run(
            [sys.executable, str(HERE / script), *args], cwd=HERE, capture_output=True, text=True, timeout=1800
        )
        if r.returncode == 0:
            return r.stdout
        print(
            f"{script} {' '.join(args)} failed (try {attempt} of 2):\n{r.stdout}\n{r.stderr[-3000:]}",
            file=sys.stderr,
            flush=True,
        )
    return None


def number(pattern: str, text: str) -> float:
    m = re.search(pattern, text, re.M)
    if m is None:
        raise SystemExit(f"no line matches {pattern!r} in:\n{text}")
    return float(m[1].replace(",", ""))


def http_column(case: str, column: int) -> str:
    """A row of bench/http_send.py's table: the case name, then req/s and recipients/s."""
    return rf"^{re.escape(case)}\s+(?:[\d.]+\s+){{{column}}}([\d.]+)"


@dataclass
class Row:
    goal: str
    case: str
    target: float  # the ratio (or the absolute figure, when `peer` is None) the goal asks for
    measure: Callable[[dict[str, str]], tuple[float, float | None]]  # outputs -> (openxms, peer)
    unit: str = ""
    ratios: list[float] = field(default_factory=list)
    ours: list[float] = field(default_factory=list)
    peers: list[float] = field(default_factory=list)


def rows(args) -> tuple[dict[str, Callable[[], str]], list[Row]]:
    d = "3" if args.quick else "10"
    n_smpp = "5000" if args.quick else "20000"
    commands: dict[str, Callable[[], str | None]] = {
        "p1": lambda: run(
            "http_send.py",
            "--recipients",
            "1",
            "--role",
            "all",
            "--role",
            "split",
            "--role",
            "split2",
            "--duration",
            d,
            "--kannel",
            "--kannel-store",
        ),
        "p2": lambda: run("http_send.py", "--recipients", "1000", "--role", "api", "--role", "api2", "--duration", d),
        "p3w10": lambda: run("smpp_egress.py", "--messages", n_smpp, "--window", "10", "--kannel"),
        "p3w64": lambda: run("smpp_egress.py", "--messages", n_smpp, "--window", "64", "--kannel"),
        "p3b2": lambda: run("smpp_egress.py", "--messages", n_smpp, "--window", "10", "--binds", "2", "--kannel"),
        "p4": lambda: run("smpp_egress.py", "--messages", "2000" if args.quick else "4000", "--latency-ms", "50"),
        "p5send": lambda: run("conversation.py", "send", "--duration", d, "--messages", "5000"),
        "p5batch": lambda: run("conversation.py", "batch", "--duration", d, "--batches", "10", "--latency", "3"),
    }
    if not args.no_pg:
        commands["p2pg"] = lambda: run(
            "http_send.py",
            "--recipients",
            "1000",
            "--role",
            "api",
            "--role",
            "api2",
            "--duration",
            d,
            "--database",
            args.pg,
        )
        commands["p6"] = lambda: run(
            "scaleout.py", "--runs", "1", "--messages", "5000" if args.quick else "50000", "--pg", args.pg
        )
    openxms_all = http_column("openxms sqlite role=all to=1", 0)
    openxms_split = http_column("openxms sqlite role=split to=1", 0)
    openxms_split2 = http_column("openxms sqlite role=split2 to=1", 0)
    kannel = http_column("kannel 1.4.5 sendsms to=1", 0)
    kannel_file = http_column("kannel 1.4.5 sendsms to=1 store=file", 0)
    smpp_ours = r"^openxms\s+window=\d+(?: binds=\d+)? latency=\S+:\s+([\d,]+) submit_sm/s"
    smpp_kannel = r"^kannel\s+window=\d+(?: binds=\d+)? latency=\S+:\s+([\d,]+) submit_sm/s at the SMSC \(no DLR"
    conv_accepted = r"^conv\s.*accepted.*?\s([\d,]+) req/s"
    sms_accepted = r"^sms\s.*accepted.*?\s([\d,]+) req/s"
    conv_recipients = r"^conv\s.*accepted.*=\s+([\d,]+) recipients/s"
    sms_recipients = r"^sms\s.*accepted.*=\s+([\d,]+) recipients/s"
    table = [
        Row(
            "P1",
            "POST /batches to=1, API + engine vs Kannel sendsms (memory)",
            1.0,
            lambda o: (number(openxms_all, o["p1"]), number(kannel, o["p1"])),
            "req/s",
        ),
        Row(
            "P1",
            "same, vs Kannel sendsms with store-type = file",
            1.0,
            lambda o: (number(openxms_all, o["p1"]), number(kannel_file, o["p1"])),
            "req/s",
        ),
        Row(
            "P1",
            "same, API and engine in two processes on one SQLite file (--role split) vs Kannel (memory)",
            1.0,
            lambda o: (number(openxms_split, o["p1"]), number(kannel, o["p1"])),
            "req/s",
        ),
        Row(
            "P1",
            "same, two API processes on one port (--reuse-port) and one engine (--role split2) vs Kannel (memory)",
            1.0,
            lambda o: (number(openxms_split2, o["p1"]), number(kannel, o["p1"])),
            "req/s",
        ),
        Row(
            "P2",
            "1000-recipient batches, SQLite, API only",
            500_000,
            lambda o: (number(http_column("openxms sqlite role=api to=1000", 1), o["p2"]), None),
            "recipients/s",
        ),
        Row(
            "P2",
            "same, two API processes on one port (--role api2, one SQLite file)",
            500_000,
            lambda o: (number(http_column("openxms sqlite role=api2 to=1000", 1), o["p2"]), None),
            "recipients/s",
        ),
        Row(
            "P3",
            "submit_sm/s, one bind, window 10, vs Kannel without DLRs",
            1.0,
            lambda o: (number(smpp_ours, o["p3w10"]), number(smpp_kannel, o["p3w10"])),
            "submit_sm/s",
        ),
        Row(
            "P3",
            "same, window 64",
            1.0,
            lambda o: (number(smpp_ours, o["p3w64"]), number(smpp_kannel, o["p3w64"])),
            "submit_sm/s",
        ),
        Row(
            "P3",
            "two binds of one plan, window 10 each (Kannel: instances = 2)",
            1.0,
            lambda o: (number(smpp_ours, o["p3b2"]), number(smpp_kannel, o["p3b2"])),
            "submit_sm/s",
        ),
        Row(
            "P4",
            "50 ms SMSC latency, window 10, vs the window bound (200/s)",
            0.95,
            lambda o: (number(smpp_ours, o["p4"]), 10 / 0.050),
            "submit_sm/s",
        ),
        Row(
            "P5",
            "messages:send vs POST /batches to=1, accepted",
            0.8,
            lambda o: (number(conv_accepted, o["p5send"]), number(sms_accepted, o["p5send"])),
            "req/s",
        ),
        Row(
            "P5",
            "Batch API vs SMS batches, 1000 recipients, accepted",
            0.8,
            lambda o: (number(conv_recipients, o["p5batch"]), number(sms_recipients, o["p5batch"])),
            "recipients/s",
        ),
    ]
    if not args.no_pg:
        table.insert(
            6,  # after P2 on SQLite (P1: rows 0-3)
            Row(
                "P2",
                "1000-recipient batches, PostgreSQL, API only",
                200_000,
                lambda o: (number(http_column("openxms postgresql role=api to=1000", 1), o["p2pg"]), None),
                "recipients/s",
            ),
        )
        table.insert(
            7,
            Row(
                "P2",
                "same, two API nodes on one port (--role api2: a writer connection each)",
                200_000,
                lambda o: (number(http_column("openxms postgresql role=api2 to=1000", 1), o["p2pg"]), None),
                "recipients/s",
            ),
        )
        table.append(
            Row(
                "P6",
                "2 nodes vs 1 on PostgreSQL, 4 plans, queued load drained",
                1.7,
                lambda o: (
                    number(r"^scale-out 2 nodes: ([\d,]+) msg/s", o["p6"]),
                    number(r"^scale-out 1 node: ([\d,]+) msg/s", o["p6"]),
                ),
                "msg/s",
            )
        )
    return commands, table


def spread(values: list[float], fmt: str) -> str:
    if not values:
        return ""
    med = statistics.median(values)
    if len(values) == 1:
        return format(med, fmt)
    return f"{format(med, fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="shorter cases (a smoke run, not for the record)")
    ap.add_argument("--pg", default=PG, help="PostgreSQL server for P2 (a fresh schema) and P6 (fresh databases)")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--save", help="write every script's output of every run to this JSON file")
    ap.add_argument("--load", help="tabulate a --save file instead of running")
    args = ap.parse_args()
    commands, table = rows(args)
    if args.load:
        runs = json.loads(Path(args.load).read_text())
    else:
        runs = []
        for i in range(args.runs):
            outputs = {}
            for name, command in commands.items():
                print(f"run {i + 1}/{args.runs}: {name}", file=sys.stderr, flush=True)
                out = command()
                if out is not None:
                    outputs[name] = out
            runs.append(outputs)
            if args.save:
                Path(args.save).write_text(json.dumps(runs, indent=1))
    args.runs = len(runs)
    for outputs in runs:
        for row in table:
            try:
                ours, peer = row.measure(outputs)
            except KeyError:  # failed twice, or a --load file saved before this case was measured
                continue
            row.ours.append(ours)
            if peer is not None:
                row.peers.append(peer)
                row.ratios.append(ours / peer)
    print(f"{args.runs} run(s){', quick' if args.quick else ''}; openxms and peer: medians (ranges)\n")
    print("| goal | case | openxms | peer | ratio | target | met |")
    print("|---|---|---|---|---|---|---|")
    for row in table:
        if not row.ours:
            print(f"| {row.goal} | {row.case} | | | | >= {row.target:g} | not measured |")
            continue
        value = statistics.median(row.ratios) if row.ratios else statistics.median(row.ours)
        met = "yes" if value >= row.target else "**no**"
        target = f">= {row.target:g}" if row.ratios else f">= {row.target:,.0f} {row.unit}"
        print(
            f"| {row.goal} | {row.case} | {spread(row.ours, ',.0f')} {row.unit} | {spread(row.peers, ',.0f')} | "
            f"{spread(row.ratios, '.2f')} | {target} | {met} |"
        )
    if args.no_pg:
        print("| P6 | 2 nodes vs 1 on PostgreSQL, 4 plans | | | | >= 1.7 | not measured (--no-pg) |")


if __name__ == "__main__":
    main()
