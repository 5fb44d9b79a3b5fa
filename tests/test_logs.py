"""Log formats: one JSON object per line with `--log-format json`, secrets in none of them."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import httpx

from openxms.logs import JsonFormatter

from ._ports import free_port, wait_healthy


def test_a_json_line_has_the_fields_and_the_context():
    rec = logging.LogRecord("openxms.engine", logging.WARNING, __file__, 1, "sent %d", (3,), None)
    rec.plan, rec.batch_id = "SP1", "01ABC"
    line = json.loads(JsonFormatter().format(rec))
    assert line["level"] == "WARNING" and line["logger"] == "openxms.engine" and line["message"] == "sent 3"
    assert line["plan"] == "SP1" and line["batch_id"] == "01ABC" and "recipient" not in line
    assert line["time"].endswith("+00:00") and "T" in line["time"]
    try:
        raise ValueError("boom")
    except ValueError:
        rec.exc_info = sys.exc_info()
    assert "ValueError: boom" in json.loads(JsonFormatter().format(rec))["exception"]


def test_serve_logs_json_lines_without_secrets(tmp_path):
    port = free_port()
    token = "sekrit-token-0123456789"
    env = {**os.environ, "OPENXMS_SERVICE_PLANS": f"SP1:{token}:0"}
    env.pop("OPENXMS_TEST_DATABASE_URL", None)
    p = subprocess.Popen(
        [sys.executable, "-m", "openxms", "serve", "--port", str(port), "--data-dir", str(tmp_path / "d"),
         "--log-format", "json", "--access-log", "--log-level", "debug"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        headers = {"Authorization": f"Bearer {token}"}
        batch = {"to": ["+12017777777"], "from": "+12025550100", "body": "hi", "delivery_report": "per_recipient"}
        batch["callback_url"] = f"http://u:{token}@127.0.0.1:9/cb?k={token}"  # fails: port 9 is closed
        r = httpx.post(url + "/xms/v1/SP1/batches", headers={**headers, "X-Request-Id": "req-123"}, json=batch)
        assert r.status_code == 201 and r.headers["x-request-id"] == "req-123"
        made = httpx.get(url + "/health").headers["x-request-id"]  # none sent: one is made
        httpx.get(url + "/xms/v1/SP1/batches?page=x", headers=headers)  # a 400, logged
        time.sleep(1.5)  # the callback to the closed port is tried (and fails)
    finally:
        p.terminate()
        _, err = p.communicate(timeout=30)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines), err[:2000]
    assert any(json.loads(line)["logger"] == "uvicorn.access" for line in lines)
    access = [json.loads(line) for line in lines if json.loads(line)["logger"] == "uvicorn.access"]
    assert {"req-123", made} <= {line.get("request_id") for line in access}
    assert token not in err
