"""`faults.py schemathesis`: schemathesis (`pip install schemathesis` into the venv; not a test
dependency) over the server's own /openapi.json, every check, `--examples` cases per operation.

The server gets a plan (BENCH / BENCHTOKEN) and a project (PROJ1, key KEY1:SECRET1); the plan
and project ids are fixed so that generated cases reach the handlers instead of stopping at
404, and each API gets its credentials (a bearer token for the SMS API, an OAuth2 token for the
Conversation APIs, basic auth for /oauth2/token). The full output goes to
<tmp>/schemathesis.txt (and a JUnit report beside it); the summary lines are printed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from common import PLAN, TOKEN, Server
from faults import verdict

PROJECT, KEY, SECRET = "PROJ1", "KEY1", "SECRET1"
CONFIG = """
[parameters]
service_plan_id = "{plan}"
project_id = "{project}"

[[operations]]
include-path-regex = "^/xms/"
headers = {{ Authorization = "Bearer {token}" }}

[[operations]]
include-path-regex = "^/(v1|conversationbatch)/"
headers = {{ Authorization = "Bearer {oauth}" }}

[[operations]]
include-path = "/oauth2/token"
auth = {{ basic = {{ username = "{key}", password = "{secret}" }} }}
"""


def schemathesis(args) -> None:
    exe = Path(sys.executable).with_name("schemathesis")
    if not exe.exists():
        raise SystemExit("schemathesis is not installed: .venv/bin/pip install schemathesis")
    tmp = Path(tempfile.mkdtemp(prefix="openxms-faults-st-"))
    s = Server(rate=0, database=args.database, data_dir=str(tmp))
    s.stop()
    s.env["OPENXMS_PROJECTS"] = f"{PROJECT}:{KEY}:{SECRET}"
    s.start("all")
    try:
        tok = httpx.post(f"{s.url}/oauth2/token", data={"grant_type": "client_credentials"}, auth=(KEY, SECRET))
        tok.raise_for_status()
        cfg = tmp / "schemathesis.toml"
        cfg.write_text(
            CONFIG.format(
                plan=PLAN, project=PROJECT, token=TOKEN, oauth=tok.json()["access_token"], key=KEY, secret=SECRET
            )
        )
        out = tmp / "schemathesis.txt"
        cmd = [
            str(exe),
            "--config-file",
            str(cfg),
            "run",
            f"{s.url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(args.examples),
            "--workers",
            "1",
            "--seed",
            str(args.seed),
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp),
            "--request-timeout",
            "30",
        ]
        with open(out, "w") as f:
            rc = subprocess.run(
                cmd, stdout=f, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"}, cwd=tmp, timeout=args.cap
            ).returncode
        alive = s.proc.poll() is None
    finally:
        s.stop()
    text = out.read_text()
    server_errors = len(re.findall(r"Server error", text))
    tail = text[text.rfind("SUMMARY") :] if "SUMMARY" in text else text[-3000:]
    print(tail.strip())
    print(f"full output: {out}")
    verdict(
        rc == 0 and alive,
        f"schemathesis: exit {rc}, server alive {alive}, 'Server error' mentioned {server_errors} times",
    )
