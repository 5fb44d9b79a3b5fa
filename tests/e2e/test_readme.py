"""The README's "Using it" blocks, run as pasted against a server started as the README's
first command starts it (no plans configured: the dev plan), from the same directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .._ports import free_port, wait_healthy
from .test_sdk_conversation_node import NODE_DIR, sdk_installed

README = Path(__file__).resolve().parents[2] / "README.md"


def using_it_blocks() -> list[tuple[str, str]]:
    text = README.read_text()
    section = text[text.index("## Using it") :]
    section = section[: section.index("\nProvision plans")]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


BATCH_ID = re.compile(r"[0-9A-Z]{26}\n")


def test_the_readme_examples_run_as_pasted(tmp_path, sinch_v1):
    blocks = using_it_blocks()
    assert [lang for lang, _ in blocks] == ["sh", "python", "python", "js"]
    (_, sh), (_, sdk2), (_, sdk1), (_, node) = blocks
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENXMS_")}
    port = free_port()
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        [Path(sys.executable).parent / "openxms", "serve", "--port", str(port)],  # the README's .venv/bin/openxms
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        creds = tmp_path / "data" / "dev-credentials.env"
        assert creds.exists(), (tmp_path / "server.log").read_text()

        r = subprocess.run(["bash", "-ec", sh], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        batch_id = re.search(r'"id":"([0-9A-Z]{26})"', r.stdout).group(1)
        for _ in range(100):  # the second curl may run before the handset has it; it arrives
            got = httpx.get(url + "/simulator/handsets/12017777777/messages").json()["messages"]
            if any(m["body"] == "Hello" for m in got):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"batch {batch_id} never reached the handset")

        values = dict(line.split("=", 1) for line in creds.read_text().splitlines() if "=" in line)
        sdk_env = {**env, **values}
        for python, code in ((sys.executable, sdk2), (str(sinch_v1), sdk1)):
            r = subprocess.run(
                [python, "-c", code], cwd=tmp_path, env=sdk_env, capture_output=True, text=True, timeout=120
            )
            assert r.returncode == 0, r.stderr[-2000:]
            assert BATCH_ID.fullmatch(r.stdout), r.stdout

        sdk_installed()  # @sinch/sdk-core in tests/e2e/node (skips only if npm cannot reach its registry)
        r = subprocess.run(["node", "-e", node], cwd=NODE_DIR, env=sdk_env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr[-2000:]
        assert BATCH_ID.fullmatch(r.stdout), r.stdout
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()
