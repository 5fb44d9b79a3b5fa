"""`openxms smsc` as a person runs it: bad input is one `Error:` line, and a stdin that the
event loop cannot watch (`< /dev/null`, a file) starts the SMSC without a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from ..._ports import free_port


def smsc(*args: str, stdin=subprocess.DEVNULL, seconds: float | None = None) -> tuple[int | None, str]:
    p = subprocess.Popen(
        [sys.executable, "-m", "openxms", "smsc", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if seconds is None:
        out, _ = p.communicate(timeout=30)
        return p.returncode, out
    time.sleep(seconds)
    p.terminate()
    out, _ = p.communicate(timeout=30)
    return None, out


@pytest.mark.parametrize(
    "content, expected",
    [("{bad", "not a JSON rules file"), ("[1]", "must hold a JSON object"), (b"\xff\xfe", "not a JSON rules file")],
)
def test_a_bad_rules_file_is_one_line(tmp_path, content, expected):
    f = tmp_path / "rules.json"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    rc, out = smsc("--port", str(free_port()), "--rules", str(f))
    assert rc != 0 and "Traceback" not in out
    assert [line for line in out.splitlines() if line.startswith("Error:")] == [
        next(line for line in out.splitlines() if expected in line)
    ]


def test_a_busy_port_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        rc, out = smsc("--port", str(port))
    assert rc != 0 and "Traceback" not in out
    assert f"Error: cannot listen on 127.0.0.1:{port}" in out


@pytest.mark.parametrize("source", ["devnull", "file"])
def test_stdin_that_cannot_be_watched_still_serves(tmp_path, source):
    port = free_port()
    commands = tmp_path / "commands"
    commands.write_text("stats\n")
    with open("/dev/null" if source == "devnull" else commands) as stdin:
        _, out = smsc("--port", str(port), stdin=stdin, seconds=1.5)
    assert f"listening on 127.0.0.1:{port}" in out
    assert "Traceback" not in out and "ERROR" not in out
    if source == "file":
        assert '"binds": 0' in out  # the file's command ran
