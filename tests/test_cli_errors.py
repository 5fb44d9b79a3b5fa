"""`openxms serve` start-up problems: one `Error:` line a person can act on, a non-zero exit,
no traceback, and (for a busy port) nothing done before the refusal."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from ._ports import free_port


def serve(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "openxms", "serve", "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def one_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode != 0
    assert "Traceback" not in r.stderr + r.stdout
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, r.stderr
    return errors[0]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--port", "70000"], "port: expected an integer <= 65535, got 70000"),
        (["--database", "mysql://app:hunter2@db/x"], "unsupported database 'mysql' in mysql://app:***@db/x"),
        (["--log-level", "verbose"], "'verbose' is not one of 'critical', 'error', 'warning', 'info', 'debug'"),
        (["--database", "postgresql://nobody@127.0.0.1:1/x"], "cannot connect to the database postgresql://nobody@"),
    ],
)
def test_bad_settings_are_one_line(tmp_path, args, expected):
    line = one_error(serve(tmp_path, *args))
    assert expected in line
    assert "hunter2" not in line


def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "openxms",
            "serve",
            "--data-dir",
            str(tmp_path / "file" / "data"),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"cannot use {tmp_path / 'file' / 'data'}" in one_error(r)


def test_a_busy_port_is_refused_before_any_start_up_work(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error(serve(tmp_path, "--port", str(port)))
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in line
    assert not (tmp_path / "data").exists()  # no database made, no lease taken


def test_a_second_engine_on_one_sqlite_file_is_refused_before_it_writes(tmp_path):
    import os

    from openxms.store.engine_lock import EngineLock

    running = EngineLock(tmp_path / "data" / "openxms.sqlite3")  # as a serving engine holds it
    running.take()
    try:
        line = one_error(serve(tmp_path, "--port", str(free_port())))
    finally:
        running.release()
    assert f"the delivery engine already runs on {tmp_path / 'data' / 'openxms.sqlite3'} (pid {os.getpid()})" in line
    assert "--role api" in line
    assert not (tmp_path / "data" / "openxms.sqlite3").exists()  # refused before migrating
