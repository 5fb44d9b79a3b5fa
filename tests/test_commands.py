"""The commands for people: config check, plans, send and status (against a running server)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from click.testing import CliRunner

from openxms import config
from openxms.app import prepare
from openxms.cli import main

from ._ports import free_port, wait_healthy


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def test_config_check(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(
        '[[service_plans]]\nid = "SP1"\ntoken = "T"\n[[projects]]\nid = "P"\nkey_id = "K"\nkey_secret = "S"\n'
    )
    r = run("config", "check", str(good))
    assert r.exit_code == 0 and "ok (1 service plan(s), 1 project(s), 0 Conversation app(s))" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[sever]\n")
    r = run("config", "check", str(bad))
    assert r.exit_code == 1 and "Error: " in r.output and "unknown section [sever]" in r.output


def test_plans_lists_the_configured_ones_or_the_dev_plan(tmp_path):
    env = {"OPENXMS_SERVICE_PLANS": "", "OPENXMS_PROJECTS": ""}
    r = run("plans", "--data-dir", str(tmp_path), env=env)
    assert r.exit_code == 1 and "run openxms serve" in r.output
    settings = config.load(None, env={}, data_dir=str(tmp_path))
    _, _, _, dev = prepare(settings, 0)
    r = run("plans", "--data-dir", str(tmp_path), env=env)
    assert r.exit_code == 0 and f"dev service plan {dev.id}: token {dev.token}" in r.output
    r = run("plans", env={"OPENXMS_SERVICE_PLANS": "SP1:TOKEN-0123456789ab:5"})
    assert "service plan SP1: token ...89ab, 5 msg/s, via simulator" in r.output and "TOKEN-0123" not in r.output


def test_send_follows_the_report_and_status_reads_it(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENXMS_")}
    env["OPENXMS_SERVICE_PLANS"] = "SP1:TOKEN1:0"
    p = subprocess.Popen(
        [sys.executable, "-m", "openxms", "serve", "--port", str(port), "--data-dir", str(tmp_path / "d")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        target = ["--url", url, "--plan", "SP1", "--token", "TOKEN1"]
        r = run("send", "--to", "+12017777777", "--to", "+12010000001", "--body", "hi", *target)
        assert r.exit_code == 0, r.output
        batch_id = re.search(r"batch (\w{26}) to 2 recipient\(s\)", r.output).group(1)
        assert "2/2 final: Delivered 1, Failed 1 (153)" in r.output
        r = run("status", batch_id, *target)
        assert r.exit_code == 0 and f"batch {batch_id}: sent" in r.output and "2/2 final" in r.output
        r = run("status", "01NOSUCHBATCH0000000000000", *target)
        assert r.exit_code == 1 and "404" in r.output
        r = run("send", "--to", "+12017777777", "--body", "hi", "--url", url, "--plan", "SP1", "--token", "WRONG")
        assert r.exit_code == 1 and "401" in r.output
    finally:
        p.terminate()
        p.wait(15)


def test_send_without_a_target_says_what_is_missing(tmp_path):
    r = run("send", "--to", "+1", "--body", "x", "--credentials", str(tmp_path / "none.env"), env={"OPENXMS_URL": ""})
    assert r.exit_code == 1 and "no --url, --plan, --token" in r.output


def test_prune_deletes_what_is_older_than_the_retention(tmp_path):
    from openxms.store.db import Database

    settings = config.load(None, env={}, data_dir=str(tmp_path))
    _, db, _, dev = prepare(settings, 0)
    from .store.rows import add_batch

    def setup(tx):
        ids = add_batch(tx, "old", ["12010000001"], account_id=dev.id, now=1_000_000)  # 1970: long gone
        tx.execute("UPDATE recipients SET status = 'Delivered', final = 1 WHERE id = ?", (ids[0],))

    Database(settings.database).run_sync(setup)
    env = {"OPENXMS_SERVICE_PLANS": "", "OPENXMS_PROJECTS": ""}
    r = run("prune", "--data-dir", str(tmp_path), env=env)
    assert r.exit_code == 0 and "deleted 2 rows older than 14 days (batches 2)" in r.output, r.output
    r = run("prune", "--data-dir", str(tmp_path), "--days", "0", env=env)
    assert r.exit_code == 1 and "everything is kept" in r.output
