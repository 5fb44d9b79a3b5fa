"""The Sinch Node SDK (`@sinch/sdk-core` 1.4.0, pinned in tests/e2e/node/package.json) makes an
app, a contact and a webhook on the real server (tests/e2e/node/conversation_resources.js).

The SDK is installed into tests/e2e/node/node_modules on first use. The test is skipped only
when Node is missing or npm cannot reach its registry; any other install failure fails it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import KEY_ID, KEY_SECRET, PLAN, PROJECT, TOKEN

NODE_DIR = Path(__file__).parent / "node"
# npm's words for "the registry cannot be reached" (DNS, refused, timed out, no route, offline).
_OFFLINE = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|"
    r"network|offline|request to .* failed",
    re.I,
)


def sdk_installed() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    if (NODE_DIR / "node_modules" / "@sinch" / "sdk-core" / "package.json").exists():
        return
    cmd = ["npm", "ci"] if (NODE_DIR / "package-lock.json").exists() else ["npm", "install"]
    p = subprocess.run([*cmd, "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        out = p.stdout + p.stderr
        if _OFFLINE.search(out):
            pytest.skip(f"npm cannot reach its registry to install @sinch/sdk-core: {out.strip()[-300:]}")
        pytest.fail(f"npm install failed:\n{out}")


def test_app_contact_and_webhook_with_the_node_sdk(server):
    sdk_installed()
    env = {
        **os.environ,
        "OPENXMS_URL": server.url,
        "PROJECT_ID": PROJECT,
        "KEY_ID": KEY_ID,
        "KEY_SECRET": KEY_SECRET,
        "PLAN_ID": PLAN,
        "PLAN_TOKEN": TOKEN,
    }
    p = subprocess.run(
        ["node", "conversation_resources.js"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stdout + p.stderr
    [line] = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
    r = json.loads(line[len("RESULT ") :])

    app = r["app"]
    assert app["display_name"] == "Node shop" and app["channel_credentials"][0]["static_bearer"] == {
        "claimed_identity": PLAN,
        "token": TOKEN,
    }
    # update_mask=display_name (a raw comma list from Node): processing_mode in the body is not written
    assert (r["renamed"]["display_name"], r["renamed"]["processing_mode"]) == ("Renamed", "DISPATCH")
    assert [a["id"] for a in r["apps"]["apps"]] == [app["id"]]

    contact = r["contact"]
    assert contact["channel_identities"] == [{"channel": "SMS", "identity": "46701234567", "app_id": ""}]
    assert [c["id"] for c in r["found"]] == [contact["id"]] and r["hasNextPage"] is False
    assert r["updated"]["display_name"] == "Bob" and r["updated"]["language"] == "EN_US"

    webhook = r["webhook"]
    assert (webhook["app_id"], webhook["target_type"], webhook["secret"]) == (app["id"], "HTTP", "node-secret")
    assert r["triggers"]["triggers"] == ["MESSAGE_SUBMIT"] and r["triggers"]["target"] == webhook["target"]
    assert [w["id"] for w in r["webhooks"]["webhooks"]] == [webhook["id"]]

    # RequestFailedError carries the status and the raw body
    assert r["missing"]["status"] == 404 and json.loads(r["missing"]["data"])["error"]["status"] == "NOT_FOUND"
    assert r["after"]["apps"] == []


def _node(script: str, env: dict, stdin: str | None = None) -> dict:
    p = subprocess.run(
        ["node", script],
        cwd=NODE_DIR,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    [line] = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
    return json.loads(line[len("RESULT ") :])


def test_node_sdk_sends_and_validates_the_signed_receipts(server):
    """messages.send and a Conversation batch through the Node SDK's own client; the receipts
    that come back pass its ConversationCallbackWebhooks."""
    import time

    from ..engine.receiver import Receiver

    sdk_installed()
    with Receiver() as rx:
        env = {
            "OPENXMS_URL": server.url,
            "PROJECT_ID": PROJECT,
            "KEY_ID": KEY_ID,
            "KEY_SECRET": KEY_SECRET,
            "PLAN_ID": PLAN,
            "PLAN_TOKEN": TOKEN,
            "RECEIVER_URL": rx.url + "/conv",
            "WEBHOOK_SECRET": "node-s3cret",
        }
        r = _node("conversation_messaging.js", env)
        assert r["message_id"] and r["batch_id"] and r["send_after"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = [b for b in rx.bodies() if b.get("message_delivery_report", {}).get("status") == "DELIVERED"]
            if len(done) == 2:
                break
            time.sleep(0.05)
        assert len(done) == 2, rx.bodies()
        ids = {d["message_delivery_report"]["message_id"] for d in done}
        assert r["message_id"] in ids
        batch_receipt = next(d for d in done if d["message_delivery_report"]["message_id"] != r["message_id"])
        assert json.loads(batch_receipt["message_delivery_report"]["metadata"])["_batch_id"] == r["batch_id"]
        received = [
            {"headers": {k.lower(): v for k, v in q["headers"].items()}, "body": q["raw"].decode()} for q in rx.requests
        ]
        checked = _node("validate_callbacks.js", env, json.dumps(received))
        assert checked and all(c["valid"] and c["trigger"] == "MESSAGE_DELIVERY" for c in checked), checked
        received[0]["body"] += " "
        assert _node("validate_callbacks.js", env, json.dumps(received[:1]))[0]["valid"] is False
