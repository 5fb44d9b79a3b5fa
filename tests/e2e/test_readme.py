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

README = Path(__file__).resolve().parents[2] / "README.md"


def using_it_blocks() -> dict[str, str]:
    text = README.read_text()
    section = text[text.index("## Using it") :]
    section = section[: section.index("\nProvision plans")]
    return {lang: code for lang, code in re.findall(r"```(\w+)\n(.*?)```", section, re.S)}


def test_the_readme_examples_run_as_pasted(tmp_path):
    blocks = using_it_blocks()
    assert set(blocks) == {"sh", "python"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENXMS_")}
    port = free_port()
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "openxms", "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        creds = tmp_path / "data" / "dev-credentials.env"
        assert creds.exists(), (tmp_path / "server.log").read_text()

        sh = subprocess.run(["bash", "-ec", blocks["sh"]], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert sh.returncode == 0, sh.stderr
        batch_id = re.search(r'"id":"([0-9A-Z]{26})"', sh.stdout).group(1)
        for _ in range(100):  # the second curl may run before the handset has it; it arrives
            got = httpx.get(url + "/simulator/handsets/12017777777/messages").json()["messages"]
            if any(m["body"] == "Hello" for m in got):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"batch {batch_id} never reached the handset")

        values = dict(line.split("=", 1) for line in creds.read_text().splitlines() if "=" in line)
        py = subprocess.run(
            [sys.executable, "-c", blocks["python"]],
            cwd=tmp_path,
            env={**env, **values},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert py.returncode == 0, py.stderr
        assert re.fullmatch(r"[0-9A-Z]{26}\n", py.stdout), py.stdout
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()
