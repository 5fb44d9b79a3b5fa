"""A test run cleans up after itself: the embedded PostgreSQL's cluster (40-600 MB) is removed
when the session ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_embedded_postgresql_leaves_nothing_in_tmp(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OPENXMS_TEST_DATABASE_URL"}
    env["TMPDIR"] = str(tmp_path)  # tempfile.mkdtemp puts the cluster here
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "pg", "tests/store/test_queue.py", "-k", "claim"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert " passed" in r.stdout
    assert not list(tmp_path.glob("openxms-pg-*")), list(tmp_path.iterdir())
